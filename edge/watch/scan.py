"""Walking a watched tree: the backlog at start and the periodic rescan."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .ignore import OUTPUT_SUFFIXES, glob_reason, ignored_reason, is_edge_output, name_reason

log = logging.getLogger("edge.scan")


@dataclass(frozen=True)
class Candidate:
    path: Path
    root: Path
    size: int
    mtime_ns: int
    siblings: frozenset[str]  # names in the same folder (cheap sidecar check)


def inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def admissible(path: Path, root: Path, user_globs: list[str], exclude: Path | None = None) -> bool:
    """Should a path reported by the watcher be looked at? Logs why not."""
    if not inside(path, root) or (exclude is not None and inside(path, exclude)):
        return False
    rel = path.relative_to(root).as_posix()
    if ignored_reason(rel, user_globs) or is_edge_output(path):
        return False
    return regular_file(path, root)


def regular_file(path: Path, root: Path) -> bool:
    """Regular files only; symlinks only when they stay inside the root."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode):
        target = path.resolve()
        if not inside(target, root):
            log.info("event=skip path=%s reason=%r", path, "symbolic link points outside the watched folder")
            return False
        return target.is_file()
    if not stat.S_ISREG(info.st_mode):
        log.info("event=skip path=%s reason=%r", path, f"not a regular file ({_kind(info.st_mode)})")
        return False
    return True


def walk(root: Path, user_globs: list[str], exclude: Path | None = None) -> Iterator[Candidate]:
    """Every admissible file under root, without following symlinked folders.

    Strings, not Paths, in this loop: a start-up scan meets every file of
    every watched folder, and pathlib costs microseconds a call.
    """
    prefix = len(str(root)) + 1
    skip = str(exclude) if exclude is not None else None
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        if skip is not None and (folder == skip or folder.startswith(skip + "/")):
            continue
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("event=scan_error folder=%s reason=%r", folder, exc.strerror)
            continue
        names = frozenset(entry.name for entry in entries)
        for entry in entries:
            if name_reason(entry.name) or (user_globs and glob_reason(entry.path[prefix:], entry.name, user_globs)):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
                continue
            if entry.name.endswith(OUTPUT_SUFFIXES) and is_edge_output(Path(entry.path), names):
                continue
            candidate = _candidate(entry, root, names)
            if candidate is not None:
                yield candidate


def _candidate(entry: os.DirEntry, root: Path, names: frozenset[str]) -> Candidate | None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    path = Path(entry.path)
    if not stat.S_ISREG(info.st_mode):
        if not regular_file(path, root):
            return None
        info = os.stat(path)
    return Candidate(path, root, info.st_size, info.st_mtime_ns, names)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "folder"
    return "special file"

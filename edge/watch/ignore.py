"""What edge never picks up: clutter, partial downloads, and its own outputs."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from .. import sidecar

IGNORED_NAMES = {"thumbs.db", "desktop.ini", "@eadir", "$recycle.bin", "lost+found"}
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp", ".swx", ".filepart", ".!qb")
PARTIAL_PREFIXES = ("~$", ".~lock")
OUTPUT_SUFFIXES = (sidecar.ERROR_SUFFIX, sidecar.SUFFIX, ".srt", ".vtt")


def ignored_reason(rel_path: str, user_globs: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why a path (relative to its root) is ignored, or None to take it.

    Hidden names cover .DS_Store, ._*, .stfolder, .stversions, .~lock* and
    rsync's `.name.XXXXXX` temp files; a hidden folder hides what is inside.
    """
    parts = rel_path.split("/")
    for part in parts[:-1]:
        reason = folder_reason(part)
        if reason:
            return reason
    return name_reason(parts[-1]) or glob_reason(rel_path, parts[-1], list(user_globs))


def folder_reason(name: str) -> str | None:
    if name.startswith("."):
        return "hidden"
    return "system clutter" if name.lower() in IGNORED_NAMES else None


def name_reason(name: str) -> str | None:
    """The rules that depend on the name alone (the scan checks folders once)."""
    reason = folder_reason(name)
    if reason:
        return reason
    if name.lower().endswith(PARTIAL_SUFFIXES) or name.startswith(PARTIAL_PREFIXES):
        return "partial or temporary file"
    return None


def glob_reason(rel_path: str, name: str, user_globs: list[str]) -> str | None:
    for pattern in user_globs:
        if fnmatch.fnmatch(rel_path, pattern) or fnmatch.fnmatch(name, pattern):
            return f"matches ignore pattern {pattern!r}"
    return None


def is_edge_output(path: Path, siblings: frozenset[str] | None = None) -> bool:
    """A sidecar or companion that edge wrote for a sibling file.

    Recognised by its sibling source, or (a sidecar whose source is gone) by
    the ownership marker at the top of the JSON.
    """
    name = path.name
    for suffix in OUTPUT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            source = name[: -len(suffix)]
            if (source in siblings) if siblings is not None else path.with_name(source).exists():
                return True
            if suffix.endswith(".json") and _has_marker(path):
                return True
    return False


def _has_marker(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return False
    return sidecar.FORMAT.encode() in head

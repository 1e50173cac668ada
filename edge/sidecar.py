"""The sidecar: its envelope, its published JSON Schema, and the atomic writer.

`scan.jpg` gets `scan.jpg.json` (success) or `scan.jpg.error.json` (failure),
beside it or under an output folder that mirrors the watched tree. A sidecar
is written to a temp file in the same folder, fsynced, renamed into place and
the folder fsynced: a reader never sees half a file, a crash never leaves one.
Edge never overwrites a file it did not write.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__
from .errors import InputError, StorageUnavailable

FORMAT = "edge.sidecar/v1"
TEMP_PREFIX = ".edge-tmp-"
SUFFIX = ".json"
ERROR_SUFFIX = ".error.json"


def schema() -> dict[str, Any]:
    """The published JSON Schema of the envelope."""
    text = resources.files("edge").joinpath("schemas/sidecar.v1.json").read_text(encoding="utf-8")
    return json.loads(text)


def iso_time(seconds: float | None = None) -> str:
    moment = datetime.fromtimestamp(seconds, UTC) if seconds is not None else datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Placement:
    """Where the outputs of a source file go: beside it or under an output dir."""

    def __init__(self, output_dir: Path | None = None):
        self.output_dir = Path(output_dir).resolve() if output_dir else None

    def base(self, source: Path, root: Path) -> Path:
        if self.output_dir is None:
            return source
        try:
            rel = source.relative_to(root)
        except ValueError:
            rel = Path(source.name)
        return self.output_dir / rel

    def ok_path(self, source: Path, root: Path) -> Path:
        return _with_suffix(self.base(source, root), SUFFIX)

    def error_path(self, source: Path, root: Path) -> Path:
        return _with_suffix(self.base(source, root), ERROR_SUFFIX)

    def companion_path(self, source: Path, root: Path, suffix: str) -> Path:
        return _with_suffix(self.base(source, root), suffix)


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def source_block(path: Path, sha256: str, size: int, mtime_ns: int, mime: str | None) -> dict[str, Any]:
    return {
        "name": path.name,
        "sha256": sha256,
        "size": size,
        "mtime": iso_time(mtime_ns / 1e9),
        "mtime_ns": mtime_ns,
        "media_type": mime,
    }


def envelope(status: str, source: dict[str, Any], **blocks: Any) -> dict[str, Any]:
    """The envelope, with "edge" first so ownership shows in the first bytes."""
    doc: dict[str, Any] = {"edge": FORMAT, "status": status, "source": source}
    doc.update({key: value for key, value in blocks.items() if value is not None})
    doc["created_at"] = iso_time()
    doc["edge_version"] = __version__
    return doc


def read(path: Path) -> dict[str, Any] | None:
    """An edge sidecar's content; None when absent, foreign or unreadable."""
    try:
        with open(path, "rb") as handle:
            doc = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("edge") == FORMAT else None


def is_foreign(path: Path) -> bool:
    """True when a file is at `path` and edge did not write it."""
    return path.exists() and read(path) is None


def write_json(path: Path, doc: dict[str, Any]) -> None:
    write_text(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def refuse_foreign(path: Path) -> None:
    if is_foreign(path):
        raise InputError(
            f"{path.name} exists and was not written by edge; not overwriting it",
            code="foreign_sidecar",
            hint="move or rename that file, then `edge retry` this one",
        )


# errno -> (code, what to do): write failures that are the machine's, not the file's
MACHINE_ERRNOS = {
    errno.ENOSPC: ("disk_full", "free space on that filesystem; the files wait and complete by themselves"),
    errno.EDQUOT: ("quota_exceeded", "raise the quota or free space; the files wait and complete by themselves"),
    errno.EROFS: ("read_only_filesystem", "remount it read-write, or set output_dir to a writable folder"),
    errno.EIO: ("io_error", "check the disk (dmesg); the files wait and are tried again"),
}


def write_text(path: Path, text: str) -> None:
    """Atomically replace `path`, refusing to clobber a file edge did not write.
    A full, read-only or failing disk raises StorageUnavailable naming the path and the fix."""
    try:
        _write_atomic(path, text)
    except OSError as exc:
        if exc.errno not in MACHINE_ERRNOS:
            raise
        code, fix = MACHINE_ERRNOS[exc.errno]
        raise StorageUnavailable(f"cannot write {path}: [{errno.errorcode.get(exc.errno, exc.errno)}] "
                                 f"{exc.strerror}", code=code, hint=fix) from None


def _write_atomic(path: Path, text: str) -> None:
    if path.suffix == ".json":
        refuse_foreign(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        _remove_quietly(Path(temp))
        raise
    fsync_dir(path.parent)


def remove_own(path: Path) -> None:
    """Remove an output that edge wrote (a stale error sidecar); never a foreign file."""
    if read(path) is not None:
        _remove_quietly(path)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep_temp_files(folder: Path) -> int:
    """Delete temp files that a crash left behind (only edge's own names)."""
    removed = 0
    for entry in folder.glob(f"**/{TEMP_PREFIX}*.tmp"):
        _remove_quietly(entry)
        removed += 1
    return removed


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass

"""The value that carries one file through the pipeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class MediaInfo:
    """What the content says the file is (magic bytes, not the extension)."""

    kind: str  # image | pdf | audio | video | other
    mime: str


@dataclass
class Job:
    path: Path  # absolute
    root: Path  # the watched root (or the folder given to `edge process`)
    size: int
    mtime_ns: int
    sha256: str = ""
    media: MediaInfo | None = None
    attempts: int = 0
    enqueued_at: float = field(default_factory=time.monotonic)

    @property
    def rel(self) -> str:
        """Path relative to its root, with forward slashes (what route globs see)."""
        try:
            return self.path.relative_to(self.root).as_posix()
        except ValueError:
            return self.path.name

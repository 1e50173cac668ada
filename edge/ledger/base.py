"""What every ledger offers: the row, the statuses, the interface and its errors.

Two ledgers implement it: SQLite (one host, the default) and PostgreSQL
(several hosts sharing one inbox, with leases). The daemon, its lanes and the
`status`/`retry` commands see only this interface.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import EdgeError

STATUSES = ("pending", "running", "done", "failed", "dead")
CRASH_NOTE = "edge stopped while handling this file"  # last_error of a file found in flight after a crash

# (path, root, size, mtime_ns, sha256, status, error, crashes): a file its sidecar already answers
Answered = tuple[str, str, int, int, "str | None", str, "str | None", int]


class LedgerUnavailable(EdgeError):
    """The ledger's database cannot be reached right now: wait, never fail a file."""

    code = "ledger_unavailable"


def default_state_dir(explicit: Path | None = None) -> Path:
    """--state-dir, else systemd's $STATE_DIRECTORY, else $XDG_STATE_HOME/edge."""
    if explicit:
        return Path(explicit)
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "edge"


@dataclass
class Row:
    path: str
    root: str
    lane: str
    sha256: str | None
    size: int | None
    mtime_ns: int | None
    status: str
    attempts: int
    next_at: float
    dirty: int
    last_error: str | None
    timings: str | None
    updated_at: float
    crashes: int = 0  # times edge stopped while handling it (found running at a start, or its lease expired)
    holder: str | None = None  # PostgreSQL: the daemon holding the lease of a running row

    @property
    def suspect(self) -> bool:
        """It was in flight when edge stopped: it runs alone, after the files that wait."""
        return self.crashes > 0


@dataclass
class DaemonInfo:
    """A daemon registered in a shared ledger (PostgreSQL only)."""

    holder: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    jobs_held: int
    live: bool


class LedgerAPI(Protocol):
    """The interface the daemon, the lanes and the commands use."""

    location: str  # where it lives, for logs and `edge status` (never a password)
    poll_interval: float | None  # idle lanes look again this often (others may add work)

    def own(self) -> None: ...
    def close(self) -> None: ...
    def get(self, path: str) -> Row | None: ...
    def snapshot(self) -> dict[str, tuple[int | None, int | None, str]]: ...
    def counts(self) -> dict[str, int]: ...
    def last_errors(self, limit: int = 10) -> list[Row]: ...
    def rows(self, status: str | None = None) -> Iterator[Row]: ...
    def daemons(self) -> list[DaemonInfo]: ...
    def flagged(self) -> list[tuple[Row, str | None]]: ...
    def enqueue(self, path: str, root: str, lane: str, size: int, mtime_ns: int) -> bool: ...
    def claim(self, lane: str, now: float | None = None) -> Row | None: ...
    def next_due(self, lane: str) -> float | None: ...
    def finish(self, path: str, status: str, *, sha256: str | None = None, error: str | None = None,
               timings: dict[str, Any] | None = None, attempts: int | None = None,
               review: bool = False) -> bool: ...
    def retry_later(self, path: str, at: float, *, attempts: int, error: str | None) -> None: ...
    def move(self, path: str, lane: str) -> None: ...
    def forget(self, path: str) -> None: ...
    def record_done(self, path: str, root: str, size: int, mtime_ns: int, sha256: str | None) -> None: ...
    def record_answered(self, rows: list[Answered]) -> None: ...
    def requeue_crashed(self) -> list[Row]: ...
    def requeue(self, statuses: tuple[str, ...] = ("failed", "dead"), paths: list[str] | None = None) -> int: ...

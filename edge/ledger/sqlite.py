"""SQLite state (WAL): an index of what edge knows about each file.

The sidecar stays the source of truth: deleting the ledger loses no work, it
only costs a re-read of sidecars. The ledger is also the queue: pending rows
are what the workers claim, so a burst of files costs rows, not memory, and
whatever was pending at a stop is still pending at the next start.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError
from .base import CRASH_NOTE, STATUSES, Answered, DaemonInfo, Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path        TEXT PRIMARY KEY,
    root        TEXT NOT NULL,
    lane        TEXT NOT NULL DEFAULT '',
    sha256      TEXT,
    size        INTEGER,
    mtime_ns    INTEGER,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     REAL NOT NULL DEFAULT 0,
    dirty       INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    timings     TEXT,
    updated_at  REAL NOT NULL,
    crashes     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS files_due ON files(status, lane, next_at);
"""

# The next due row of a lane that may run now. A suspect (crashes > 0: it was in flight when edge
# stopped) is taken only when nothing else runs, and nothing else is taken while it runs: if it takes
# the process down again, it alone is counted. Two picks, so each keeps the index's order.
_PICK = ("SELECT path FROM files WHERE status = 'pending' AND lane = :lane AND next_at <= :now AND {which}"
         " ORDER BY next_at, rowid LIMIT 1")
_RUNNING = "SELECT 1 FROM files WHERE status = 'running'"
_CLAIM = (
    "UPDATE files SET status = 'running', updated_at = :now WHERE path = COALESCE(("
    + _PICK.format(which=f"crashes = 0 AND NOT EXISTS ({_RUNNING} AND crashes > 0)") + "), ("
    + _PICK.format(which=f"crashes > 0 AND NOT EXISTS ({_RUNNING})") + ")) RETURNING *"
)


class _Done:
    """A statement run to its end under the lock. A statement left open on the shared connection (a
    cursor not yet fetched by its thread) makes another thread's COMMIT fail: "SQL statements in
    progress"."""

    def __init__(self, rows: list[Any], rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows


class Ledger:
    """The embedded ledger: one file under the state directory, one daemon."""

    poll_interval: float | None = None  # only this process adds work: lanes are woken, never poll

    def __init__(self, state_dir: Path):
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "ledger.sqlite3"
        self.location = str(self.path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        _add_crashes(self._db)
        self._db.row_factory = lambda cursor, row: Row(*row)
        self._owner: IO[str] | None = None

    def close(self) -> None:
        """At a daemon's stop, files still in flight (the grace ran out) go back to pending without a
        crash counted: only a row found `running` at the next start means edge died handling it."""
        with self._lock:
            if self._owner is not None:
                self._db.execute("UPDATE files SET status = 'pending', next_at = 0 WHERE status = 'running'")
            self._db.close()
        if self._owner is not None:
            self._owner.close()
            self._owner = None

    def own(self) -> None:
        """Hold the state directory for this daemon: a second `edge watch` on
        the same ledger would race this one, so it is refused with the pid."""
        handle = open(self.path.with_name("daemon.lock"), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ConfigError(f"another edge watch (pid {holder}) is using the state directory {self.path.parent}",
                              hint="stop it, or give this one its own --state-dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._owner = handle

    def _exec(self, sql: str, params: tuple | list | dict = ()) -> _Done:
        with self._lock:
            cursor = self._db.execute(sql, params)
            return _Done(cursor.fetchall(), cursor.rowcount)

    # -- reading ----------------------------------------------------------------

    def get(self, path: str) -> Row | None:
        return self._exec("SELECT * FROM files WHERE path = ?", (path,)).fetchone()

    def snapshot(self) -> dict[str, tuple[int | None, int | None, str]]:
        """path -> (size, mtime_ns, status): the start-up scan's fast lookup."""
        with self._lock:
            cursor = self._db.execute("SELECT path, size, mtime_ns, status FROM files")
            cursor.row_factory = None
            return {path: (size, mtime, status) for path, size, mtime, status in cursor}

    def flagged(self) -> list[tuple[Row, str | None]]:
        """Only a shared ledger lists flagged files; here `review_dir` holds them."""
        return []

    def daemons(self) -> list[DaemonInfo]:
        """Only a shared ledger registers daemons; here the state lock says it."""
        return []

    def counts(self) -> dict[str, int]:
        found = dict(self._exec_plain("SELECT status, COUNT(*) FROM files GROUP BY status"))
        return {status: found.get(status, 0) for status in STATUSES}

    def last_errors(self, limit: int = 10) -> list[Row]:
        sql = "SELECT * FROM files WHERE last_error IS NOT NULL AND status IN ('failed','dead','pending') ORDER BY updated_at DESC LIMIT ?"
        return self._exec(sql, (limit,)).fetchall()

    def rows(self, status: str | None = None) -> Iterator[Row]:
        if status:
            return iter(self._exec("SELECT * FROM files WHERE status = ?", (status,)).fetchall())
        return iter(self._exec("SELECT * FROM files").fetchall())

    def _exec_plain(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            cursor = self._db.execute(sql, params)
            cursor.row_factory = None
            return cursor.fetchall()

    # -- writing ----------------------------------------------------------------

    def enqueue(self, path: str, root: str, lane: str, size: int, mtime_ns: int) -> bool:
        """Mark a file pending. A file already running is marked dirty instead
        (looked at again when it finishes), so one path is never in flight twice.
        Returns True when the row became pending."""
        now = time.time()
        with self._lock:
            row = self.get(path)
            if row and row.status == "running":
                self._db.execute("UPDATE files SET dirty = 1 WHERE path = ?", (path,))
                return False
            same = row is not None and (row.size, row.mtime_ns) == (size, mtime_ns)
            pending = same and row is not None and row.status == "pending"
            attempts, next_at, crashes = (row.attempts, row.next_at, row.crashes) if row and pending else (0, 0, 0)
            self._db.execute(
                "INSERT OR REPLACE INTO files (path, root, lane, sha256, size, mtime_ns, status, attempts, next_at,"
                " dirty, last_error, timings, updated_at, crashes) VALUES (?,?,?,?,?,?,'pending',?,?,0,?,?,?,?)",
                (path, root, lane, row.sha256 if same and row else None, size, mtime_ns, attempts, next_at,
                 row.last_error if same and row else None, None, now, crashes),
            )
            return True

    def claim(self, lane: str, now: float | None = None) -> Row | None:
        """Take the next due pending row of a lane and mark it running; a suspect only alone (see _CLAIM).

        One statement, so the claim is atomic even against another process.
        """
        now = time.time() if now is None else now
        return self._exec(_CLAIM, {"lane": lane, "now": now}).fetchone()

    def next_due(self, lane: str) -> float | None:
        found = self._exec_plain("SELECT MIN(next_at) FROM files WHERE status = 'pending' AND lane = ?", (lane,))
        return found[0][0] if found else None

    def finish(self, path: str, status: str, *, sha256: str | None = None, error: str | None = None,
               timings: dict[str, Any] | None = None, attempts: int | None = None, review: bool = False) -> bool:
        """Record an end state. Returns True when the file changed meanwhile (dirty).

        `review` is kept by shared ledgers only: here the review folder is the list."""
        with self._lock:
            row = self.get(path)
            if row is None:
                return False
            self._db.execute(
                "UPDATE files SET status = ?, sha256 = COALESCE(?, sha256), last_error = ?, timings = ?,"
                " attempts = COALESCE(?, attempts), dirty = 0, updated_at = ? WHERE path = ?",
                (status, sha256, error, json.dumps(timings) if timings else None, attempts, time.time(), path),
            )
            return bool(row.dirty)

    def retry_later(self, path: str, at: float, *, attempts: int, error: str | None) -> None:
        self._exec(
            "UPDATE files SET status = 'pending', next_at = ?, attempts = ?, last_error = ?, updated_at = ? WHERE path = ?",
            (at, attempts, error, time.time(), path),
        )

    def move(self, path: str, lane: str) -> None:
        """Pending again, in another lane, at once and without spending an attempt."""
        self._exec("UPDATE files SET status = 'pending', lane = ?, next_at = 0, updated_at = ? WHERE path = ?",
                   (lane, time.time(), path))

    def forget(self, path: str) -> None:
        self._exec("DELETE FROM files WHERE path = ?", (path,))

    def record_done(self, path: str, root: str, size: int, mtime_ns: int, sha256: str | None) -> None:
        """Index a file found already answered by its sidecar (no processing)."""
        self.record_answered([(path, root, size, mtime_ns, sha256, "done", None, 0)])

    def record_answered(self, rows: list[Answered]) -> None:
        """Index many answered files in one transaction: (path, root, size, mtime_ns, sha256, status, error,
        crashes)."""
        if not rows:
            return
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO files (path, root, lane, sha256, size, mtime_ns, status, attempts, next_at,"
                " dirty, last_error, timings, updated_at, crashes) VALUES (?,?,'',?,?,?,?,0,0,0,?,NULL,?,?)",
                [(path, root, sha, size, mtime, status, error, now, crashes)
                 for path, root, size, mtime, sha, status, error, crashes in rows],
            )
            self._db.execute("COMMIT")

    def requeue_crashed(self) -> list[Row]:
        """At start: rows found running were in flight when edge died (the lock says no daemon holds
        them): pending again, each with one more crash counted. Returns them."""
        return self._exec("UPDATE files SET status = 'pending', next_at = 0, crashes = crashes + 1, last_error = ?,"
                          " updated_at = ? WHERE status = 'running' RETURNING *", (CRASH_NOTE, time.time())).fetchall()

    def requeue(self, statuses: tuple[str, ...] = ("failed", "dead"), paths: list[str] | None = None) -> int:
        """Another chance: attempts and crashes start again from 0."""
        marks = ",".join("?" * len(statuses))
        sql = f"UPDATE files SET status = 'pending', attempts = 0, crashes = 0, next_at = 0 WHERE status IN ({marks})"
        params: list[Any] = list(statuses)
        if paths is not None:
            sql += f" AND path IN ({','.join('?' * len(paths))})"
            params += paths
        return self._exec(sql, params).rowcount


def _add_crashes(db: sqlite3.Connection) -> None:
    """A ledger made before crash quarantine has no `crashes` column: add it (appended, as in _SCHEMA)."""
    columns = {info[1] for info in db.execute("PRAGMA table_info(files)")}
    if "crashes" not in columns:
        db.execute("ALTER TABLE files ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0")

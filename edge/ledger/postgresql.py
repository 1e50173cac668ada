"""The PostgreSQL ledger: one queue for several hosts, each claim a lease.

A claim is one `UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`: the row
becomes `running` with a holder (host:pid:start) and an expiry on the
database's clock. A heartbeat renews the leases of the jobs this daemon runs;
a lease that expires (the host died, was kill -9'd, lost the network) makes
the file claimable again, and the sidecar check skips whatever was finished.

When the database goes away, calls raise LedgerUnavailable (claiming pauses)
and the end states of jobs in flight wait in a backlog that the heartbeat
replays when it is back: the sidecar is written either way.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from . import pg_schema
from .base import CRASH_NOTE, STATUSES, Answered, DaemonInfo, LedgerUnavailable, Row
from .choose import redact
from .shares import ShareMap

log = logging.getLogger("edge.ledger")

NOW = "extract(epoch from clock_timestamp())"  # the database's clock: leases never trust a host's
COLUMNS = ("id, root, lane, sha256, size, mtime_ns, status, attempts, next_at, dirty, last_error, timings,"
           " updated_at, crashes, holder")
FORGET_DAEMON_AFTER = 86_400.0  # seconds: a daemon silent this long (killed, host gone) leaves `edge status`
CONNECT = {"connect_timeout": 5, "application_name": "edge", "keepalives": 1, "keepalives_idle": 5,
           "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 15000}

# A suspect (crashes > 0: in flight when its daemon died) is taken only while this daemon runs nothing
# else, and nothing else is taken while it runs (`claim` decides which pick may run).
_PICK = ("SELECT id FROM edge_files WHERE lane = %(lane)s AND root = ANY(%(roots)s) AND status = 'pending'"
         " AND next_at <= %(now)s AND {which} ORDER BY next_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED")
_TAKE = (f"WITH picked AS ({_PICK}) UPDATE edge_files f SET status = 'running', holder = %(me)s,"
         f" lease_until = {NOW} + %(lease)s, updated_at = %(now)s FROM picked WHERE f.id = picked.id"
         f" RETURNING {', '.join('f.' + c.strip() for c in COLUMNS.split(','))}")
CLAIM_CLEAR = _TAKE.format(which="crashes = 0")
CLAIM_SUSPECT = _TAKE.format(which="crashes > 0")

# Another daemon's lease that expired: it died (or lost the database for longer than a lease) while
# handling the file. Pending again, one crash counted; the claims above then take it alone, after the
# files that wait. This daemon's own leases are its heartbeat's to renew.
REAP = f"""
WITH gone AS (SELECT id, holder FROM edge_files WHERE lane = %(lane)s AND root = ANY(%(roots)s)
              AND status = 'running' AND lease_until < {NOW} AND holder <> %(me)s FOR UPDATE SKIP LOCKED)
UPDATE edge_files f SET status = 'pending', next_at = 0, crashes = f.crashes + 1, last_error = %(note)s,
    holder = NULL, lease_until = NULL, updated_at = %(now)s
FROM gone WHERE f.id = gone.id
RETURNING f.id, f.root, gone.holder, f.crashes
"""

ENQUEUE = """
INSERT INTO edge_files AS f (id, root, lane, size, mtime_ns, status, attempts, next_at, dirty, updated_at)
VALUES (%(id)s, %(root)s, %(lane)s, %(size)s, %(mtime)s, 'pending', 0, 0, 0, %(now)s)
ON CONFLICT (id) DO UPDATE SET
    root = EXCLUDED.root, lane = EXCLUDED.lane, size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns,
    status = 'pending', dirty = 0, timings = NULL, updated_at = EXCLUDED.updated_at, holder = NULL,
    lease_until = NULL,
    sha256 = CASE WHEN (f.size, f.mtime_ns) = (EXCLUDED.size, EXCLUDED.mtime_ns) THEN f.sha256 END,
    last_error = CASE WHEN (f.size, f.mtime_ns) = (EXCLUDED.size, EXCLUDED.mtime_ns) THEN f.last_error END,
    attempts = CASE WHEN (f.size, f.mtime_ns) = (EXCLUDED.size, EXCLUDED.mtime_ns) AND f.status = 'pending'
                    THEN f.attempts ELSE 0 END,
    next_at = CASE WHEN (f.size, f.mtime_ns) = (EXCLUDED.size, EXCLUDED.mtime_ns) AND f.status = 'pending'
                   THEN f.next_at ELSE 0 END,
    crashes = CASE WHEN (f.size, f.mtime_ns) = (EXCLUDED.size, EXCLUDED.mtime_ns) AND f.status = 'pending'
                   THEN f.crashes ELSE 0 END
WHERE f.status <> 'running'
RETURNING 1
"""

ANSWERED = """
INSERT INTO edge_files AS f (id, root, lane, sha256, size, mtime_ns, status, attempts, next_at, dirty,
                             last_error, updated_at, crashes)
VALUES (%s, %s, '', %s, %s, %s, %s, 0, 0, 0, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET
    root = EXCLUDED.root, lane = '', sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
    mtime_ns = EXCLUDED.mtime_ns, status = EXCLUDED.status, attempts = 0, crashes = EXCLUDED.crashes, next_at = 0,
    dirty = 0,
    last_error = EXCLUDED.last_error, timings = NULL, updated_at = EXCLUDED.updated_at
WHERE f.status <> 'running'
"""

FINISH = """
WITH old AS (SELECT id, dirty FROM edge_files WHERE id = %(id)s AND (holder = %(me)s OR holder IS NULL)
             FOR UPDATE)
UPDATE edge_files f SET status = %(status)s, sha256 = COALESCE(%(sha)s, f.sha256), last_error = %(error)s,
    timings = %(timings)s, attempts = COALESCE(%(attempts)s, f.attempts), dirty = 0, updated_at = %(now)s,
    holder = NULL, lease_until = NULL, needs_review = %(review)s, finished_by = %(host)s
FROM old WHERE f.id = old.id
RETURNING old.dirty
"""

NEXT_DUE = f"""
SELECT MIN(CASE WHEN status = 'pending' THEN next_at ELSE lease_until - {NOW} + %(now)s END)
FROM edge_files WHERE lane = %(lane)s AND root = ANY(%(roots)s)
  AND (status = 'pending' OR (status = 'running' AND holder <> %(me)s))
"""

DAEMONS = f"""
SELECT d.holder, d.host, d.pid, d.started_at, d.heartbeat_at,
       (SELECT COUNT(*) FROM edge_files f WHERE f.holder = d.holder AND f.status = 'running'),
       d.heartbeat_at + d.lease > {NOW}
FROM edge_daemons d ORDER BY d.host, d.pid
"""


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise ConfigError("the PostgreSQL ledger needs psycopg 3", hint="pip install 'edge[postgresql]'") from None
    return psycopg


def one_line(exc: BaseException, secret: str | None = None) -> str:
    """A driver error as one line, without the password."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__
    return text.replace(secret, "***") if secret else text


class PostgresLedger:
    poll_interval: float | None = 1.0  # other hosts add and release work: idle lanes look again this often

    def __init__(self, url: str, shares: ShareMap, lease: float = 30.0):
        self.psycopg = _psycopg()
        self.url, self.location, self.shares, self.lease = url, redact(url), shares, lease
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{time.time():.3f}"
        self._lock = threading.RLock()
        self._held: set[str] = set()  # ids this daemon is running: only these leases are renewed
        self._suspects: set[str] = set()  # those of them edge died on before: each runs alone
        self._backlog: list[Callable[[Any], Any]] = []  # end states waiting for the database
        self._down_since: float | None = None
        self._beat: Heartbeat | None = None
        self._owned = False  # a daemon's ledger (registered, heartbeat) rather than a command's
        self._conn = self._connect_at_start()

    # -- connection -------------------------------------------------------------------

    def _secret(self) -> str | None:
        try:
            return urlsplit(self.url).password
        except ValueError:
            return None

    def _connect(self):
        return self.psycopg.connect(self.url, autocommit=True, **CONNECT)

    def _connect_at_start(self):
        try:
            conn = self._connect()
        except self.psycopg.Error as exc:
            raise ConfigError(f"cannot use the state database {self.location}: {one_line(exc, self._secret())}") \
                from None
        try:
            pg_schema.ensure(conn)
        except self.psycopg.Error as exc:
            conn.close()
            raise ConfigError(f"state database {self.location}: {one_line(exc, self._secret())}") from None
        except ConfigError:
            conn.close()
            raise
        return conn

    def run(self, op: Callable[[Any], Any]) -> Any:
        """Run op(connection) under the lock; a lost database becomes LedgerUnavailable."""
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                result = op(self._conn)
            except (self.psycopg.OperationalError, self.psycopg.InterfaceError, self.psycopg.InternalError) as exc:
                # connection lost, server restarting, or a standby that cannot write yet
                reason = one_line(exc, self._secret())
                self._lost(reason)
                raise LedgerUnavailable(f"state database {self.location} unavailable: {reason}") from None
            if self._down_since is not None:
                log.info("event=ledger_back seconds=%.1f", time.monotonic() - self._down_since)
                self._down_since = None
            return result

    def _lost(self, reason: str) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except self.psycopg.Error:
                pass
        self._conn = None
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("event=ledger_unavailable ledger=%s reason=%r note=%r", self.location, reason,
                        "claiming paused; results still go to sidecars")

    # -- life cycle ---------------------------------------------------------------------

    def own(self) -> None:
        """Register this daemon and start its heartbeat; other daemons may share the ledger."""
        self._owned = True
        self.beat()
        self._beat = Heartbeat(self, max(0.1, self.lease / 3))
        self._beat.start()

    def close(self) -> None:
        if self._beat is not None:
            self._beat.stop()
            self._beat = None
        with self._lock:
            try:
                if self._owned:
                    self._flush()
                    self.run(self._release_all)
            except LedgerUnavailable:
                log.warning("event=ledger_unavailable_at_stop deferred=%d note=%r", len(self._backlog),
                            "sidecars are written; leases expire and the sidecar check skips those files")
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _release_all(self, conn) -> None:
        """At stop: jobs not finished within the grace go back to pending for any host; deregister."""
        conn.execute("UPDATE edge_files SET status = 'pending', holder = NULL, lease_until = NULL"
                     " WHERE holder = %s AND status = 'running'", (self.holder,))
        conn.execute("DELETE FROM edge_daemons WHERE holder = %s", (self.holder,))
        self._held.clear()
        self._suspects.clear()

    def beat(self) -> None:
        """Replay deferred end states, renew held leases, free lost claims, say we are alive."""
        with self._lock:
            self._flush()
            self.run(self._renew)

    def _renew(self, conn) -> None:
        held = sorted(self._held)
        conn.execute(f"UPDATE edge_files SET lease_until = {NOW} + %s WHERE holder = %s AND id = ANY(%s)",
                     (self.lease, self.holder, held))
        # a claim whose answer was lost with the connection: ours in the table, unknown to the lanes
        conn.execute("UPDATE edge_files SET status = 'pending', holder = NULL, lease_until = NULL"
                     " WHERE holder = %s AND status = 'running' AND NOT (id = ANY(%s))", (self.holder, held))
        conn.execute(f"DELETE FROM edge_daemons WHERE heartbeat_at < {NOW} - %s", (FORGET_DAEMON_AFTER,))
        host, pid, started = self.holder.rsplit(":", 2)
        conn.execute(
            f"INSERT INTO edge_daemons (holder, host, pid, started_at, heartbeat_at, lease, roots)"
            f" VALUES (%s, %s, %s, %s, {NOW}, %s, %s) ON CONFLICT (holder) DO UPDATE SET heartbeat_at = {NOW}",
            (self.holder, host, int(pid), float(started), self.lease, ",".join(self.shares.root_ids)))

    def _flush(self) -> None:
        while self._backlog:
            self.run(self._backlog[0])
            self._backlog.pop(0)

    def _write(self, op: Callable[[Any], Any], path: str) -> Any:
        """An end state: applied now, or kept (in order) until the database is back."""
        with self._lock:
            try:
                self._flush()
                return self.run(op)
            except LedgerUnavailable:
                self._backlog.append(op)
                log.info("event=ledger_update_deferred path=%s waiting=%d", path, len(self._backlog))
                return None

    # -- reading --------------------------------------------------------------------------

    def _row(self, values: tuple) -> Row:
        path, root = self.shares.local(values[0], values[1])
        return Row(path, root, *values[2:15])

    def _rows(self, sql: str, params: tuple | dict = ()) -> list[Row]:
        return [self._row(values) for values in self.run(lambda c: c.execute(sql, params).fetchall())]

    def get(self, path: str) -> Row | None:
        found = self._rows(f"SELECT {COLUMNS} FROM edge_files WHERE id = %s", (self.shares.ids(path)[0],))
        return found[0] if found else None

    def snapshot(self) -> dict[str, tuple[int | None, int | None, str]]:
        sql = "SELECT id, root, size, mtime_ns, status FROM edge_files WHERE root = ANY(%s)"
        found = self.run(lambda c: c.execute(sql, (self.shares.root_ids,)).fetchall())
        return {self.shares.local(fid, root)[0]: (size, mtime, status) for fid, root, size, mtime, status in found}

    def counts(self) -> dict[str, int]:
        found = dict(self.run(lambda c: c.execute("SELECT status, COUNT(*) FROM edge_files GROUP BY status")
                               .fetchall()))
        return {status: found.get(status, 0) for status in STATUSES}

    def last_errors(self, limit: int = 10) -> list[Row]:
        return self._rows(f"SELECT {COLUMNS} FROM edge_files WHERE last_error IS NOT NULL AND status IN"
                          " ('failed','dead','pending') ORDER BY updated_at DESC LIMIT %s", (limit,))

    def rows(self, status: str | None = None) -> Iterator[Row]:
        if status:
            return iter(self._rows(f"SELECT {COLUMNS} FROM edge_files WHERE status = %s ORDER BY seq", (status,)))
        return iter(self._rows(f"SELECT {COLUMNS} FROM edge_files ORDER BY seq"))

    def flagged(self) -> list[tuple[Row, str | None]]:
        """Files whose last sidecar asks for review, on any host: (row, host that wrote it)."""
        sql = f"SELECT {COLUMNS}, finished_by FROM edge_files WHERE needs_review AND status = 'done' ORDER BY seq"
        return [(self._row(values[:-1]), values[-1]) for values in self.run(lambda c: c.execute(sql).fetchall())]

    def daemons(self) -> list[DaemonInfo]:
        found = self.run(lambda c: c.execute(DAEMONS).fetchall())
        return [DaemonInfo(*values) for values in found]

    def next_due(self, lane: str) -> float | None:
        params = {"now": time.time(), "lane": lane, "roots": self.shares.root_ids, "me": self.holder}
        return self.run(lambda c: c.execute(NEXT_DUE, params).fetchone()[0])

    # -- the queue --------------------------------------------------------------------------

    def enqueue(self, path: str, root: str, lane: str, size: int, mtime_ns: int) -> bool:
        """Pending, unless the file is running somewhere: then dirty (looked at again when it ends)."""
        file_id, root_id = self.shares.ids(path, root)
        params = {"id": file_id, "root": root_id, "lane": lane, "size": size, "mtime": mtime_ns, "now": time.time()}

        def op(conn) -> bool:
            for _ in range(3):
                if conn.execute(ENQUEUE, params).fetchone() is not None:
                    return True
                marked = conn.execute("UPDATE edge_files SET dirty = 1 WHERE id = %s AND status = 'running'",
                                      (file_id,)).rowcount
                if marked:
                    return False
            return False

        return self.run(op)

    def claim(self, lane: str, now: float | None = None) -> Row | None:
        """Expired leases of the lane back to pending (a crash each), then the next row that may run now."""
        params = {"lane": lane, "roots": self.shares.root_ids, "now": time.time() if now is None else now,
                  "me": self.holder, "lease": self.lease, "note": CRASH_NOTE}

        def op(conn) -> tuple[list[tuple], tuple | None]:  # under the lock: _held is this daemon's truth
            reaped, found = conn.execute(REAP, params).fetchall(), None
            if not self._suspects:
                found = conn.execute(CLAIM_CLEAR, params).fetchone()
            if found is None and not self._held:
                found = conn.execute(CLAIM_SUSPECT, params).fetchone()
            return reaped, found

        with self._lock:
            reaped, found = self.run(op)
            row = self._hold(found)
        for file_id, root_id, was, crashes in reaped:
            log.info("event=lease_taken path=%s from=%s crashes=%d", self.shares.local(file_id, root_id)[0], was,
                     crashes)
        return row

    def _hold(self, found: tuple | None) -> Row | None:
        """A claimed row, noted as this daemon's (and a suspect as one)."""
        if found is None:
            return None
        row = self._row(found)
        self._held.add(found[0])
        if row.suspect:
            self._suspects.add(found[0])
        return row

    def finish(self, path: str, status: str, *, sha256: str | None = None, error: str | None = None,
               timings: dict[str, Any] | None = None, attempts: int | None = None, review: bool = False) -> bool:
        file_id = self._release(path)
        params = {"id": file_id, "me": self.holder, "status": status, "sha": sha256, "error": error,
                  "timings": json.dumps(timings) if timings else None, "attempts": attempts, "now": time.time(),
                  "review": review, "host": socket.gethostname()}

        def op(conn) -> bool:
            found = conn.execute(FINISH, params).fetchone()
            if found is None:
                log.info("event=lease_lost path=%s note=%r", path, "another daemon took it; its sidecar check decides")
            return bool(found and found[0])

        return bool(self._write(op, path))

    def retry_later(self, path: str, at: float, *, attempts: int, error: str | None) -> None:
        file_id = self._release(path)
        sql = ("UPDATE edge_files SET status = 'pending', next_at = %s, attempts = %s, last_error = %s,"
               " updated_at = %s, holder = NULL, lease_until = NULL WHERE id = %s AND (holder = %s OR holder IS NULL)")
        params = (at, attempts, error, time.time(), file_id, self.holder)
        self._write(lambda conn: conn.execute(sql, params), path)

    def move(self, path: str, lane: str) -> None:
        """Pending again, in another lane, at once and without spending an attempt."""
        file_id = self._release(path)
        sql = ("UPDATE edge_files SET status = 'pending', lane = %s, next_at = 0, updated_at = %s, holder = NULL,"
               " lease_until = NULL WHERE id = %s AND (holder = %s OR holder IS NULL)")
        params = (lane, time.time(), file_id, self.holder)
        self._write(lambda conn: conn.execute(sql, params), path)

    def forget(self, path: str) -> None:
        file_id = self._release(path)
        sql = "DELETE FROM edge_files WHERE id = %s AND (holder = %s OR holder IS NULL)"
        self._write(lambda conn: conn.execute(sql, (file_id, self.holder)), path)

    def _release(self, path: str) -> str:
        file_id = self.shares.ids(path)[0]
        with self._lock:
            self._held.discard(file_id)
            self._suspects.discard(file_id)
        return file_id

    def record_done(self, path: str, root: str, size: int, mtime_ns: int, sha256: str | None) -> None:
        self.record_answered([(path, root, size, mtime_ns, sha256, "done", None, 0)])

    def record_answered(self, rows: list[Answered]) -> None:
        """Index files their sidecars already answer; a row running somewhere is left to its holder."""
        if not rows:
            return
        now = time.time()
        values = []
        for path, root, size, mtime, sha, status, error, crashes in rows:
            file_id, root_id = self.shares.ids(path, root)
            values.append((file_id, root_id, sha, size, mtime, status, error, now, crashes))
        self.run(lambda conn: conn.cursor().executemany(ANSWERED, values))

    def requeue_crashed(self) -> list[Row]:
        """At start: rows under this host's folders whose lease expired (their holder died handling
        them) are pending again, each with one more crash counted. Returns them."""
        sql = (f"UPDATE edge_files SET status = 'pending', next_at = 0, holder = NULL, lease_until = NULL,"
               f" crashes = crashes + 1, last_error = %s, updated_at = %s"
               f" WHERE status = 'running' AND lease_until < {NOW} AND root = ANY(%s) RETURNING {COLUMNS}")
        return self._rows(sql, (CRASH_NOTE, time.time(), self.shares.root_ids))

    def requeue(self, statuses: tuple[str, ...] = ("failed", "dead"), paths: list[str] | None = None) -> int:
        """Another chance: attempts and crashes start again from 0."""
        sql = ("UPDATE edge_files SET status = 'pending', attempts = 0, crashes = 0, next_at = 0"
               " WHERE status = ANY(%s)")
        params: list[Any] = [list(statuses)]
        if paths is not None:
            sql += " AND id = ANY(%s)"
            params.append([self.shares.ids(path)[0] for path in paths])
        return self.run(lambda conn: conn.execute(sql, params).rowcount)


class Heartbeat(threading.Thread):
    """Renews this daemon's leases every lease/3 seconds, and replays deferred writes."""

    def __init__(self, ledger: PostgresLedger, interval: float):
        super().__init__(name="edge-heartbeat", daemon=True)
        self.ledger, self.interval = ledger, interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.ledger.beat()
            except LedgerUnavailable:
                continue  # logged once by the ledger; the next beat tries again

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

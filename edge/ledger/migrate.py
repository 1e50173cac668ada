"""`edge state migrate --to URL`: copy an SQLite ledger into PostgreSQL.

Rows keep their status, attempts, crashes, errors and timings; a row found
`running` (a crash, since the SQLite ledger is locked while its daemon runs)
arrives pending with that crash counted, as the next start would have done.
A row the target already has is kept as it is: the target is newer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import CRASH_NOTE
from .postgresql import PostgresLedger
from .sqlite import Ledger

INSERT = """
INSERT INTO edge_files (id, root, lane, sha256, size, mtime_ns, status, attempts, next_at, dirty, last_error,
                        timings, updated_at, crashes)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)
ON CONFLICT (id) DO NOTHING
"""


@dataclass
class Migrated:
    copied: int
    kept: int  # already in the target


def copy_ledger(source: Ledger, target: PostgresLedger) -> Migrated:
    values = []
    for row in source.rows():
        file_id, root_id = target.shares.ids(row.path, row.root)
        crashed = row.status == "running"
        status, crashes, error = ("pending", row.crashes + 1, CRASH_NOTE) if crashed else \
            (row.status, row.crashes, row.last_error)
        values.append((file_id, root_id, row.lane, row.sha256, row.size, row.mtime_ns, status, row.attempts,
                       row.next_at, error, row.timings, row.updated_at, crashes))

    def op(conn) -> int:
        with conn.transaction():
            before = conn.execute("SELECT COUNT(*) FROM edge_files").fetchone()[0]
            conn.cursor().executemany(INSERT, values)
            return conn.execute("SELECT COUNT(*) FROM edge_files").fetchone()[0] - before

    copied = target.run(op)
    return Migrated(copied, len(values) - copied)

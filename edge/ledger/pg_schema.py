"""The PostgreSQL ledger's schema, as numbered migrations checked at every start.

Each migration runs once, in order, inside one transaction that holds an
advisory lock, so several daemons starting together apply it exactly once.
A database whose schema is newer than this edge stops the start: an older
daemon must not write rows it does not understand.
"""

from __future__ import annotations

from ..errors import ConfigError

LOCK_KEY = 0x6564_6765  # "edge": pg_advisory_xact_lock key for migrations

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE edge_files (
    id          TEXT PRIMARY KEY,          -- share-relative identity of the file
    root        TEXT NOT NULL,             -- share id of the watched root it lives under
    lane        TEXT NOT NULL DEFAULT '',
    sha256      TEXT,
    size        BIGINT,
    mtime_ns    BIGINT,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     DOUBLE PRECISION NOT NULL DEFAULT 0,
    dirty       INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    timings     TEXT,
    updated_at  DOUBLE PRECISION NOT NULL,
    holder      TEXT,                      -- host:pid:start of the daemon holding the lease
    lease_until DOUBLE PRECISION,          -- database clock, epoch seconds
    needs_review BOOLEAN NOT NULL DEFAULT false,  -- its sidecar asks a person (edge review list)
    finished_by TEXT,                      -- the host that wrote the last sidecar
    seq         BIGSERIAL
);
CREATE INDEX edge_files_due ON edge_files (lane, status, next_at, seq);  -- claim order, no sort
CREATE INDEX edge_files_holder ON edge_files (holder) WHERE holder IS NOT NULL;
CREATE TABLE edge_daemons (
    holder       TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    lease        DOUBLE PRECISION NOT NULL,
    roots        TEXT NOT NULL DEFAULT ''
);
"""),
    (2, """
ALTER TABLE edge_files ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;  -- times a daemon died handling it
"""),
]

LATEST = MIGRATIONS[-1][0]


def ensure(conn) -> int:
    """Bring the schema to LATEST (or refuse a newer one); returns the version found at start."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS edge_schema (version INTEGER PRIMARY KEY,"
                     " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        found = conn.execute("SELECT COALESCE(MAX(version), 0) FROM edge_schema").fetchone()[0]
        if found > LATEST:
            raise ConfigError(f"the state database has schema version {found}, newer than this edge knows ({LATEST})",
                              hint="upgrade edge on this host")
        for version, sql in MIGRATIONS:
            if version > found:
                conn.execute(sql)
                conn.execute("INSERT INTO edge_schema (version) VALUES (%s)", (version,))
    return found

"""The PostgreSQL ledger itself, on a real throwaway cluster: claims, leases,
identity on a shared folder, schema versions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.ledger import pg_schema
from edge.ledger.base import CRASH_NOTE
from edge.ledger.postgresql import NOW, PostgresLedger
from edge.ledger.shares import ShareMap
from tests.helpers import wait_for

INBOX = Path("/srv/inbox")


def ledger(url: str, roots: tuple[Path, ...] = (INBOX,), lease: float = 30.0, **share) -> PostgresLedger:
    return PostgresLedger(url, ShareMap.build(list(roots), **share), lease=lease)


def test_claims_are_exclusive_across_daemons(pg_url):
    hosts = [ledger(pg_url) for _ in range(3)]
    for index in range(300):
        hosts[index % 3].enqueue(f"{INBOX}/f{index:03d}", str(INBOX), "metadata", 1, index)
    claimed: list[list[str]] = [[] for _ in range(6)]

    def worker(slot: int) -> None:
        host = hosts[slot % 3]
        while (row := host.claim("metadata")) is not None:
            claimed[slot].append(row.path)

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [path for slot in claimed for path in slot]
    assert len(everything) == 300 and len(set(everything)) == 300
    assert all(claimed[slot] for slot in range(6)), [len(slot) for slot in claimed]
    assert hosts[0].counts()["running"] == 300
    for host in hosts:
        host.close()


def test_a_running_file_found_again_is_marked_dirty_not_queued_twice(pg_url):
    a, b = ledger(pg_url), ledger(pg_url)
    a.enqueue(f"{INBOX}/x", str(INBOX), "metadata", 5, 1)
    row = a.claim("metadata")
    assert b.enqueue(f"{INBOX}/x", str(INBOX), "metadata", 5, 1) is False
    assert b.claim("metadata") is None
    assert a.finish(row.path, "done", sha256="abc") is True  # dirty: the daemon looks at it again
    assert b.get(f"{INBOX}/x").status == "done"
    a.close(), b.close()


def test_an_expired_lease_is_taken_over_and_the_late_holder_is_refused(pg_url):
    dead = ledger(pg_url, lease=2)  # never beats: a host that died
    alive = ledger(pg_url, lease=30)
    dead.enqueue(f"{INBOX}/slow", str(INBOX), "metadata", 1, 1)
    assert dead.claim("metadata").holder == dead.holder
    assert alive.claim("metadata") is None  # the lease still holds
    taken = wait_for(lambda: alive.claim("metadata"), 10, what="the expired lease taken over")
    assert taken.path == f"{INBOX}/slow" and taken.holder == alive.holder
    assert dead.finish(taken.path, "done") is False  # the late holder writes nothing
    assert alive.get(taken.path).status == "running" and alive.get(taken.path).holder == alive.holder
    alive.finish(taken.path, "done")
    assert alive.counts()["done"] == 1
    dead.close(), alive.close()


def test_heartbeat_keeps_a_lease_and_status_lists_the_daemon(pg_url):
    host = ledger(pg_url, lease=3)
    other = ledger(pg_url)
    host.own()
    host.enqueue(f"{INBOX}/long", str(INBOX), "metadata", 1, 1)
    host.claim("metadata")
    # more than a lease length passes while the heartbeat runs: the file is never claimable
    seen = wait_for(lambda: (d := other.daemons()) and d[0].heartbeat_at > d[0].started_at + 4 and d, 30,
                    what="heartbeats over 4 s")
    assert other.claim("metadata") is None
    assert [(d.pid, d.jobs_held, d.live) for d in seen] == [(host.holder and int(host.holder.split(":")[1]), 1, True)]
    other.run(lambda conn: conn.execute(
        "INSERT INTO edge_daemons VALUES ('gone:1:0', 'gone', 1, 0, extract(epoch from now()) - 90000, 30, '')"))
    wait_for(lambda: len(other.daemons()) == 1, 10, what="a daemon silent for a day forgotten at the next beat")
    host.close()  # a clean stop releases what it held and deregisters
    assert other.daemons() == [] and other.get(f"{INBOX}/long").status == "pending"
    other.close()


def test_hosts_mounting_the_share_at_different_paths_agree(pg_url):
    here = ledger(pg_url, (Path("/mnt/office/scans"),), share_root=Path("/mnt/office"))
    there = ledger(pg_url, (Path("/Volumes/share/scans"),), share_root=Path("/Volumes/share"))
    named = ledger(pg_url, (Path("/data/x"),), names={Path("/data/x"): "scans"})
    here.enqueue("/mnt/office/scans/a/1.pdf", "/mnt/office/scans", "metadata", 9, 9)
    row = there.claim("metadata")
    assert (row.path, row.root) == ("/Volumes/share/scans/a/1.pdf", "/Volumes/share/scans")
    there.finish(row.path, "done", sha256="s")
    assert here.snapshot() == {"/mnt/office/scans/a/1.pdf": (9, 9, "done")}
    assert named.snapshot() == {"/data/x/a/1.pdf": (9, 9, "done")}  # NAME=DIR: the same id
    assert named.enqueue("/data/x/a/1.pdf", "/data/x", "metadata", 9, 10) is True  # changed content: again
    assert here.claim("metadata").path == "/mnt/office/scans/a/1.pdf"
    elsewhere = ledger(pg_url, (Path("/srv/other"),))
    assert elsewhere.claim("metadata") is None  # a host claims only under the folders it watches
    for one in (here, there, named, elsewhere):
        one.close()


def test_schema_is_versioned_and_a_newer_one_stops_the_start(pg_url):
    import psycopg

    ledger(pg_url).close()
    ledger(pg_url).close()  # a second start finds the latest version and changes nothing
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT array_agg(version ORDER BY version) FROM edge_schema").fetchone()[0] == [1, 2]
        conn.execute("INSERT INTO edge_schema (version) VALUES (99)")
    with pytest.raises(ConfigError, match="schema version 99, newer than this edge knows"):
        ledger(pg_url)


def test_a_claimed_file_moved_to_another_lane_is_claimed_there_without_its_lease(pg_url):
    a, b = ledger(pg_url), ledger(pg_url)
    a.enqueue(f"{INBOX}/m", str(INBOX), "first", 5, 1)
    row = a.claim("first")
    assert row is not None and row.holder == a.holder
    a.move(row.path, "second")  # a reload routed it to another model
    assert a.claim("first") is None
    moved = b.claim("second")
    assert moved is not None and moved.path == row.path and moved.holder == b.holder
    assert moved.attempts == row.attempts
    a.close(), b.close()


def lease_expired(host: PostgresLedger, path: str) -> bool:
    sql = f"SELECT lease_until < {NOW} FROM edge_files WHERE id = %s"
    return host.run(lambda conn: conn.execute(sql, (path,)).fetchone()[0])


def test_an_expired_lease_counts_a_crash_and_the_suspect_runs_alone_after_the_others(pg_url):
    dead = ledger(pg_url, lease=1)  # never beats: a daemon that died handling `bad`
    alive = ledger(pg_url)
    dead.enqueue(f"{INBOX}/bad", str(INBOX), "metadata", 1, 1)
    assert dead.claim("metadata").path == f"{INBOX}/bad"
    for name in ("a", "b"):
        alive.enqueue(f"{INBOX}/{name}", str(INBOX), "metadata", 1, 2)
    wait_for(lambda: lease_expired(alive, f"{INBOX}/bad"), 10, what="the dead daemon's lease to expire")
    assert alive.claim("metadata").path == f"{INBOX}/a"  # the suspect waits for the files that wait
    suspect = alive.get(f"{INBOX}/bad")
    assert (suspect.status, suspect.crashes, suspect.last_error) == ("pending", 1, CRASH_NOTE)
    assert alive.claim("metadata").path == f"{INBOX}/b"
    alive.finish(f"{INBOX}/a", "done")
    assert alive.claim("metadata") is None  # b still runs: the suspect goes alone
    alive.finish(f"{INBOX}/b", "done")
    taken = alive.claim("metadata")
    assert (taken.path, taken.crashes, taken.holder) == (f"{INBOX}/bad", 1, alive.holder)
    alive.enqueue(f"{INBOX}/c", str(INBOX), "metadata", 1, 3)
    assert alive.claim("metadata") is None  # nothing starts beside it
    alive.finish(taken.path, "dead", error="edge stopped while handling this file (once)")
    assert alive.claim("metadata").path == f"{INBOX}/c"
    assert alive.requeue(("dead",), [taken.path]) == 1  # edge retry: another chance, crashes from 0
    assert (alive.get(taken.path).status, alive.get(taken.path).crashes) == ("pending", 0)
    dead.close(), alive.close()


def test_a_start_counts_a_crash_for_expired_leases_under_its_folders_only(pg_url):
    dead = ledger(pg_url, lease=1)
    elsewhere = ledger(pg_url, (Path("/srv/other"),), lease=1)
    dead.enqueue(f"{INBOX}/x", str(INBOX), "metadata", 1, 1)
    elsewhere.enqueue("/srv/other/y", "/srv/other", "metadata", 1, 1)
    dead.claim("metadata"), elsewhere.claim("metadata")
    restarted = ledger(pg_url)
    found = wait_for(lambda: restarted.requeue_crashed(), 10, what="the lease to expire")
    assert [(row.path, row.status, row.crashes) for row in found] == [(f"{INBOX}/x", "pending", 1)]
    assert restarted.requeue_crashed() == []  # once per death
    assert elsewhere.get("/srv/other/y").status == "running"  # another folder's daemon counts its own
    for one in (dead, elsewhere, restarted):
        one.close()


def test_a_ledger_at_schema_1_gains_the_crash_count(pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:  # a database an edge before issue 19 made
        conn.execute("CREATE TABLE edge_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL"
                     " DEFAULT now())")
        conn.execute(pg_schema.MIGRATIONS[0][1])
        conn.execute("INSERT INTO edge_schema (version) VALUES (1)")
        conn.execute("INSERT INTO edge_files (id, root, lane, status, updated_at) VALUES"
                     f" ('{INBOX}/old', '{INBOX}', 'metadata', 'pending', 1)")
    upgraded = ledger(pg_url)
    row = upgraded.claim("metadata")
    assert (row.path, row.crashes, row.status) == (f"{INBOX}/old", 0, "running")
    upgraded.close()

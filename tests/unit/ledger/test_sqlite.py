"""The SQLite ledger (edge/ledger/sqlite.py): one claim per path, crashes counted and suspects run alone,
moves between lanes, a ledger from an older edge."""

from __future__ import annotations

import sqlite3
import threading

from edge.ledger import Ledger
from edge.ledger.base import CRASH_NOTE


def test_a_claimed_file_moved_to_another_lane_is_claimed_there(tmp_path):
    ledger = Ledger(tmp_path / "state")
    ledger.enqueue("/in/x.txt", "/in", "first", 3, 1)
    row = ledger.claim("first")
    assert row is not None and row.status == "running"
    ledger.retry_later(row.path, 0, attempts=2, error="busy")
    row = ledger.claim("first")
    ledger.move(row.path, "second")
    assert ledger.claim("first") is None
    moved = ledger.claim("second")
    assert moved is not None and moved.path == "/in/x.txt" and moved.attempts == 2 and moved.lane == "second"
    ledger.close()


def test_ledger_never_hands_one_path_to_two_workers(tmp_path):
    ledger = Ledger(tmp_path)
    for index in range(200):
        ledger.enqueue(f"/in/{index}", "/in", "lane", 1, index)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker():
        while (row := ledger.claim("lane")) is not None:
            with lock:
                claimed.append(row.path)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(f"/in/{i}" for i in range(200))
    assert ledger.enqueue("/in/3", "/in", "lane", 1, 3) is False  # running: marked dirty, not queued twice
    assert ledger.finish("/in/3", "done") is True  # dirty reported back
    assert ledger.counts()["running"] == 199


def crashed_on(tmp_path, path: str, *others: str, lane: str = "lane") -> Ledger:
    """A ledger whose daemon died while `path` was running (never closed by its owner); `others` wait."""
    ledger = Ledger(tmp_path)
    ledger.own()
    ledger.enqueue(path, "/in", lane, 1, 1)
    assert ledger.claim(lane).path == path
    for index, other in enumerate(others):
        ledger.enqueue(other, "/in", "lane", 1, 10 + index)
    ledger._owner = None  # what kill -9 leaves: the next start sees the row still running
    ledger.close()
    return Ledger(tmp_path)


def test_ledger_counts_a_crash_for_each_file_found_running(tmp_path):
    reopened = crashed_on(tmp_path, "/in/a")
    found = reopened.requeue_crashed()
    assert [(row.path, row.status, row.crashes) for row in found] == [("/in/a", "pending", 1)]
    assert found[0].last_error == CRASH_NOTE
    assert reopened.requeue_crashed() == []  # counted once per start, not per look
    assert reopened.enqueue("/in/a", "/in", "lane", 1, 1) is True  # a rescan keeps the count
    claimed = reopened.claim("lane")
    assert (claimed.path, claimed.crashes) == ("/in/a", 1)
    reopened.close()


def test_a_suspect_runs_alone_after_the_files_that_wait(tmp_path):
    ledger = crashed_on(tmp_path, "/in/a", "/in/b", "/in/c")
    ledger.requeue_crashed()
    ledger.enqueue("/in/other-lane", "/in", "metadata", 1, 1)
    assert ledger.claim("lane").path == "/in/b"
    assert ledger.claim("lane").path == "/in/c"
    assert ledger.claim("lane") is None  # only the suspect is left, and two files run
    ledger.finish("/in/b", "done")
    assert ledger.claim("lane") is None  # c still runs
    ledger.finish("/in/c", "done")
    assert ledger.claim("metadata").path == "/in/other-lane"  # another lane's file also goes first
    assert ledger.claim("lane") is None
    ledger.finish("/in/other-lane", "done")
    suspect = ledger.claim("lane")
    assert suspect.path == "/in/a" and suspect.suspect
    ledger.enqueue("/in/d", "/in", "metadata", 1, 2)
    assert ledger.claim("metadata") is None  # nothing starts beside a suspect
    ledger.finish("/in/a", "done")
    assert ledger.claim("metadata").path == "/in/d"
    ledger.close()


def test_retry_gives_a_quarantined_file_its_crashes_back(tmp_path):
    ledger = crashed_on(tmp_path, "/in/a")
    ledger.requeue_crashed()
    assert ledger.claim("lane").crashes == 1
    ledger.finish("/in/a", "dead", error="edge stopped while handling this file (once)", attempts=1)
    assert ledger.requeue(("dead",), ["/in/a"]) == 1
    row = ledger.get("/in/a")
    assert (row.status, row.crashes, row.attempts) == ("pending", 0, 0)
    ledger.close()


def test_a_changed_file_starts_with_no_crashes(tmp_path):
    ledger = crashed_on(tmp_path, "/in/a")
    ledger.requeue_crashed()
    ledger.enqueue("/in/a", "/in", "lane", 2, 5)  # new content: not the file edge died on
    assert ledger.get("/in/a").crashes == 0
    ledger.close()


def test_a_stop_returns_files_in_flight_without_a_crash(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.own()
    ledger.enqueue("/in/a", "/in", "lane", 1, 1)
    ledger.claim("lane")
    ledger.close()  # the grace ran out: a clean stop all the same
    reopened = Ledger(tmp_path)
    assert reopened.requeue_crashed() == []
    row = reopened.get("/in/a")
    assert (row.status, row.crashes) == ("pending", 0)
    reopened.close()


def test_a_ledger_from_before_crash_quarantine_gains_the_column(tmp_path):
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO files (path, root, lane, status, updated_at) VALUES ('/in/a', '/in', 'lane',"
                   " 'running', 1)")
    db.close()
    ledger = Ledger(tmp_path)
    assert [(row.path, row.crashes) for row in ledger.requeue_crashed()] == [("/in/a", 1)]
    ledger.close()
    assert Ledger(tmp_path).get("/in/a").crashes == 1  # opened again: the column is there, nothing added twice


OLD_SCHEMA = """
CREATE TABLE files (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, lane TEXT NOT NULL DEFAULT '', sha256 TEXT, size INTEGER,
    mtime_ns INTEGER, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0, last_error TEXT, timings TEXT, updated_at REAL NOT NULL
);
CREATE INDEX files_due ON files(status, lane, next_at);
"""


def test_a_query_another_thread_has_not_read_yet_never_fails_a_commit(tmp_path):
    """The daemon's scan thread died of "cannot commit transaction - SQL statements in progress" when a
    lane's claim (UPDATE ... RETURNING) had run but not yet been read on the shared connection."""
    ledger = Ledger(tmp_path)
    ledger.enqueue("/in/a.txt", "/in", "lane", 1, 1)
    # a lane thread between running its claim and reading it
    claimed = ledger._exec("UPDATE files SET status = 'running' WHERE path = ? RETURNING *", ("/in/a.txt",))
    ledger.record_answered([("/in/b.txt", "/in", 2, 2, "0" * 64, "done", None, 0)])
    assert [row.path for row in claimed.fetchall()] == ["/in/a.txt"]
    assert ledger.get("/in/b.txt").status == "done"
    ledger.close()

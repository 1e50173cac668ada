"""The SQLite ledger (edge/ledger/sqlite.py): one claim per path, requeue after a crash, moves between lanes."""

from __future__ import annotations

import threading

from edge.ledger import Ledger


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


def test_ledger_requeues_running_after_crash(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.enqueue("/in/a", "/in", "lane", 1, 1)
    assert ledger.claim("lane").path == "/in/a"
    ledger.close()
    reopened = Ledger(tmp_path)
    assert reopened.requeue_running() == 1
    assert reopened.claim("lane").path == "/in/a"

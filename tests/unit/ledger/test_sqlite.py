"""The SQLite ledger: a file moved to another lane is pending there at once, its attempts kept."""

from __future__ import annotations

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

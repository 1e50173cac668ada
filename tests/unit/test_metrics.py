"""The daemon's counters (edge/metrics.py): the snapshot `edge status` shows, and loopback-only serving.

Scraping the endpoint while `edge watch` runs is in tests/e2e/daemon/test_metrics.py.
"""

from __future__ import annotations

import pytest

from edge.errors import ConfigError
from edge.metrics import Metrics


def test_snapshot_carries_the_same_figures():
    metrics = Metrics()
    metrics.job_finished("documents", "ocr", "done", {"prepare": 40, "inference": 1000, "total": 1100, "load": 2500},
                         model="ocr-small")
    metrics.job_finished("documents", "ocr", "failed", {"total": 5, "load": 0})  # already loaded: no load
    metrics.gpu_memory(3072)
    metrics.queue.set(4)
    snap = metrics.snapshot()
    assert snap["files"] == {"documents/ocr/done": 1, "documents/ocr/failed": 1}
    assert snap["queue_depth"] == 4 and snap["gpu_memory_mb"] == 3072
    assert snap["model_loads"] == {"ocr-small": 1} and snap["model_load_seconds"]["ocr-small"] == pytest.approx(2.5)
    assert snap["stage_seconds"]["total"] == pytest.approx(1.105)


@pytest.mark.parametrize("address", ["0.0.0.0:9464", "192.168.1.5:9464", "[::]:9464", "127.0.0.1:http"])
def test_serve_refuses_non_loopback_or_bad_addresses(address):
    with pytest.raises(ConfigError):
        Metrics().serve(address)

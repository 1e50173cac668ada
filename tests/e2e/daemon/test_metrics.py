"""The Prometheus endpoint: scraped over HTTP while `edge watch` runs; loopback only."""

from __future__ import annotations

import json
import re
import urllib.request

import psutil
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import edge_env, run_edge, start_edge, wait_for, write_config
from tests.helpers.service import SERVICE_EDGE, read_available, stop


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def files_done(samples: dict) -> float:
    return sum(v for (name, labels), v in samples.items() if name == "edge_files_total" and ("status", "done") in labels)


def stage_count(samples: dict, stage: str) -> float:
    return samples.get(("edge_stage_seconds_count", (("stage", stage),)), 0.0)


class Output:
    """Everything the daemon printed so far."""

    def __init__(self, proc):
        self.proc, self.text = proc, ""

    def find(self, pattern: str):
        self.text += read_available(self.proc)
        return re.search(pattern, self.text)


def test_counters_move_during_a_run_and_only_loopback_listens(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml", 'metrics = "127.0.0.1:0"\n', edge=SERVICE_EDGE)
    # WATCHDOG_USEC only makes the main loop (and its metrics.json snapshot) turn every 0.2 s
    proc = start_edge("watch", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "state"),
                      env=edge_env(WATCHDOG_USEC="400000"))
    output = Output(proc)
    try:
        found = wait_for(lambda: output.find(r"event=metrics_listening address=([\d.]+):(\d+)"), 60,
                         what="the metrics endpoint's address in the log")
        host, port = found.group(1), int(found.group(2))
        assert host == "127.0.0.1"
        before = scrape(port)
        assert files_done(before) == 0
        for index in range(3):
            (inbox / f"note{index}.txt").write_text(f"note {index}")
        wait_for(lambda: files_done(scrape(port)) == 3, 60, what="edge_files_total{status=done} to reach 3")
        after = scrape(port)
        assert stage_count(after, "total") - stage_count(before, "total") == 3
        assert ("edge_queue_depth", ()) in after and ("edge_gpu_memory_mb", ()) in after
        wait_for(lambda: _status_files_done(tmp_path / "state") == 3, 30,
                 what="edge status --json to show the daemon's 3 files, as /metrics does")
        listening = [c.laddr for c in psutil.Process(proc.pid).net_connections("inet") if c.status == psutil.CONN_LISTEN]
        assert listening and all(addr.ip in ("127.0.0.1", "::1") for addr in listening), listening
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out


def _status_files_done(state) -> float:
    result = run_edge("status", "--json", "--state-dir", str(state), timeout=60)
    metrics = json.loads(result.stdout)["metrics"] or {}
    return sum(v for key, v in metrics.get("files", {}).items() if key.endswith("/done"))


def test_a_non_loopback_address_is_refused_at_start(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml", 'metrics = "0.0.0.0:9464"\n', edge=SERVICE_EDGE)
    proc = start_edge("watch", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    assert "loopback only" in out

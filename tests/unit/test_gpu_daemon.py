"""The GPU scheduler wired into the daemon's lanes, on a simulated device.

A real daemon in-process (real inotify, ledger, lanes) with two models that
declare vram_mb; only the GPU is simulated (DeclaredDevice) because the test
machines have none.
"""

from __future__ import annotations

import pytest

from edge.configure import parse_config
from edge.daemon import Daemon
from edge.gpu import DeclaredDevice, Scheduler
from tests.helpers import validate_sidecar, wait_for
from tests.helpers.gpu_probes import LeaseProbe

PROBE = "tests.helpers.gpu_probes:LeaseProbe"


def daemon_for(tmp_path, budget_mb: int) -> tuple[Daemon, object]:
    inbox = tmp_path / "inbox"
    for sub in ("audio", "images"):
        (inbox / sub).mkdir(parents=True)
    config = parse_config({
        "edge": {"settle": 0.1, "rescan": 0, "grace": 5, "backoff_base": 0.1},
        "models": {"asr": {"engine": PROBE, "vram_mb": 3000}, "vision": {"engine": PROBE, "vram_mb": 11600}},
        "routes": [{"match": ["audio/**"], "task": "metadata", "model": "asr"},
                   {"match": ["images/**"], "task": "metadata", "model": "vision"}],
    })
    daemon = Daemon(config, [inbox], tmp_path / "state")
    daemon.gpu = Scheduler(DeclaredDevice(budget_mb + 1000), reserve_mb=1000, metrics=daemon.metrics)
    return daemon, inbox


@pytest.fixture
def run_daemon():
    started = []

    def start(daemon: Daemon) -> Daemon:
        LeaseProbe.reset()
        daemon._start()
        started.append(daemon)
        return daemon

    yield start
    LeaseProbe.gate.set()
    for daemon in started:
        daemon.stop()
        daemon._shutdown()


def test_audio_and_image_models_that_fit_run_together(tmp_path, run_daemon):
    daemon, inbox = daemon_for(tmp_path, budget_mb=15000)
    run_daemon(daemon)
    (inbox / "audio" / "hold-a.txt").write_text("audio")
    (inbox / "images" / "hold-b.txt").write_text("image")
    wait_for(lambda: LeaseProbe.inside == {"asr", "vision"}, 30, what="both models inside their engines at once")
    assert daemon.gpu.resident() == {"asr": 3000, "vision": 11600}
    assert daemon.metrics.snapshot()["gpu_memory_mb"] == 14600
    LeaseProbe.gate.set()
    for name in ("audio/hold-a.txt", "images/hold-b.txt"):
        wait_for(lambda name=name: (inbox / f"{name}.json").exists(), 30, what=f"sidecar of {name}")
        assert validate_sidecar(inbox / f"{name}.json")["status"] == "ok"
    assert {device for _, _, device, _ in LeaseProbe.seen} == {"cuda"}


def test_models_that_do_not_fit_take_turns(tmp_path, run_daemon):
    daemon, inbox = daemon_for(tmp_path, budget_mb=12000)
    run_daemon(daemon)
    (inbox / "images" / "hold-b.txt").write_text("image")
    wait_for(lambda: LeaseProbe.inside == {"vision"}, 30, what="vision inside its engine")
    (inbox / "audio" / "a.txt").write_text("audio")
    wait_for(lambda: daemon.gpu.waiting() == 1, 30, what="the audio job waiting for VRAM")
    assert not any(model == "asr" for model, *_ in LeaseProbe.seen)
    LeaseProbe.gate.set()
    wait_for(lambda: (inbox / "audio" / "a.txt.json").exists(), 30, what="the audio sidecar after the image job")
    assert LeaseProbe.evicted == ["vision"]  # idle after its job, least recently used: evicted for asr
    assert daemon.gpu.resident() == {"asr": 3000}


def test_out_of_memory_in_the_daemon_is_retried_reduced(tmp_path, run_daemon):
    daemon, inbox = daemon_for(tmp_path, budget_mb=15000)
    run_daemon(daemon)
    (inbox / "audio" / "warm.txt").write_text("load asr first")
    wait_for(lambda: (inbox / "audio" / "warm.txt.json").exists(), 30, what="asr resident")
    (inbox / "images" / "oom-page.txt").write_text("too big at first")
    wait_for(lambda: (inbox / "images" / "oom-page.txt.json").exists(), 30, what="the OOM file's sidecar")
    tries = [(device, reduced) for model, name, device, reduced in LeaseProbe.seen if name == "oom-page.txt"]
    assert tries == [("cuda", False), ("cuda", True)]
    assert LeaseProbe.evicted == ["asr"]  # the idle model made room for the retry
    assert validate_sidecar(inbox / "images" / "oom-page.txt.json")["status"] == "ok"


def test_reload_stops_counting_the_old_engines(tmp_path, run_daemon):
    daemon, inbox = daemon_for(tmp_path, budget_mb=15000)
    config_file = tmp_path / "models.toml"
    config_file.write_text(f"""
[edge]
settle = 0.1
rescan = 0

[models.asr]
engine = "{PROBE}"
vram_mb = 3000

[[routes]]
match = ["audio/**"]
task = "metadata"
model = "asr"
""")
    daemon.config_path = config_file
    run_daemon(daemon)
    (inbox / "audio" / "a.txt").write_text("audio")
    wait_for(lambda: (inbox / "audio" / "a.txt.json").exists(), 30, what="asr resident")
    assert daemon.gpu.resident() == {"asr": 3000}
    daemon.reload()
    assert daemon.gpu.resident() == {} and LeaseProbe.evicted == ["asr"]


def test_a_model_bigger_than_the_budget_pauses_its_files(tmp_path, run_daemon):
    daemon, inbox = daemon_for(tmp_path, budget_mb=10000)  # vision declares 11600, fallback "wait"
    run_daemon(daemon)
    (inbox / "images" / "b.txt").write_text("image")
    row = wait_for(lambda: (r := daemon.ledger.get(str(inbox / "images" / "b.txt"))) and r.last_error and r,
                   30, what="the image file paused with the scheduler's reason")
    assert row.status == "pending" and row.attempts == 0 and "GPU budget is 10000 MB" in row.last_error
    assert daemon.healthy()
    assert not (inbox / "images" / "b.txt.error.json").exists()

"""Acceptance 3, 4, 5, 7, 8, 9 of the daemon core: bursts, restarts, crashes, outages, shutdown, config."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from edge import sidecar
from tests.helpers import error_of, run_edge, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers.daemon import DaemonProcess, mtimes, status_json

FLAKY = "tests.helpers.flaky_engine:FlakyEngine"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def drop(inbox: Path, count: int, prefix: str = "f") -> list[Path]:
    files = []
    for index in range(count):
        path = inbox / f"{prefix}{index:05d}.txt"
        path.write_text(f"file number {index}\n")
        files.append(path)
    return files


def flaky_config(tmp_path: Path, **options: object) -> Path:
    extra = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in options.items())
    return write_config(tmp_path / "models.toml",
                        f'max_attempts = 2\n[models.flaky]\nengine = "{FLAKY}"\n{extra}'
                        '[[routes]]\nname = "all"\ntask = "metadata"\nmodel = "flaky"\n')


def start(inbox: Path, config: Path, tmp_path: Path, *extra: str) -> DaemonProcess:
    return DaemonProcess(inbox, config, tmp_path / "state", *extra).wait_ready()


def all_answered(files: list[Path]) -> bool:
    return all(sidecar_of(path).exists() for path in files)


def test_burst_of_2000_files_all_valid(inbox, tmp_path):
    proc = start(inbox, write_config(tmp_path / "models.toml"), tmp_path)
    files = drop(inbox, 2000)
    wait_for(lambda: all_answered(files), 300, interval=0.2, what="2000 sidecars")
    assert proc.terminate() == 0
    for path in files:
        doc = validate_sidecar(sidecar_of(path))
        assert doc["source"]["name"] == path.name and doc["status"] == "ok"
    assert len(list(inbox.glob("*.json"))) == 2000
    assert status_json(tmp_path / "state")["counts"]["done"] == 2000


def test_restart_without_ledger_processes_nothing_again(inbox, tmp_path):
    config = write_config(tmp_path / "models.toml")
    files = drop(inbox, 50)
    proc = start(inbox, config, tmp_path)
    wait_for(lambda: all_answered(files), 60, what="first pass")
    assert proc.terminate() == 0
    before = mtimes([sidecar_of(p) for p in files])
    for leftover in (tmp_path / "state").iterdir():
        leftover.unlink()

    changed = files[7]
    changed.write_text("new content for this one\n")
    proc = start(inbox, config, tmp_path)
    wait_for(lambda: sidecar.read(sidecar_of(changed))["source"]["size"] == changed.stat().st_size, 60,
             what="changed file processed again")
    assert proc.terminate() == 0
    after = mtimes([sidecar_of(p) for p in files])
    assert [p for p in files if after[sidecar_of(p)] != before[sidecar_of(p)]] == [changed]
    assert proc.count("event=done ") == 1, proc.log()


def test_kill_9_then_restart_leaves_exactly_one_valid_sidecar_each(inbox, tmp_path):
    config = flaky_config(tmp_path, delay=0.01)
    files = drop(inbox, 500)
    proc = start(inbox, config, tmp_path)
    wait_for(lambda: sum(sidecar_of(p).exists() for p in files) >= 100, 120, what="processing under way")
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.kill()
    assert any(not sidecar_of(p).exists() for p in files), "the kill came too late to test anything"

    proc = start(inbox, config, tmp_path)
    wait_for(lambda: all_answered(files), 180, interval=0.2, what="all 500 after restart")
    assert proc.terminate() == 0
    for path in files:
        validate_sidecar(sidecar_of(path))  # parses: not truncated
    assert not list(inbox.glob(f"**/{sidecar.TEMP_PREFIX}*")), "temp files left behind"
    assert not list(inbox.glob("*.error.json"))
    assert len(list(inbox.glob("*.txt.json"))) == 500


def test_engine_down_for_a_while_spends_no_attempts(inbox, tmp_path):
    down = tmp_path / "engine-down"
    down.touch()
    proc = start(inbox, flaky_config(tmp_path, down_while=str(down)), tmp_path)
    files = drop(inbox, 20)
    # max_attempts is 2: if waiting spent attempts, files would be dead by now.
    wait_for(lambda: proc.count("event=engine_unavailable") >= 4, 60, what="several failed probes")
    assert status_json(tmp_path / "state")["counts"]["dead"] == 0
    down.unlink()
    wait_for(lambda: all_answered(files), 120, what="all files after recovery")
    assert proc.terminate() == 0
    counts = status_json(tmp_path / "state")["counts"]
    assert counts["done"] == 20 and counts["failed"] == 0 and counts["dead"] == 0
    assert not any(error_of(p).exists() for p in files)
    assert all(validate_sidecar(sidecar_of(p))["status"] == "ok" for p in files)


def test_sigterm_exits_0_within_grace_and_next_start_finishes(inbox, tmp_path):
    config = flaky_config(tmp_path, delay=0.2)
    files = drop(inbox, 40)
    proc = start(inbox, config, tmp_path, "--grace", "5")
    wait_for(lambda: sum(sidecar_of(p).exists() for p in files) >= 3, 60, what="a few files done")
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(timeout=5 + 10) == 0
    proc.terminate()
    assert "event=stopped" in proc.log()
    unfinished = [p for p in files if not sidecar_of(p).exists()]
    assert unfinished, "everything finished before SIGTERM: nothing was tested"

    proc = start(inbox, config, tmp_path)
    wait_for(lambda: all_answered(files), 120, what="the rest after restart")
    assert proc.terminate() == 0
    assert all(validate_sidecar(sidecar_of(p))["status"] == "ok" for p in files)


def test_invalid_config_names_the_key(tmp_path, inbox):
    bad = tmp_path / "bad.toml"
    bad.write_text('[edge]\nsettle = 1.0\nsetle = 2\n[models.v]\nengine = "metadata"\n')
    result = run_edge("watch", str(inbox), "--config", str(bad), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "edge.setle: unknown key" in result.stderr and str(bad) in result.stderr

    bad.write_text('[models.v]\nengine = "nope"\n')
    result = run_edge("process", str(inbox), "--config", str(bad))
    assert result.returncode == 2 and "models.v.engine" in result.stderr and "metadata" in result.stderr

    bad.write_text('[edge]\nsettle = -1\n')
    result = run_edge("process", str(inbox), "--config", str(bad))
    assert result.returncode == 2 and "edge.settle" in result.stderr


def test_sighup_keeps_old_config_when_new_one_is_invalid(inbox, tmp_path):
    config = write_config(tmp_path / "models.toml")
    proc = start(inbox, config, tmp_path)
    config.write_text("[edge]\nbogus_key = 1\n")
    proc.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: proc.count("event=reload_rejected"), 30, what="reload rejected")
    assert "edge.bogus_key: unknown key" in proc.log()
    dropped = inbox / "after-reload.txt"
    dropped.write_text("still working")
    validate_sidecar(wait_for(lambda: sidecar_of(dropped).exists() and sidecar_of(dropped), 30))
    assert proc.terminate() == 0

"""`edge retry`, `edge status`, `after = "move:DIR"`, and the log formats."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT, edge_env, run_edge, validate_sidecar, write_config
from tests.helpers.daemon import DaemonProcess, status_json


def test_retry_failed_requeues_and_drops_the_error_sidecar(tmp_path):
    bad = tmp_path / "in" / "bad.png"
    bad.parent.mkdir()
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    config = tmp_path / "models.toml"
    config.write_text("")
    state = tmp_path / "state"
    result = run_edge("process", str(bad.parent), "--config", str(config), "--state-dir", str(state))
    assert result.returncode == 1 and (bad.parent / "bad.png.error.json").exists()
    assert status_json(state)["counts"]["failed"] == 1
    human = run_edge("status", "--state-dir", str(state))
    assert "failed" in human.stdout and "bad.png" in human.stdout

    retried = run_edge("retry", str(bad), "--state-dir", str(state))
    assert retried.returncode == 0 and "1 file(s) queued again" in retried.stdout
    assert not (bad.parent / "bad.png.error.json").exists()
    assert status_json(state)["counts"]["pending"] == 1
    assert run_edge("retry", "--failed", "--state-dir", str(state)).returncode == 0
    assert run_edge("retry", "--state-dir", str(state)).returncode == 2  # neither PATH nor --failed


def test_after_move_keeps_file_and_sidecar_together(tmp_path):
    inbox, done = tmp_path / "in", tmp_path / "done"
    (inbox / "sub").mkdir(parents=True)
    source = inbox / "sub" / "a.txt"
    source.write_text("move me")
    config = tmp_path / "models.toml"
    config.write_text(f'[edge]\nafter = "move:{done}"\n')
    assert run_edge("process", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "s")).returncode == 0
    assert not source.exists()
    assert (done / "sub" / "a.txt").read_text() == "move me"
    assert validate_sidecar(done / "sub" / "a.txt.json")["source"]["name"] == "a.txt"


def test_log_lines_key_value_json_and_journald(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml")
    daemon = DaemonProcess(inbox, config, tmp_path / "s1", "--log-json").wait_ready()
    assert daemon.terminate() == 0
    records = [json.loads(line) for line in daemon.lines]
    assert any(r["msg"].startswith("event=ready") for r in records) and all("ts" in r for r in records)

    env = edge_env(JOURNAL_STREAM="8:12345", PYTHONPATH=str(ROOT))
    daemon = DaemonProcess(inbox, config, tmp_path / "s2", env=env).wait_ready()
    assert daemon.terminate() == 0
    ready = next(line for line in daemon.lines if "event=ready" in line)
    assert ready.startswith("level=INFO logger=edge.daemon event=ready")  # no timestamp: journald adds one


def test_watch_without_folders_says_how(tmp_path):
    config = tmp_path / "models.toml"
    config.write_text("")
    result = subprocess.run([sys.executable, "-m", "edge", "watch", "--config", str(config)],
                            capture_output=True, text=True, env=edge_env(), timeout=60)
    assert result.returncode == 2 and "give DIR arguments" in result.stderr


def test_second_daemon_on_the_same_state_dir_is_refused(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml")
    first = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    second = subprocess.run([sys.executable, "-m", "edge", "watch", str(inbox), "--config", str(config),
                             "--state-dir", str(tmp_path / "state")], capture_output=True, text=True,
                            env=edge_env(), timeout=60, cwd=ROOT)
    assert second.returncode == 2
    assert f"another edge watch (pid {first.proc.pid})" in second.stderr
    assert first.terminate() == 0


def test_review_dir_inside_the_inbox_is_refused(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml")
    config.write_text(config.read_text() + f'review_dir = "{inbox / "review"}"\n')
    result = subprocess.run([sys.executable, "-m", "edge", "watch", str(inbox), "--config", str(config),
                             "--state-dir", str(tmp_path / "state")], capture_output=True, text=True,
                            env=edge_env(), timeout=60, cwd=ROOT)
    assert result.returncode == 2 and "is inside the watched folder" in result.stderr

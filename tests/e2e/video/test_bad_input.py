"""Bad videos get clear outcomes, and the daemon keeps going (acceptance 7 of issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import arrive, error_of, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers import audio as ah
from tests.helpers import video as vh
from tests.helpers.daemon import DaemonProcess

pytestmark = pytest.mark.skipif(ah.have_tools() is not None, reason=str(ah.have_tools()))

ROUTE = """
[models.ocr]
engine = "ocr"

[models.asr]
engine = "faster-whisper"
model = "embedded:tiny.en"

[[routes]]
name = "video"
media = ["video"]
task = "describe"
tiers = ["ocr"]
options = {frames = {mode = "uniform", max = 2}, transcribe = true}

[[routes]]
name = "audio"
media = ["audio"]
task = "transcribe"
model = "asr"
"""


def scrambled(data: bytes) -> bytes:
    """The mp4's boxes intact, the picture data inside `mdat` overwritten."""
    start = data.find(b"mdat") + 4
    junk = bytes((i * 37 + 11) % 256 for i in range(len(data)))
    return data[:start] + junk[start:start + len(data) // 2] + data[start + len(data) // 2:]


def bad_videos(tmp: Path, speech) -> dict[str, bytes]:
    good = vh.write(tmp / "good.mp4", vh.Clip(4, size=(160, 90), cuts=[2.0])).read_bytes()
    mkv = vh.write(tmp / "good.mkv", vh.Clip(20, size=(160, 90), cuts=[10.0])).read_bytes()
    return {
        "truncated.mp4": good[: len(good) // 2],  # the index (moov) is at the end: cut off
        "scrambled.mp4": scrambled(good),
        "zero-frames.mkv": vh.write_empty_video(tmp / "empty.mkv").read_bytes(),
        "huge.avi": vh.write_huge_avi(tmp / "huge.avi", 16000, 16000).read_bytes(),
        "cut-short.mkv": mkv[: len(mkv) // 3],  # headers first: the first seconds still play
        "voice-memo.mp4": vh.write_audio_only_mp4(tmp / "voice.mp4", speech).read_bytes(),
    }


def test_bad_videos_get_clear_outcomes_and_the_daemon_keeps_going(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_config(tmp_path / "models.toml", ROUTE)
    speech = ah.speech_samples(ah.SENTENCES[1], tmp_path)
    daemon = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    try:
        files = [arrive(inbox, name, data) for name, data in bad_videos(tmp_path, speech).items()]
        wait_for(lambda: all(sidecar_of(p).exists() or error_of(p).exists() for p in files), 180,
                 what="an outcome for every bad video")
        assert daemon.proc.poll() is None, daemon.log()
        good = arrive(inbox, "after.mp4", vh.write(tmp_path / "after.mp4", vh.Clip(2)).read_bytes())
        wait_for(lambda: sidecar_of(good).exists(), 120, what="the next good video's sidecar")
        assert daemon.proc.poll() is None, daemon.log()
    finally:
        code = daemon.terminate()
    outcomes = {p.name: validate_sidecar(error_of(p) if error_of(p).exists() else sidecar_of(p)) for p in files}
    for name, doc in outcomes.items():
        print(f"\n{name}: {doc['status']} {doc.get('error') or doc['review']['reasons']}")
    errors = {name: doc["error"] for name, doc in outcomes.items() if doc["status"] == "failed"}
    assert set(errors) == {"truncated.mp4", "scrambled.mp4", "huge.avi"}
    assert all(error["message"] and not error["transient"] for error in errors.values())
    assert errors["huge.avi"]["code"] == "too_large" and "16000x16000" in errors["huge.avi"]["message"]
    assert errors["truncated.mp4"]["code"] == "corrupt"
    assert errors["scrambled.mp4"]["code"] in ("no_frames", "corrupt")
    empty = outcomes["zero-frames.mkv"]["result"]  # a picture stream with no frame: its (silent) soundtrack only
    assert empty["timeline"] == [] and empty["sampling"]["notes"][0]["code"] == "no_frames"
    memo = outcomes["voice-memo.mp4"]  # no picture: audio, whatever the name says (issue 21)
    assert memo["task"]["route"] == "audio" and ah.wer(ah.SENTENCES[1], memo["result"]["text"]) <= 0.2
    short = outcomes["cut-short.mkv"]
    assert short["status"] == "ok" and short["review"]["needs_review"]
    assert {reason["code"] for reason in short["review"]["reasons"]} & {"ended_early", "decode_errors"}
    assert validate_sidecar(sidecar_of(good))["status"] == "ok"
    assert code == 0

"""Acceptance 6: a ten-minute recording completes with bounded memory (peak RSS printed).

The runs happen inside a network namespace with no route out where the machine allows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, edge_env, validate_sidecar, write_config
from tests.helpers import audio as h

pytestmark = [pytest.mark.usefixtures("no_network"),
              pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))]

WINDOW_S = 60


def asr_config(path: Path, window: float) -> Path:
    """Only the embedded tiny.en and one transcribe route cut in `window`-second windows (no [edge] table)."""
    return write_config(path, '[models.asr]\nengine = "faster-whisper"\nmodel = "embedded:tiny.en"\n\n'
                        '[[routes]]\nmedia = ["audio", "video"]\ntask = "transcribe"\nmodel = "asr"\n'
                        f'options = {{window = {window}}}\n', edge={})


# `edge` run so that it reports its own peak RSS: VmHWM belongs to this process image only
# (ru_maxrss would also count the pages a forked child inherited from the big test process).
PEAK_REPORTING_EDGE = """
import atexit, os, runpy, sys
def report():
    with open("/proc/self/status") as status:
        peak_kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["EDGE_TEST_PEAK_FILE"], "w") as out:
        out.write(peak_kib)
atexit.register(report)
sys.argv = ["edge", *sys.argv[1:]]
runpy.run_module("edge", run_name="__main__")
"""


def run_edge_measured(path: Path, config: Path, state: Path) -> tuple[dict, int]:
    """`edge process --stdout` in a child process: its sidecar and its peak RSS in MiB."""
    peak_file = state.with_suffix(".peak")
    env = edge_env(EDGE_TEST_PEAK_FILE=str(peak_file), PYTHONPATH=str(ROOT))
    run = subprocess.run([*h.offline_prefix(), sys.executable, "-c", PEAK_REPORTING_EDGE, "process", str(path),
                          "--config", str(config), "--state-dir", str(state), "--stdout"],
                         capture_output=True, text=True, timeout=400, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    doc = validate_sidecar(json.loads(run.stdout.strip().splitlines()[-1]))
    return doc, int(peak_file.read_text()) // 1024


def test_ten_minutes_of_speech_complete_with_memory_bounded_by_the_window(tmp_path):
    sentences = [h.speech_samples(text, tmp_path) for text in h.SENTENCES]
    block = h.join(sentences, gap_s=0.8)
    repeats = int(600 // (len(block) / h.RATE)) + 1
    long = h.write_audio(tmp_path / "meeting.mp3", h.join([block] * repeats, gap_s=0.5))
    short = h.write_audio(tmp_path / "excerpt.mp3", h.join([block] * 7, gap_s=0.5))  # three windows
    config = asr_config(tmp_path / "models.toml", WINDOW_S)

    short_doc, short_peak = run_edge_measured(short, config, tmp_path / "state-short")
    long_doc, long_peak = run_edge_measured(long, config, tmp_path / "state-long")

    duration = long_doc["result"]["duration"]
    print(f"\n{duration:.0f} s of audio: peak RSS {long_peak} MiB "
          f"(a {short_doc['result']['duration']:.0f} s excerpt: {short_peak} MiB; window {WINDOW_S} s); "
          f"inference {long_doc['timings_ms']['inference'] / 1000:.1f} s")
    assert duration >= 600
    error = h.wer(" ".join(h.SENTENCES * repeats), long_doc["result"]["text"])
    print(f"WER over the ten minutes: {error:.3f}")
    assert error <= 0.15
    segments = long_doc["result"]["segments"]
    assert segments[-1]["end"] > duration - 30 and segments[-1]["end"] <= duration  # heard to the end
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    # Bounded: over three times the audio (and windows) of the excerpt, yet (nearly) the same peak memory.
    assert long_peak < short_peak + 150  # one 619 s window instead peaks about 500 MiB higher

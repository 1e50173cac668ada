"""Acceptance 3 of video sampling: memory and time follow the frames taken, not the duration.

A 1-hour video (64x48 px, 4 fps) is written, then sampled in a child process that
reports its own peak memory. Frame sampling on short clips is in tests/unit/media/test_video.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.media import video
from tests.helpers import ROOT
from tests.helpers import video as vh

HOUR_FPS, HOUR_GOP = 4, 120  # an I-frame every 30 s


@pytest.fixture(scope="module")
def hour(tmp_path_factory) -> Path:
    started = time.perf_counter()
    path = vh.write(tmp_path_factory.mktemp("hour") / "hour.mp4",
                    vh.Clip(3600, fps=HOUR_FPS, size=(64, 48), gop=HOUR_GOP, cuts=[900, 1800, 2700]))
    print(f"\nwrote a 1-hour video ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return path


_MEASURE = """
import json, sys, time
from pathlib import Path
from edge.media import video
report = video.Report("uniform")
started = time.perf_counter()
frames = [f.t for f in video.sample(Path(sys.argv[1]), video.Sampling("uniform", int(sys.argv[2])), 1120, report)]
elapsed = time.perf_counter() - started
# VmHWM is this process's own peak; ru_maxrss would carry the parent's (pytest's) over fork and exec
peak = int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"frames": frames, "seconds": elapsed, "peak_mb": peak, "decoded": report.decoded}))
"""


def measure(path: Path, count: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(count)], capture_output=True, text=True,
                         check=True, cwd=ROOT, timeout=300)
    return json.loads(out.stdout)


def test_an_hour_is_sampled_in_frames_not_hours(hour):
    few, many = measure(hour, 4), measure(hour, 16)
    started = time.perf_counter()
    with video.open_container(hour) as container:
        total = sum(1 for _ in container.decode(video=0))
    full = time.perf_counter() - started
    print(f"\n1-hour video ({total} frames): 4 frames {few['seconds']:.2f} s ({few['decoded']} decoded, "
          f"peak RSS {few['peak_mb']:.0f} MB); 16 frames {many['seconds']:.2f} s ({many['decoded']} decoded, "
          f"peak RSS {many['peak_mb']:.0f} MB); full decode {full:.2f} s")
    assert total == 3600 * HOUR_FPS
    assert len(few["frames"]) == 4 and len(many["frames"]) == 16
    assert many["peak_mb"] < 300 and few["peak_mb"] < 300
    # the work is at most one GOP per frame taken, whatever the duration
    assert few["decoded"] <= 4 * (HOUR_GOP + 1) and many["decoded"] <= 16 * (HOUR_GOP + 1)
    assert many["decoded"] < total / 5

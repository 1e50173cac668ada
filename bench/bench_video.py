"""Video benchmark (issue 12): sampling frames against decoding the whole stream.

Generates a 10-minute 1080p H.264 clip (25 fps, x264 defaults: a keyframe at
most every 250 frames, a hard cut and a new sign every minute, a spoken
sentence every 20 s) and prints, measured in the same run:
- a full decode of the video stream (every frame, threaded), the raw cost;
- sampling 16 frames uniformly and at scene changes, and the ratio of each
  against the full decode (target: uniform >= 20x faster);
- preparation ms per frame (the image path: RGB, 1120 px canvas, JPEG);
- end-to-end seconds for the video on the CPU path (`edge process` pipeline:
  RapidOCR on 16 frames plus Whisper tiny.en on the soundtrack).
Run: .venv/bin/python bench/bench_video.py [--seconds 600] [--skip-e2e]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from edge.media import image as image_media  # noqa: E402
from edge.media import video  # noqa: E402
from tests.helpers import audio as ah  # noqa: E402
from tests.helpers import video as vh  # noqa: E402

SIGNS = ["GATE 7 OPEN", "PUMP HOUSE B", "EXIT NORTH", "VALVE 12 CLOSED", "LOADING BAY 3", "FIRE DOOR KEEP SHUT",
         "TANK 4 EMPTY", "SUBSTATION C", "NO ENTRY", "MEETING POINT A"]


def make_clip(folder: Path, seconds: int, gop: int | None) -> Path:
    path = folder / f"site_{seconds}s_1080p_textured_gop{gop or 'default'}.mp4"
    if path.exists():
        return path
    minutes = range(0, seconds, 60)
    spoken = [ah.speech_samples(ah.SENTENCES[i % len(ah.SENTENCES)], folder) for i in range(6)]
    track = np.zeros(seconds * ah.RATE, np.int16)
    for index, start in enumerate(range(2, seconds - 5, 20)):
        part = spoken[index % len(spoken)][: (seconds - start) * ah.RATE]
        track[start * ah.RATE:start * ah.RATE + len(part)] = part
    clip = vh.Clip(seconds, fps=25, size=(1920, 1080), cuts=[float(m) for m in minutes[1:]],
                   texts=[(float(m), float(m + 60), SIGNS[i % len(SIGNS)]) for i, m in enumerate(minutes)],
                   speech=track, texture=True, gop=gop)
    started = time.perf_counter()
    vh.write(path, clip)
    print(f"generated {path.name}: {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s")
    return path


def full_decode(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with video.open_container(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        count = sum(1 for _ in container.decode(stream))
    return time.perf_counter() - started, count


def sampled(path: Path, mode: str, count: int = 16, snap: float = 0.0,
            scan: str = "full") -> tuple[float, list[video.Frame], video.Report]:
    report = video.Report(mode)
    started = time.perf_counter()
    sampling = video.Sampling(mode=mode, max=count, snap=snap, scene_scan=scan)
    frames = list(video.sample(path, sampling, image_media.DEFAULT_CANVAS, report))
    return time.perf_counter() - started, frames, report


def prepare_ms(frames: list[video.Frame]) -> float:
    started = time.perf_counter()
    for index, frame in enumerate(frames):
        image_media.prepare_frame(frame.image, image_media.DEFAULT_CANVAS, index=index)
    return (time.perf_counter() - started) * 1000 / len(frames)


def end_to_end(path: Path) -> tuple[float, dict]:
    from edge.configure import parse_config

    config = parse_config({"models": {"ocr": {"engine": "ocr"}, "asr": {"engine": "faster-whisper",
                                                                        "model": "embedded:tiny.en"}},
                           "routes": [{"media": ["video"], "task": "describe", "tiers": ["ocr"], "options": {
                               "frames": {"mode": "uniform", "max": 16}, "transcribe": True}}]})
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        os.link(path, copy)
        started = time.perf_counter()
        doc, _ = ah.process(copy, config)
    return time.perf_counter() - started, doc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "edge-bench-video")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--gop", type=int, default=None, help="keyframe interval in frames (default: x264's 250)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}")
    path = make_clip(args.cache, args.seconds, args.gop)
    gop_s = (args.gop or 250) / 25
    full_s, total = full_decode(path)
    print(f"full decode: {total} frames in {full_s:.2f} s ({total / full_s:.0f} frames/s)")
    runs = (("uniform", 0.0, "full"), ("uniform", gop_s / 2, "full"), ("uniform", gop_s, "full"),
            ("scene", 0.0, "full"), ("scene", 0.0, "keyframes"))
    for mode, snap, scan in runs:
        seconds, frames, report = sampled(path, mode, snap=snap, scan=scan)
        label = f"{mode} 16" + (f", snap {snap:g} s" if snap else "") + (f", {scan} scan" if mode == "scene" else "")
        print(f"{label}: {len(frames)} frames in {seconds:.2f} s ({report.decoded} decoded, {report.seeks} "
              f"seeks): {full_s / seconds:.1f}x faster than the full decode")
        if mode == "uniform" and not snap:
            print(f"preparation: {prepare_ms(frames):.1f} ms per frame (RGB, 1120 px canvas, JPEG q90)")
    if not args.skip_e2e:
        seconds, doc = end_to_end(path)
        found = sum(1 for e in doc["result"]["timeline"] if e["frame"]["visible_text"])
        print(f"end to end, CPU path (RapidOCR on 16 frames + Whisper tiny.en): {seconds:.1f} s for "
              f"{args.seconds} s of video; {found}/16 frames with on-screen text; "
              f"{len(doc['result']['transcript']['segments'])} speech segments; timings_ms {doc['timings_ms']}")
    print(f"load at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

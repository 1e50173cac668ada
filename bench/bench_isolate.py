"""Engines in worker processes against in-process: the CPU tier per A4 page and Whisper per recording (#19, item 4).

    .venv/bin/python bench/bench_isolate.py [--repeat N] [--pages N]

The shipped models.toml (documents on the ocr-small tier alone, audio on Whisper), run through
`Pipeline.run` twice: as shipped (ocr-small, small-text and asr in worker processes, their engines'
default) and with isolate = false on those three (the models in this process). Each pipeline first answers one page and the recording once,
which loads its models (the workers' start included): reported apart, not in the ratio. Then the
same inputs alternate between the two (each round: the pages, then the recording as many times),
the order flipped every round; the ratio of medians is the
worker path's cost (target <= 1.03).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.configure import parse_config  # noqa: E402
from edge.pipeline import Pipeline, stat_job  # noqa: E402
from tests.helpers import documents as docs  # noqa: E402
from tests.helpers.audio import speak  # noqa: E402

ISOLATED = ("ocr-small", "small-text", "asr")
MODEL_TIMINGS = ("ocr", "inference")  # what the engines measure around their own model calls
SPEECH = ("The invoice for the March delivery is attached. Please check the quantities against the order, "
          "and send the payment by the end of the month. Call me on Friday if anything is missing.")


def pipelines() -> dict[str, Pipeline]:
    data = tomllib.loads((ROOT / "models.toml").read_text())
    for route in data["routes"]:
        if route.get("name") == "documents":
            route["tiers"] = ["ocr-small"]  # no vision model here: its unavailability is not what is measured
    shipped = Pipeline(parse_config(data))
    for name in ISOLATED:
        data["models"][name]["isolate"] = False
    return {"in-process": Pipeline(parse_config(data)), "isolated": shipped}


def timed(pipeline: Pipeline, path: Path) -> tuple[float, float]:
    """Wall seconds of one file, and the part of it outside the models' own timings (OCR, inference):
    preparation, validation, and for the isolated pipeline the round trips to its workers."""
    started = time.perf_counter()
    outcome = pipeline.run(stat_job(path, path.parent))
    wall = time.perf_counter() - started
    assert outcome.status == "done" and outcome.doc is not None, outcome
    timings = outcome.doc["timings_ms"]
    return wall, wall - sum(timings.get(key, 0.0) for key in MODEL_TIMINGS) / 1000


def inputs(folder: Path, pages: int) -> tuple[list[Path], Path]:
    paths = []
    for index in range(pages):
        path = folder / f"page-{index}.png"
        (docs.draw_claim_form() if index % 2 else docs.draw_invoice()).save(path)
        paths.append(path)
    return paths, speak(SPEECH, folder / "recording.wav")


def measure(runs: dict[str, Pipeline], pages: list[Path], recording: Path, repeat: int) -> dict[str, dict]:
    first = {name: {"page": timed(p, pages[0])[0], "recording": timed(p, recording)[0]} for name, p in runs.items()}
    seconds: dict[str, dict[str, list[tuple[float, float]]]] = {name: {"page": [], "recording": []} for name in runs}
    order = list(runs)
    for round_ in range(repeat):
        for name in order if round_ % 2 == 0 else order[::-1]:
            seconds[name]["page"] += [timed(runs[name], page) for page in pages]
            seconds[name]["recording"] += [timed(runs[name], recording) for _ in pages]
    return {"first": first, "seconds": seconds}


def report(result: dict) -> None:
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print("| input | wall median, in-process / isolated | ratio | outside the models, in-process / isolated"
          " | worker path, per file | first call (loads), in / iso |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind in ("page", "recording"):
        wall, outside = ({n: statistics.median(row[i] for row in result["seconds"][n][kind]) for n in result["seconds"]}
                         for i in (0, 1))
        loads = " / ".join(f"{result['first'][n][kind]:.2f} s" for n in ("in-process", "isolated"))
        count = len(result["seconds"]["isolated"][kind])
        extra = outside["isolated"] - outside["in-process"]
        print(f"| {kind} (n={count}) | {wall['in-process']:.3f} s / {wall['isolated']:.3f} s"
              f" | **{wall['isolated'] / wall['in-process']:.3f}** | {outside['in-process'] * 1000:.1f} ms /"
              f" {outside['isolated'] * 1000:.1f} ms | {extra * 1000:+.1f} ms ({extra / wall['in-process']:+.2%}) | {loads} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--pages", type=int, default=2)
    args = parser.parse_args()
    runs = pipelines()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            pages, recording = inputs(Path(tmp), args.pages)
            report(measure(runs, pages, recording, args.repeat))
    finally:
        for pipeline in runs.values():
            pipeline.engines.close()


if __name__ == "__main__":
    main()

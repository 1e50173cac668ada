"""Vision preparation benchmark (issue 4): what it costs to get a picture to the model.

Prints, for a 24-megapixel camera JPEG and a 10-page PDF:
- milliseconds per image / page for edge's preparation (draft decode, resize
  to the 1120 px mllama canvas, EXIF transpose, RGB, JPEG encode), against
  the raw cost of a full Pillow decode of the same JPEG measured in the same
  run (the ratio is what matters across machines);
- bytes sent (base64, as it goes over the wire to Ollama) against bytes on disk.
Targets on a 2-core machine: <= 120 ms per 24 MP JPEG, >= 10x fewer bytes.
Run: .venv/bin/python bench/bench_vision_prep.py [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from edge.media import image as image_media  # noqa: E402
from edge.media import pdf as pdf_media  # noqa: E402
from tests.helpers import documents as docs  # noqa: E402


def timed(func, runs: int) -> tuple[float, object]:
    """Median milliseconds of `runs` calls (after one warm-up), and the last result."""
    samples, result = [], func()
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        samples.append((time.perf_counter() - started) * 1000)
    timed.best = min(samples)  # type: ignore[attr-defined]
    return statistics.median(samples), result


def full_decode(path: Path) -> None:
    with Image.open(path) as picture:
        picture.load()


def sent_bytes(pages) -> int:
    return sum(len(base64.b64encode(page.jpeg)) for page in pages)


def bench_jpeg(folder: Path, runs: int, grain: float, quality: int) -> dict:
    path = folder / f"camera_24mp_{grain:g}.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # a phone photo taken upright: stored sideways
    docs.photo(6000, 4000, grain=grain).save(path, "JPEG", quality=quality, exif=exif.tobytes())
    raw_ms, _ = timed(lambda: full_decode(path), runs)
    raw_best = timed.best  # type: ignore[attr-defined]
    prep_ms, pages = timed(lambda: list(image_media.pages(path)), runs)
    return {"disk": path.stat().st_size, "sent": sent_bytes(pages), "raw_ms": raw_ms, "prep_ms": prep_ms,
            "raw_best": raw_best, "prep_best": timed.best,  # type: ignore[attr-defined]
            "size": (pages[0].width, pages[0].height)}


def bench_pdf(folder: Path, runs: int) -> dict:
    path = folder / "ten_pages.pdf"
    pages = [docs.draw_invoice(), docs.draw_claim_form()] * 5
    docs.save_pdf([docs.noisy(page, sigma=8) for page in pages], path)
    prep_ms, prepared = timed(lambda: list(pdf_media.pages(path)), runs)
    return {"disk": path.stat().st_size, "sent": sent_bytes(prepared), "prep_ms": prep_ms,
            "per_page_ms": prep_ms / len(prepared), "pages": len(prepared),
            "size": (prepared[0].width, prepared[0].height)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {platform.python_version()}, Pillow {Image.__version__}")
    with tempfile.TemporaryDirectory() as temp:
        jpegs = {"grainy, quality 92": bench_jpeg(Path(temp), args.runs, grain=12, quality=92),
                 "clean, quality 85": bench_jpeg(Path(temp), args.runs, grain=3, quality=85)}
        pdf = bench_pdf(Path(temp), max(3, args.runs // 2))
    for label, jpeg in jpegs.items():
        report_jpeg(label, jpeg)
    report_pdf(pdf)


def report_jpeg(label: str, jpeg: dict) -> None:
    print(f"24 MP JPEG (6000x4000, {label}, EXIF-rotated, {jpeg['disk'] / 1e6:.1f} MB on disk):")
    print(f"  full Pillow decode (raw):       median {jpeg['raw_ms']:7.1f} ms, best {jpeg['raw_best']:7.1f} ms")
    print(f"  edge prepare -> {jpeg['size'][0]}x{jpeg['size'][1]} JPEG:  median {jpeg['prep_ms']:7.1f} ms, "
          f"best {jpeg['prep_best']:7.1f} ms ({jpeg['prep_ms'] / jpeg['raw_ms']:.2f}x the raw decode; "
          f"target <= 120 ms)")
    print(f"  bytes sent {jpeg['sent']:,} vs on disk {jpeg['disk']:,}: {jpeg['disk'] / jpeg['sent']:.1f}x fewer "
          f"(target >= 10x)")


def report_pdf(pdf: dict) -> None:
    print(f"10-page PDF (A4 scans, {pdf['disk'] / 1e6:.1f} MB on disk):")
    print(f"  edge prepare, {pdf['pages']} pages -> {pdf['size'][0]}x{pdf['size'][1]}: {pdf['prep_ms']:7.1f} ms total, "
          f"{pdf['per_page_ms']:.1f} ms per page")
    print(f"  bytes sent {pdf['sent']:,} vs on disk {pdf['disk']:,}: {pdf['disk'] / pdf['sent']:.1f}x")


if __name__ == "__main__":
    main()

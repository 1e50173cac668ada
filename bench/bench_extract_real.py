"""The embedded CPU tier on real documents, on drawn ones, and on a born-digital PDF.

    python bench/bench_extract_real.py [REAL_FOLDER ...] [--config models.toml] [--route documents] [--n 24]

1. `edge eval` over folders of real documents with truth files (default: ../shared/data/receipts-dev
   and ../shared/data/invoices-dev when they exist; research data, never part of this repo), on the
   shipped models.toml;
2. `edge eval` over a `make-set` of 24 drawn invoices, claim forms and receipts;
3. a born-digital invoice PDF read from its text layer against the same page rendered and OCR'd,
   in the same run (seconds per page, and the ratio).

Each eval prints per-field accuracy, documents all correct, review rate and catch rate, the
hallucination rate, and p50/p95 seconds per document on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.configure import load_config, parse_config  # noqa: E402
from edge.eval import report  # noqa: E402
from edge.eval.makeset import make_set  # noqa: E402
from edge.eval.run import evaluate  # noqa: E402
from edge.pipeline import Pipeline, stat_job  # noqa: E402

DEV_SETS = [ROOT.parent / "shared" / "data" / name for name in ("receipts-dev", "invoices-dev")]


def run_eval(config_path: Path, folder: Path, route: str | None, title: str) -> None:
    started = time.perf_counter()
    result = evaluate(load_config(config_path), folder, route)
    summary = result.summary()
    print(f"\n## {title}: {folder} ({summary['documents']} documents, route {result.route}, "
          f"{time.perf_counter() - started:.0f} s in all, load average {os.getloadavg()[0]:.1f})\n")
    print(report.to_markdown(result))
    review = summary["review"]
    print(f"- review flags {review['flagged']}/{summary['documents']} documents ({_pct(review['rate'])}), "
          f"catching {review['caught']}/{review['wrong_or_hallucinated']} wrong or hallucinated fields "
          f"({_pct(review['caught_share'])})")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def born_digital(pages: int = 5) -> None:
    """The same invoice page: its PDF text layer against rendering it and running OCR."""
    from tests.helpers import documents as docs

    config = parse_config({"models": {"ocr-small": {"engine": "ocr"}},
                           "routes": [{"media": ["pdf", "image"], "task": "extract", "schema": "invoice",
                                       "tiers": ["ocr-small"]}]})
    pipeline = Pipeline(config)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdf = docs.born_digital_invoice_pdf(folder / "invoice.pdf")
        scan = folder / "invoice.png"
        _render(pdf, scan)
        try:
            pipeline.run(stat_job(scan, folder))  # load RapidOCR once, outside the timing
            text = [_timed(pipeline, pdf, folder) for _ in range(pages)]
            ocr = [_timed(pipeline, scan, folder) for _ in range(pages)]
        finally:
            pipeline.engines.close()
    layer, scanned = statistics.median(text), statistics.median(ocr)
    print(f"\n## Born-digital invoice PDF, one A4 page, median of {pages} (load average {os.getloadavg()[0]:.1f})\n")
    print(f"- text layer: {layer * 1000:.1f} ms per page; the same page rendered at 2000 px and OCR'd: "
          f"{scanned * 1000:.0f} ms per page; **{scanned / layer:.0f}x faster** from the text layer")


def _render(pdf: Path, target: Path) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[0]
        width, height = page.get_size()
        page.render(scale=2000 / max(width, height)).to_pil().save(target)
    finally:
        document.close()


def _timed(pipeline: Pipeline, path: Path, folder: Path) -> float:
    started = time.perf_counter()
    doc = pipeline.run(stat_job(path, folder)).doc
    assert doc["result"]["invoice_number"], doc["review"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("real", nargs="*", type=Path, default=[path for path in DEV_SETS if path.is_dir()])
    parser.add_argument("--config", type=Path, default=ROOT / "models.toml")
    parser.add_argument("--route", default="documents")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for folder in args.real:
        run_eval(args.config, folder, args.route, f"Real documents: {folder.name}")
    if not args.real:
        print("no folder of real documents (pass some; the dev sets live in ../shared/data/)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_set(Path(tmp) / "set", args.n, args.seed)[0].parent
        run_eval(args.config, folder, args.route, f"make-set n={args.n} seed={args.seed}")
    born_digital()


if __name__ == "__main__":
    main()

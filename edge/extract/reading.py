"""Reading a document's pages into layout: a PDF's own text layer where it has one, OCR elsewhere.

Born-digital PDFs (e-mailed invoices) carry their words and positions; those
are exact and need no rendering. Only pages without a usable text layer (a
scan inside a PDF, an image file) are rendered and read by RapidOCR. Each
page records where its text came from.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..media import image as image_media
from ..media import pdf as pdf_media
from . import layout
from .layout import Page


def read(path: Path, kind: str, ocr: Any, max_pages: int) -> tuple[list[Page], dict[str, float]]:
    """The pages (at most max_pages) as layout, and the time spent preparing and reading them."""
    timings: dict[str, float] = defaultdict(float)
    reader = _pdf_pages if kind == "pdf" else _image_pages
    pages = list(reader(path, ocr, max_pages, timings))
    return pages, dict(timings)


def _image_pages(path: Path, ocr: Any, max_pages: int, timings: dict[str, float]) -> Iterator[Page]:
    started = time.perf_counter()
    for prepared in image_media.pages(path, canvas=ocr.options.max_side, max_pages=max_pages):
        timings["prepare"] += (time.perf_counter() - started) * 1000
        yield _ocr_page(prepared.index + 1, prepared.jpeg, ocr, timings)
        started = time.perf_counter()


def _pdf_pages(path: Path, ocr: Any, max_pages: int, timings: dict[str, float]) -> Iterator[Page]:
    started = time.perf_counter()
    for index, layer in enumerate(pdf_media.text_layers(path, max_pages)):
        timings["text_layer"] += (time.perf_counter() - started) * 1000
        if layer.usable:
            yield from_text_layer(index + 1, layer)
        else:
            started = time.perf_counter()
            prepared = pdf_media.render_page(path, index, canvas=ocr.options.max_side)
            timings["prepare"] += (time.perf_counter() - started) * 1000
            yield _ocr_page(index + 1, prepared.jpeg, ocr, timings)
        started = time.perf_counter()


def _ocr_page(number: int, jpeg: bytes, ocr: Any, timings: dict[str, float]) -> Page:
    read = ocr.read(jpeg)
    timings["ocr"] += read.elapsed_ms
    lines = [layout.Line(line.text, line.box, line.score) for line in read.lines]
    return layout.build_page(number, lines, read.width, read.height, "ocr")


def from_text_layer(number: int, layer: pdf_media.TextLayer) -> Page:
    lines = [layout.from_box(run.text, run.x0, run.y0, run.x1, run.y1) for run in layer.runs]
    return layout.build_page(number, lines, layer.width, layer.height, "text_layer")


def ocr_block(pages: list[Page], boxes: bool) -> dict[str, Any]:
    """The sidecar's `ocr` object: always the text and each page's lines; boxes and scores with keep_ocr."""
    sources = sorted({page.source for page in pages})
    return {
        "engine": "+".join("rapidocr" if source == "ocr" else source for source in sources) or "none",
        "text": "\n\n".join(page.text for page in pages),
        "pages": [_page_entry(page, boxes) for page in pages],
    }


def _page_entry(page: Page, boxes: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"page": page.number, "source": page.source,
                             "lines": [line.as_dict(boxes) for line in page.lines]}
    if boxes:
        score = page.mean_score
        entry.update(width=page.width, height=page.height, skew_deg=page.skew_deg,
                     mean_score=None if score is None else round(score, 4))
    return entry

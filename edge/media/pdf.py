"""PDF pages -> prepared JPEG pages, rasterised one at a time with pypdfium2.

Each page is rendered at the resolution that makes its long side fit the
model's canvas, so a 300-page PDF never sits whole in memory and no page is
rendered bigger than the model can use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .image import DEFAULT_CANVAS, JPEG_QUALITY, PreparedPage, encode_jpeg, to_rgb

POINTS_PER_INCH = 72


def _open(path: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(f"corrupt or encrypted PDF: {exc}", code="corrupt") from None


def page_count(path: Path) -> int:
    document = _open(path)
    try:
        return len(document)
    finally:
        document.close()


def render_scale(width_pt: float, height_pt: float, canvas: int) -> float:
    """Pixels per point so that the long side is `canvas` pixels (DPI = 72 x scale)."""
    return canvas / max(width_pt, height_pt, 1.0)


def pages(path: Path, canvas: int = DEFAULT_CANVAS, max_pages: int = 20,
          quality: int = JPEG_QUALITY) -> Iterator[PreparedPage]:
    document = _open(path)
    try:
        for index in range(min(len(document), max_pages)):
            yield _render(document, index, canvas, quality)
    finally:
        document.close()


def _render(document, index: int, canvas: int, quality: int) -> PreparedPage:
    import pypdfium2 as pdfium

    page = document[index]
    try:
        width_pt, height_pt = page.get_size()
        bitmap = page.render(scale=render_scale(width_pt, height_pt, canvas), rotation=0)
        image = to_rgb(bitmap.to_pil())
    except pdfium.PdfiumError as exc:
        raise InputError(f"cannot render PDF page {index + 1}: {exc}", code="corrupt") from None
    finally:
        page.close()
    source = (round(width_pt), round(height_pt))  # the page size in points
    return PreparedPage(index, encode_jpeg(image, quality), image.width, image.height, *source)

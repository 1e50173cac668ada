"""PDF pages -> prepared JPEG pages, rasterised one at a time with pypdfium2.

Each page is rendered at the resolution that makes its long side fit the
model's canvas, so a 300-page PDF never sits whole in memory and no page is
rendered bigger than the model can use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


# -- the text layer of born-digital pages ------------------------------------------------------------

MIN_TEXT_CHARS = 16  # fewer letters and digits than this: a scan (or a blank page), so OCR it


@dataclass
class TextRun:
    """A run of text on one line of a PDF page, its box in points from the top-left corner."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class TextLayer:
    runs: list[TextRun]
    width: float  # points
    height: float

    @property
    def usable(self) -> bool:
        return sum(ch.isalnum() for run in self.runs for ch in run.text) >= MIN_TEXT_CHARS


def text_layers(path: Path, max_pages: int = 20) -> Iterator[TextLayer]:
    """Each page's text runs, read from the PDF itself (exact, and no rendering)."""
    document = _open(path)
    try:
        for index in range(min(len(document), max_pages)):
            yield _text_layer(document, index)
    finally:
        document.close()


def _text_layer(document, index: int) -> TextLayer:
    import pypdfium2 as pdfium

    page = document[index]
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            runs = [_run(textpage, i, height) for i in range(textpage.count_rects())]
        finally:
            textpage.close()
    except pdfium.PdfiumError as exc:
        raise InputError(f"cannot read the text of PDF page {index + 1}: {exc}", code="corrupt") from None
    finally:
        page.close()
    return TextLayer(join_words(join_tracked([run for run in runs if run.text.strip()])), width, height)


TRACKED_MIN = 3  # letters set one by one (tracked headings): `A z u r e` as separate runs


def join_tracked(runs: list[TextRun]) -> list[TextRun]:
    """Runs of single letters on one baseline, set one by one as tracked type is, joined into words:
    a space only where the gap is clearly wider than the spacing between the letters."""
    out: list[TextRun] = []
    group: list[TextRun] = []
    for run in [*runs, None]:
        if run is not None and len(run.text) == 1 and (not group or _next_letter(group[-1], run)):
            group.append(run)
            continue
        out.extend([_word_runs(group)] if len(group) >= TRACKED_MIN else group)
        group = [run] if run is not None and len(run.text) == 1 else []
        if run is not None and not group:
            out.append(run)
    return out


def _next_letter(previous: TextRun, run: TextRun) -> bool:
    height = max(previous.y1 - previous.y0, run.y1 - run.y0, 1.0)
    same_line = abs(previous.y1 - run.y1) < 0.3 * height
    return same_line and previous.x1 - 1 <= run.x0 < previous.x1 + 2.5 * height


def _word_runs(letters: list[TextRun]) -> TextRun:
    gaps = [b.x0 - a.x1 for a, b in zip(letters, letters[1:], strict=False)]
    typical = sorted(gaps)[len(gaps) // 2]
    height = max(run.y1 - run.y0 for run in letters)
    text = letters[0].text
    for gap, letter in zip(gaps, letters[1:], strict=False):
        text += (" " if gap > max(1.8 * typical, typical + 0.3 * height) else "") + letter.text
    return TextRun(text, letters[0].x0, min(r.y0 for r in letters), letters[-1].x1, max(r.y1 for r in letters))


WORD_SPACE = 0.6  # of the line's height: wider than a word space is a new column


def join_words(runs: list[TextRun]) -> list[TextRun]:
    """Words the PDF placed one by one, joined into the phrase they print (`Global` `Supplies` `Ltd.`
    -> `Global Supplies Ltd.`): the next run on the same baseline, a word space to the right."""
    out: list[TextRun] = []
    for run in runs:
        last = out[-1] if out else None
        if last is not None and _next_word(last, run):
            out[-1] = TextRun(f"{last.text} {run.text}", last.x0, min(last.y0, run.y0), run.x1, max(last.y1, run.y1))
        else:
            out.append(run)
    return out


def _next_word(previous: TextRun, run: TextRun) -> bool:
    height = max(previous.y1 - previous.y0, run.y1 - run.y0, 1.0)
    same_line = abs(previous.y1 - run.y1) < 0.3 * height
    return same_line and -1 <= run.x0 - previous.x1 <= WORD_SPACE * height


def _run(textpage, index: int, height: float) -> TextRun:
    left, bottom, right, top = textpage.get_rect(index)
    text = textpage.get_text_bounded(left, bottom, right, top).replace("\x02", "-")  # PDFium's soft hyphen
    return TextRun(" ".join(text.split()), left, height - top, right, height - bottom)


def render_page(path: Path, index: int, canvas: int = DEFAULT_CANVAS, quality: int = JPEG_QUALITY) -> PreparedPage:
    """One page rendered (the pages without a usable text layer)."""
    document = _open(path)
    try:
        return _render(document, index, canvas, quality)
    finally:
        document.close()

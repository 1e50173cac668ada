"""The ocr engine: real RapidOCR on Pillow-drawn pages."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw

from edge.engines.ocr import OcrEngine, OcrLine, OcrOptions, reading_order, row_texts
from edge.errors import InputError
from tests.helpers.documents import draw_claim_form, font


@pytest.fixture(scope="module")
def ocr():
    engine = OcrEngine("ocr-small", SimpleNamespace(model=None), OcrOptions())
    yield engine
    engine.close()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def two_columns() -> Image.Image:
    image = Image.new("RGB", (900, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), "Claim number", fill="black", font=font(32))
    draw.text((500, 44), "CLM-88412", fill="black", font=font(32))  # same row, slightly lower
    draw.text((40, 200), "Total claimed", fill="black", font=font(32))
    draw.text((500, 200), "1,247.50", fill="black", font=font(32))
    return image


def test_lines_have_text_boxes_and_scores_in_reading_order(ocr):
    page = ocr.read(png(two_columns()))
    assert [line.text for line in page.lines] == ["Claim number", "CLM-88412", "Total claimed", "1,247.50"]
    assert page.text.splitlines() == ["Claim number  CLM-88412", "Total claimed  1,247.50"]
    for line in page.lines:
        assert len(line.box) == 4 and 0 < line.score <= 1
        assert all(0 <= x <= 900 and 0 <= y <= 400 for x, y in line.box)
    assert page.width == 900 and page.height == 400 and page.elapsed_ms > 0


def test_a4_claim_form(ocr):
    page = ocr.read(png(draw_claim_form()))
    assert "HEALTH INSURANCE CLAIM FORM" in page.text.upper()
    tops = [min(y for _, y in line.box) for line in page.lines]
    rows = reading_order(page.lines)
    assert len(rows) >= 9 and tops[0] == min(tops)
    assert page.mean_score > 0.8


def test_blank_page_has_no_lines(ocr):
    page = ocr.read(png(Image.new("RGB", (600, 800), "white")))
    assert page.lines == [] and page.text == "" and page.mean_score is None


def test_undecodable_bytes_are_bad_input(ocr):
    with pytest.raises(InputError, match="cannot decode"):
        ocr.read(b"\x89PNG\r\n\x1a\n truncated")


def test_reading_order_groups_rows_then_sorts_left_to_right():
    def line(text, x, y, h=20):
        return OcrLine(text, [[x, y], [x + 50, y], [x + 50, y + h], [x, y + h]], 0.9)

    lines = [line("c", 10, 100), line("b", 300, 14), line("a", 10, 10), line("d", 300, 104)]
    assert row_texts(lines) == ["a  b", "c  d"]


def test_checks_and_provenance(ocr):
    checks = ocr.checks()
    assert [c.level for c in checks] == ["ok"], checks
    assert "close calls go to model embedded:gemma3-270m" in checks[0].message
    block = ocr.provenance()
    assert block["engine"] == "ocr" and block["engine_version"].startswith("rapidocr")
    assert block["options"] == {"text_model": "embedded:gemma3-270m"}

"""Born-digital PDFs are read from their text layer; only pages without one are OCR'd."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import parse_config
from edge.engines.ocr import OcrEngine
from edge.pipeline import Pipeline, stat_job
from tests import docs_helpers as docs
from tests.conftest import validate_sidecar


def extract(pdf: Path, schema: str = "invoice") -> dict:
    config = parse_config({"models": {"ocr-small": {"engine": "ocr"}},
                           "routes": [{"media": ["pdf"], "task": "extract", "schema": schema,
                                       "tiers": ["ocr-small"]}]})
    pipeline = Pipeline(config)
    try:
        job = stat_job(pdf, pdf.parent)
        pipeline.write(job, pipeline.run(job))
    finally:
        pipeline.engines.close()
    return validate_sidecar(pdf.with_name(pdf.name + ".json"))


@pytest.fixture()
def ocr_calls(monkeypatch):
    calls: list[int] = []
    real = OcrEngine.read

    def counted(self, image: bytes):
        calls.append(len(image))
        return real(self, image)

    monkeypatch.setattr(OcrEngine, "read", counted)
    return calls


def test_text_layer_page_is_read_without_ocr_and_its_values_are_exact(tmp_path, ocr_calls):
    doc = extract(docs.born_digital_invoice_pdf(tmp_path / "invoice.pdf"))
    assert ocr_calls == []  # no page was rendered for OCR
    assert [page["source"] for page in doc["ocr"]["pages"]] == ["text_layer"]
    assert doc["ocr"]["engine"] == "text_layer" and "Gesamtbetrag" in doc["ocr"]["text"]
    for field, value in docs.BORN_DIGITAL.items():
        assert doc["result"][field] == value, (field, doc["result"][field])
    assert doc["status"] == "ok" and not doc["review"]["needs_review"], doc["review"]


def test_scanned_page_in_the_same_pdf_is_ocrd(tmp_path, ocr_calls):
    doc = extract(docs.born_digital_invoice_pdf(tmp_path / "mixed.pdf", scanned=docs.draw_claim_form()))
    assert len(ocr_calls) == 1  # the scanned page only
    assert [page["source"] for page in doc["ocr"]["pages"]] == ["text_layer", "ocr"]
    assert [page["source"] for page in doc["pages"]] == ["text_layer", "ocr"]
    assert "CLAIM FORM" in doc["ocr"]["text"].upper() and doc["result"]["invoice_number"] == "RE-2024-00731"

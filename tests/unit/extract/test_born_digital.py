"""Born-digital PDFs are read from their text layer; only pages without one are OCR'd."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.configure import parse_config
from edge.engines.ocr import OcrEngine
from edge.pipeline import Pipeline, stat_job
from tests.helpers import documents as docs
from tests.helpers import run_pipeline


def extract(pdf: Path, schema: str = "invoice") -> dict:
    config = parse_config({"models": {"ocr-small": {"engine": "ocr"}},
                           "routes": [{"media": ["pdf"], "task": "extract", "schema": schema,
                                       "tiers": ["ocr-small"]}]})
    return run_pipeline(config, pdf)


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


def receipt_pdf(path: Path, date_line: str) -> Path:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(420, 595))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for index, (left, right) in enumerate([("CORNER SHOP", ""), (date_line, ""), ("Milk", "2.50"),
                                           ("TOTAL", "2.50")]):
        pdf.text(40, 60 + 20 * index, left)
        if right:
            pdf.text(300, 60 + 20 * index, right)
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("lang", ["C.UTF-8", "POSIX"])
def test_an_ambiguous_date_with_nothing_to_decide_goes_to_review(tmp_path, monkeypatch, lang):
    for name in ("LC_ALL", "LC_TIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", lang)
    doc = extract(receipt_pdf(tmp_path / "receipt.pdf", "Date: 03/04/2024"), schema="receipt")
    [reason] = [r for r in doc["review"]["reasons"] if r["code"] == "ambiguous_date"]
    assert reason["field"] == "date" and sorted(reason["values"]) == ["2024-03-04", "2024-04-03"]
    assert doc["review"]["needs_review"] and doc["tiers"][0]["evidence"]["date_order"]["order"] is None


def test_date_order_option_or_another_date_on_the_page_decides(tmp_path, monkeypatch):
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    doc = extract(receipt_pdf(tmp_path / "other.pdf", "Date: 03/04/2024  Printed 25/12/2024"), schema="receipt")
    assert doc["result"]["date"] == "2024-04-03"
    assert not [r for r in doc["review"]["reasons"] if r["code"] == "ambiguous_date"]
    config = parse_config({"edge": {"date_order": "MDY"}, "models": {"ocr-small": {"engine": "ocr"}},
                           "routes": [{"media": ["pdf"], "task": "extract", "schema": "receipt",
                                       "tiers": ["ocr-small"]}]})
    pdf = receipt_pdf(tmp_path / "us.pdf", "Date: 03/04/2024")
    pipeline = Pipeline(config)
    try:
        outcome = pipeline.run(stat_job(pdf, tmp_path))
    finally:
        pipeline.engines.close()
    assert outcome.doc["result"]["date"] == "2024-03-04" and not outcome.doc["review"]["needs_review"]


def test_customer_block_first_tracked_letters_and_german_amounts(tmp_path):
    """The wrong answers seen on real invoices: the customer as vendor, `A z u r e`, the due date,
    the net amount, 1.129,00 read as 112900."""
    doc = extract(docs.customer_first_invoice_pdf(tmp_path / "rechnung.pdf"))
    fields = doc["result"]
    assert "Azure Interior" in doc["ocr"]["text"] and "RECHNUNG" in doc["ocr"]["text"]
    assert "Strategic" not in str(fields["vendor_name"])
    assert "Azure Interior" in str(fields["vendor_name"])
    assert fields["invoice_number"] == "2024-0417"
    assert fields["date"] == "2024-03-31"
    assert fields["total_amount"] == pytest.approx(1343.51)
    assert fields["currency"] == "EUR"


LISTS = parse_config({"models": {"ocr-small": {"engine": "ocr"}},
                      "routes": [{"media": ["pdf"], "task": "extract", "schema": "invoice",
                                  "tiers": ["ocr-small"], "options": {"lists": True}}]})


def test_item_table_read_by_its_columns_over_a_page_break(tmp_path):
    """Wrapped descriptions joined (one at a hyphen), a `Bruttopreis : 4,00` note and an allowance row
    left out, the table carried over the page break, and every value grounded in the text layer."""
    doc = run_pipeline(LISTS, docs.item_table_invoice_pdf(tmp_path / "table.pdf"))
    items = doc["result"]["line_items"]
    assert [item["description"] for item in items] == [item["description"] for item in docs.ITEM_TABLE_TRUTH]
    for got, want in zip(items, docs.ITEM_TABLE_TRUTH, strict=True):
        assert (got["quantity"], got["unit_price"], got["total"]) == pytest.approx(
            (want["quantity"], want["unit_price"], want["total"]))
    codes = [reason["code"] for reason in doc["review"]["reasons"]]
    assert "ungrounded" not in codes and "line_sum_mismatch" not in codes  # Positionssumme 81,36 is printed


def test_line_totals_that_add_up_to_no_printed_sum_go_to_review(tmp_path):
    doc = run_pipeline(LISTS, docs.item_table_invoice_pdf(tmp_path / "table.pdf", subtotal=False))
    mismatch = [reason for reason in doc["review"]["reasons"] if reason["code"] == "line_sum_mismatch"]
    assert doc["review"]["needs_review"] and mismatch and mismatch[0]["values"][0] == pytest.approx(81.36)


@pytest.mark.parametrize("make", [docs.born_digital_invoice_pdf, docs.customer_first_invoice_pdf,
                                  docs.item_table_invoice_pdf])
def test_every_value_has_the_box_it_was_read_from(tmp_path, make):
    """evidence.fields: each non-null field's page, box and printed text, and the text holds the value."""
    from edge.extract import amounts
    from edge.extract.grounding import OcrIndex, found, leaves

    doc = run_pipeline(LISTS, make(tmp_path / "doc.pdf"))
    fields = doc["evidence"]["fields"]
    present = {name for name, value in doc["result"].items() if value not in (None, [])}
    assert present and set(fields) == present
    for name in present:
        entry = fields[name]
        assert entry["source"] == "text_layer" and entry["units"] == "pt", name
        x0, y0, x1, y1 = entry["bbox"]
        width, height = entry["page_size"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, name
        if name == "currency":  # printed as a sign: `949,00 €`
            assert doc["result"][name] in amounts.currencies(entry["text"]), entry["text"]
            continue
        index = OcrIndex("\n".join([entry["text"], *(more["text"] for more in entry.get("more", []))]))
        assert all(found(index, leaf) for _, leaf in leaves(doc["result"][name])
                   if isinstance(leaf, str) or leaf != int(leaf)), (name, entry["text"])

"""evidence.fields: the box each value was read from (edge/extract/locate.py)."""

from __future__ import annotations

from edge.extract import locate

OCR = {"pages": [{"page": 1, "source": "ocr", "width": 1000, "height": 1400, "lines": [
    {"text": "ACME GmbH", "box": [[50, 40], [250, 40], [250, 70], [50, 70]]},
    {"text": "Total due 1,247.50 EUR", "box": [[500, 900], [940, 900], [940, 930], [500, 930]]},
]}]}


def test_the_cpu_tier_boxes_its_chosen_candidate_and_the_others():
    tier = {"fields": {"total_amount": {"candidates": [
        {"value": 1247.5, "text": "1,247.50", "page": 1, "line": 1},
        {"value": 99.0, "text": "ACME", "page": 1, "line": 0}]}}}
    fields = locate.evidence({"total_amount": 1247.5, "vendor_name": None}, tier, OCR, by_model=False)["fields"]
    total = fields["total_amount"]
    assert set(fields) == {"total_amount"}
    assert total["source"] == "ocr" and total["units"] == "px" and total["page_size"] == [1000, 1400]
    x0, y0, x1, y1 = total["bbox"]
    assert 500 < x0 < x1 < 940 and (y0, y1) == (900, 930)  # the amount's share of its line, not the label
    (other,) = total["candidates"]
    assert (other["value"], other["page"]) == (99.0, 1) and other["bbox"][0] == 50 and other["bbox"][2] < 250


def test_a_models_answer_gets_a_box_only_where_the_page_prints_it():
    fields = locate.evidence({"vendor_name": "ACME GmbH", "invoice_number": "INV-7"}, None, OCR, by_model=True)
    assert fields["fields"]["vendor_name"]["source"] == "model"
    assert fields["fields"]["vendor_name"]["bbox"] == [50, 40, 250, 70]
    assert fields["fields"]["invoice_number"] == {"source": "model"}  # printed nowhere: no box


def test_without_page_boxes_there_are_sources_and_no_boxes():
    fields = locate.evidence({"vendor_name": "ACME GmbH", "summary": "From ACME"}, None, None, by_model=True)
    assert fields == {"fields": {"vendor_name": {"source": "model"}, "summary": {"source": "composed"}}}

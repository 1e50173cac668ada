"""Grounding: extracted values are looked up in the OCR text, forgivingly but not blindly."""

from __future__ import annotations

from edge.extract.escalation import ungrounded
from edge.extract.evidence import Evidence, grounded
from edge.extract.grounding import ground, numbers_in, parse_dates, squash
from edge.extract.tier import TierResult

OCR = """ACME TOOLS LTD
Invoice number: INV-2024-0042
Date: 03/03/2024
Widget   2   1,247.50
Total due: $1,247.50 USD
Remise: 1.234,56 EUR   Ref 12 345,00"""


def fields(unfound):
    return [u.field for u in unfound]


def test_absent_value_is_flagged_with_its_field():
    unfound = ground({"invoice_number": "INV-2024-0042", "vendor_name": "Globex Corporation"}, OCR)
    assert fields(unfound) == ["vendor_name"]
    reason = unfound[0].as_reason()
    assert reason["code"] == "ungrounded" and reason["field"] == "vendor_name" and "Globex" in reason["message"]


def test_thousands_separator_and_currency_sign_are_forgiven():
    assert ground({"total_amount": 1247.5, "as_text": "$1247.50", "euro": 1234.56, "spaced": 12345}, OCR) == []


def test_a_different_number_is_not_found():
    assert fields(ground({"total_amount": 1247.0, "tax": 124.75}, OCR)) == ["total_amount", "tax"]


def test_iso_date_matches_a_slashed_date_and_a_wrong_day_does_not():
    assert ground({"date": "2024-03-03"}, OCR) == []
    assert fields(ground({"date": "2024-03-04"}, OCR)) == ["date"]


def test_common_date_formats():
    for written in ("3 March 2024", "March 3, 2024", "03.03.2024", "2024-03-03", "03-Mar-2024", "3/3/24"):
        assert ground({"date": "2024-03-03"}, f"Date of service {written}") == [], written


def test_case_whitespace_and_punctuation_are_forgiven():
    assert ground({"vendor_name": "Acme  tools ltd."}, OCR) == []


def test_nested_values_report_their_path_and_meta_keys_are_skipped():
    result = {"line_items": [{"description": "Widget", "quantity": 2, "total": 99.99}],
              "_confidence": {"total": "high"}, "document_type": "invoice", "paid": True, "note": None}
    assert fields(ground(result, OCR)) == ["line_items[0].total"]


def test_number_helpers_read_both_conventions():
    readings = set(numbers_in("1.234,56 and 1,234.56 and 7"))
    assert {float(x) for x in readings} >= {1234.56, 7.0}
    assert squash(" A-b C ") == "abc"
    assert {d.isoformat() for d in parse_dates("04/03/2024")} == {"2024-03-04", "2024-04-03"}


def test_tier_loop_evidence_grounds_later_tiers_and_escalates(tmp_path):
    first = TierResult(tier="ocr-small", status="ok", data={"total_amount": 1.0}, ocr={"text": OCR})
    first, known = grounded(first, Evidence())
    assert ungrounded(first, None)["fields"] == ["total_amount"]
    second = TierResult(tier="vision", status="ok", data={"total_amount": 1247.5})
    second, after = grounded(second, known)
    assert ungrounded(second, None) is None
    assert after.grounding == {"ocr-small": {"checked": True, "unfound": ["total_amount"]},
                               "vision": {"checked": True, "unfound": []}}
    assert known.grounding == {"ocr-small": {"checked": True, "unfound": ["total_amount"]}}  # a value: unchanged

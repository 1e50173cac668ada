"""The item table against the printed sums: a line sum printed nowhere goes to review."""

from __future__ import annotations

from edge.extract import checks
from edge.extract.layout import build_page, from_box


def page(*texts: str):
    return build_page(1, [from_box(text, 50, 20 * n, 300, 20 * n + 10) for n, text in enumerate(texts)], 595, 842,
                      "text_layer")


ITEMS = [{"description": "Miettage", "total": 173.10}, {"description": "Vollkasko", "total": 46.20}]


def test_line_totals_that_add_up_to_the_printed_subtotal_raise_nothing():
    assert checks.line_sum(ITEMS, [page("Miettage 173,10", "Vollkasko 46,20", "Positionssumme 219,30")], 260.97) is None


def test_line_totals_that_add_up_to_no_printed_amount_go_to_review_with_both_values():
    extra = [*ITEMS, {"description": "Frachtbetrag", "total": 15.0}]
    reason = checks.line_sum(extra, [page("Positionssumme 219,30", "Gesamtbetrag 260,97")], 260.97)
    assert reason is not None and reason["code"] == "line_sum_mismatch"
    assert reason["values"] == [234.30, 260.97] and "234.30" in reason["message"]


def test_one_item_is_its_own_sum():
    assert checks.line_sum(ITEMS[:1], [page("Gesamt 999,00")], 999.0) is None


def test_a_tax_as_large_as_the_total_goes_to_review():
    reason = checks.tax_within_total(1434.0, 47.74)
    assert reason is not None and reason["code"] == "tax_exceeds_total" and reason["values"] == [1434.0, 47.74]
    assert checks.tax_within_total(4.34, 47.74) is None
    assert checks.tax_within_total(None, 47.74) is None and checks.tax_within_total(4.34, None) is None

"""Checks across fields that send a result to review with both values: the printed item table
against the printed sums.

An invoice prints the sum of its line totals (as the subtotal, the net amount or, with gross
prices, the total). When the line totals add up to an amount printed nowhere on the document,
an item is missing, extra or misread, and a person should look. Pure: values and pages in, a
reason out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import amounts
from .layout import Page
from .tier import Reason


def line_sum(items: list[dict[str, Any]] | None, pages: list[Page], total: Any) -> Reason | None:
    """`line_sum_mismatch` when two or more line totals add up to no amount on the page."""
    totals = [Decimal(str(item["total"])) for item in items or [] if item.get("total") is not None]
    if len(totals) < 2:
        return None
    added = sum(totals, Decimal(0)).quantize(Decimal("0.01"))
    printed = {token.value for page in pages for line in page.lines for token in amounts.find(line.text)}
    if added in printed:
        return None
    return {"code": "line_sum_mismatch", "field": "line_items", "values": [float(added), total],
            "message": f"the {len(totals)} line totals add up to {added}, an amount printed nowhere on the "
                       f"document (total_amount is {total}): an item may be missing, extra or misread"}


def tax_within_total(tax: Any, total: Any) -> Reason | None:
    """`tax_exceeds_total` when the tax read is not smaller than the total it is part of: one of the
    two is the wrong amount (a misread, or another line's value)."""
    if not isinstance(tax, (int, float)) or not isinstance(total, (int, float)) or total <= 0:
        return None
    if tax < total:
        return None
    return {"code": "tax_exceeds_total", "field": "tax_amount", "values": [tax, total],
            "message": f"tax_amount {tax} is not smaller than total_amount {total}: one of them is the wrong amount"}

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

"""Values built from the layout rather than picked: table rows, label/value pairs, parties, a summary.

Line items come from table rows (a description on the left, amounts on the
right, between a header and the totals) and only when the route asks for
lists. Label/value pairs are `Label: value` lines and two-column rows. All of
it is text printed on the page; the summary is composed from fields already
found, never written by a model.
"""

from __future__ import annotations

import re
from typing import Any

from . import amounts, tables
from . import labels as L
from .candidates import Context, find_orgs
from .fields import FieldRule
from .layout import Line, Page

MAX_ROWS = 50
MAX_PAIRS = 30
HEADER = re.compile(r"\b(DESCRIPTION|ITEM|ITEMS|PRODUCT|ARTICLE|QTY|QUANTITY|UNIT PRICE|PRICE|AMOUNT)\b")
END = re.compile(r"\b(SUBTOTAL|SUB TOTAL|TOTAL|TAX|GST|VAT|AMOUNT DUE|BALANCE)\b")


def items(ctx: Context) -> list[dict[str, Any]]:
    """Rows of the document's item table when it has one (an invoice), else rows shaped like items
    (a till receipt prints no table header)."""
    rows = table_items(ctx)
    if rows is None:
        rows = [item for page in ctx.pages for item in _table_rows(page)]
    return rows[:MAX_ROWS]


def table_items(ctx: Context) -> list[dict[str, Any]] | None:
    """The items of the document's item tables, read by their columns; None when it prints none."""
    found: list[list[dict[str, Any]] | None] = []
    carried = None
    for page in ctx.pages:
        page_items, carried = tables.line_items(page, carried)
        found.append(page_items)
    if all(page_items is None for page_items in found):
        return None
    return [item for page_items in found for item in page_items or []]


def _table_rows(page: Page) -> list[dict[str, Any]]:
    """Rows under a header (Description, Qty, Price...) down to the totals; a page with no header
    (a till receipt) takes every row shaped like an item above its totals."""
    header = next((number for number, row in enumerate(page.rows)
                   if len(HEADER.findall(L.normal("  ".join(line.text for line in row)))) >= 2), None)
    out = []
    for row in page.rows[(header + 1 if header is not None else 0):]:
        if END.match(L.normal(row[0].text)) or tables.ends_table(row):
            break
        item = _item(row)
        if item and (header is not None or _unlabelled(row)):
            out.append(item)
    return out


def _unlabelled(row: list[Line]) -> bool:
    """Not a `Label: value` line (Date: 08.12.2023): a till receipt's item rows carry no colon."""
    return ":" not in row[0].text


def _item(row: list[Line]) -> dict[str, Any] | None:
    """A table row: the description as printed at its left, then quantity, unit price and total."""
    first = row[0].text
    own = amounts.find(first)
    description = (first[:own[0].start] if own else first).strip(" .:-")
    if not re.search(r"[A-Za-z]{2}", description):
        return None
    tokens = own + [token for line in row[1:] for token in amounts.find(line.text)]
    money = [token for token in tokens if token.cents]
    if not money:
        return None
    whole = [token for token in tokens if not token.cents]
    return {"description": description[:160], "quantity": float(whole[0].value) if whole else None,
            "unit_price": float(money[-2].value) if len(money) >= 2 else None, "total": float(money[-1].value)}


def key_values(ctx: Context) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = []
    for page in ctx.pages:
        for row in page.rows:
            pairs += _pairs(row)
    seen, unique = set(), []
    for pair in pairs:
        key = (pair["key"].casefold(), pair["value"])
        if key not in seen:
            seen.add(key)
            unique.append(pair)
    return unique[:MAX_PAIRS]


def _pairs(row: list[Line]) -> list[dict[str, Any]]:
    out = []
    for line in row:
        match = re.match(r"^\s*([A-Za-z][^:]{1,40}?)\s*:\s*(\S.*)$", line.text)
        if match:
            out.append({"key": match.group(1).strip(), "value": match.group(2).strip()[:160]})
    if not out and len(row) == 2 and _label_like(row[0].text) and row[1].text.strip():
        out.append({"key": row[0].text.strip(), "value": row[1].text.strip()[:160]})
    return out


def _label_like(text: str) -> bool:
    text = text.strip()
    return 2 <= len(text) <= 40 and not re.search(r"\d", text) and text[:1].isalpha()


def parties(ctx: Context, rule: FieldRule) -> list[str]:
    """Organisations named on the page: legal names and labelled parties, best first."""
    names = []
    for candidate in find_orgs(ctx, rule):
        if candidate.score >= 2.0 and candidate.value not in names:
            names.append(candidate.value)
    return names[:5]


def page_text(ctx: Context) -> str | None:
    text = "\n".join(page.text for page in ctx.pages).strip()
    return text[:4000] or None


def summary(values: dict[str, Any]) -> str | None:
    """A one-line summary made from the fields found: what, from whom, when."""
    parts = []
    kind = values.get("document_type")
    if kind:
        parts.append(str(kind).capitalize())
    title = values.get("title")
    if title and (not kind or str(kind).casefold() not in str(title).casefold()):
        parts.append(f"“{title}”")
    if values.get("parties"):
        parts.append("from " + values["parties"][0])
    if values.get("date"):
        parts.append("dated " + str(values["date"]))
    return ", ".join(parts) or None

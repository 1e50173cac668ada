"""An invoice's item table read by its columns, as printed.

The header row names the columns (`Pos | Beschreibung | Menge | Einzelpreis |
Betrag`, in any language in labels.COLUMNS); each value below is put in the
column it is printed under, by its horizontal position. An item is a row with
an amount in the line-total column (or in the price column, with the total
printed just below it); a description that wraps onto the next rows is joined
back, up to a line that reads as a note (`Bruttopreis : 4,00`, `Weitere
Eigenschaften:`) or a row that starts a new position. The table ends at the
totals (`Subtotal`, `Nettobetrag`, `Total HT` ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import amounts
from . import labels as L
from .layout import Line, Page

NUMERIC = ("quantity", "unit_price", "total")
PHRASE_WORDS = 4  # the longest column label, in words
COLUMN_PHRASES = {L.normal(phrase): role for role, phrases in L.COLUMNS.items() for phrase in phrases}
END = (L.SUBTOTAL, L.TOTAL, L.TAX, L.AMOUNT_PAID)
END_WORDS = ("POSITIONSSUMME", "BELEGSUMMEN", "SUMME POSITIONEN", "ZWISCHENSUMME", "UMSATZSTEUER",
             "TOTAL", "TOTAUX", "SOUS TOTAL", "TOTALE", "TOTAAL", "RAZEM", "NET TOTAL", "ERHALTENE",
             "ANZAHLUNG", "ACOMPTE", "ADVANCE", "AANBETALING", "ANTICIPO", "ACCONTO", "ZALICZKA")


@dataclass
class Piece:
    """A word or an amount of a row, with its horizontal extent."""
    text: str
    x0: float
    x1: float
    amount: amounts.AmountToken | None = None
    line: Line | None = None
    start: int = 0  # where it is printed in its line's text
    end: int = 0

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass
class Column:
    role: str | None
    x0: float
    x1: float


@dataclass
class Table:
    columns: list[Column]
    header_row: int  # the last row of the header
    height: float = 10.0  # the header's line height

    def column(self, piece: Piece) -> Column | None:
        """The column a value is printed under: the one it overlaps most, else (a number) the nearest."""
        return self.placed(piece)[0]

    def placed(self, piece: Piece) -> tuple[Column | None, bool]:
        """The column, and whether the piece lies under its header (not just nearest to it)."""
        best, overlap = None, 0.0
        for column in self.columns:
            shared = min(piece.x1, column.x1) - max(piece.x0, column.x0)
            if shared > overlap:
                best, overlap = column, shared
        if best is None and piece.amount is not None:  # a short number set off its header's edge
            gap, near = min(((max(column.x0 - piece.x1, piece.x0 - column.x1), column) for column in self.columns),
                            key=lambda pair: pair[0], default=(float("inf"), None))
            return (near, False) if gap <= 2 * self.height else (None, False)
        return best, best is not None

    def description_span(self) -> tuple[float, float]:
        """From the description header's left edge (a little before it) to the next column's left edge."""
        ordered = sorted(self.columns, key=lambda column: column.x0)
        index = next(i for i, column in enumerate(ordered) if column.role == "description")
        left = ordered[index - 1].x1 if index else 0.0
        right = ordered[index + 1].x0 if index + 1 < len(ordered) else float("inf")
        return left, right


def pieces(row: list[Line]) -> list[Piece]:
    """The row's words and amounts, each placed by its share of its line's width."""
    out = []
    for line in row:
        text = line.text
        scale = (line.x1 - line.x0) / max(1, len(text))
        spans = [(token.start, token.end, token) for token in amounts.find(text)]
        cursor = 0
        for start, end, token in [*spans, (len(text), len(text), None)]:
            for word in re.finditer(r"\S+", text[cursor:start]):
                a, b = cursor + word.start(), cursor + word.end()
                out.append(Piece(word.group(0), line.x0 + a * scale, line.x0 + b * scale, None, line, a, b))
            if token is not None:
                a = start + len(text[start:end]) - len(text[start:end].lstrip())
                out.append(Piece(text[a:end].strip(), line.x0 + a * scale, line.x0 + end * scale, token, line, a, end))
            cursor = end
    return sorted(out, key=lambda piece: piece.x0)


def find_table(page: Page, start: int = 0) -> Table | None:
    """The first row from `start` that reads as an item table's header."""
    for number in range(start, len(page.rows)):
        columns = header_columns(page.rows[number])
        roles = {column.role for column in columns}
        if "description" in roles and roles & set(NUMERIC):
            last = number
            for other in _stacked(page, number):
                _add_stacked(columns, header_columns(page.rows[other]))
                last = max(last, other)
            return Table(_with_total(_quantity_first(columns), page.width), last, page.rows[number][0].height)
    return None


STACKED_ABOVE = 3
STACKED_BELOW = 4


def _stacked(page: Page, header: int) -> list[int]:
    """Header rows printed in two or three lines (`Positions` over `betrag`, `Art-Nr` under `Pos`):
    the rows just above the header with short labels only, and those below it up to the first amount."""
    rows = page.rows
    above = []
    for number in range(header - 1, max(-1, header - 1 - STACKED_ABOVE), -1):
        if not _label_row(rows[number]) or rows[number + 1][0].y - rows[number][0].y > 2 * rows[number][0].height:
            break
        above.append(number)
    below = []
    for number in range(header + 1, min(len(rows), header + 1 + STACKED_BELOW)):
        if not _label_row(rows[number]):
            break
        below.append(number)
    return above + below


def _label_row(row: list[Line]) -> bool:
    return all(len(line.text.split()) <= 3 and not amounts.find(line.text) for line in row)


def _add_stacked(columns: list[Column], stacked: list[Column]) -> None:
    """A label under (or over) an unlabelled header word names it; a code column printed there is added."""
    for extra in stacked:
        overlapping = [column for column in columns if min(column.x1, extra.x1) > max(column.x0, extra.x0)]
        if extra.role and overlapping and all(column.role is None for column in overlapping):
            overlapping[0].role = extra.role
        elif extra.role == "code" and not overlapping:
            columns.append(extra)
    columns.sort(key=lambda column: column.x0)


def _quantity_first(columns: list[Column]) -> list[Column]:
    """`Amount | Product | Price | Total`: an amount printed left of the description is the quantity."""
    description = next(column for column in columns if column.role == "description")
    for column in columns:
        if column.role == "total" and column.x1 <= description.x0:
            column.role = None if any(other.role == "quantity" for other in columns) else "quantity"
    return columns


def _with_total(columns: list[Column], width: float) -> list[Column]:
    """No column says `total`: the line total is printed right of every other column."""
    if any(column.role == "total" for column in columns):
        return columns
    right = max(column.x1 for column in columns)
    unnamed = [column for column in columns if column.role is None and column.x0 >= right - 1]
    if unnamed:
        unnamed[-1].role = "total"
        return columns
    return [*columns, Column("total", right + 1, max(width, right + 2))]


def header_columns(row: list[Line]) -> list[Column]:
    """Column labels in a row, longest phrase first (`Unit Price` is one column, not `Unit` and `Price`)."""
    words = [piece for piece in pieces(row)]
    columns: list[Column] = []
    index = 0
    while index < len(words):
        for size in range(min(PHRASE_WORDS, len(words) - index), 0, -1):
            group = words[index:index + size]
            role = COLUMN_PHRASES.get(L.normal(" ".join(piece.text for piece in group)))
            if role and _tight(group):
                columns.append(Column(role, group[0].x0, group[-1].x1))
                index += size
                break
        else:
            columns.append(Column(None, words[index].x0, words[index].x1))
            index += 1
    return _merge_unlabelled(columns)


def _tight(group: list[Piece]) -> bool:
    """Words of one label: no wider gap between them than about two letters."""
    height = max((piece.line.height for piece in group if piece.line), default=10.0)
    return all(b.x0 - a.x1 <= height for a, b in zip(group, group[1:], strict=False))


def _merge_unlabelled(columns: list[Column]) -> list[Column]:
    out: list[Column] = []
    for column in columns:
        if out and column.role is None and out[-1].role is None:
            out[-1].x1 = column.x1
        else:
            out.append(column)
    return out


def line_items(page: Page, carried: Table | None = None) -> tuple[list[dict[str, Any]] | None, Table | None]:
    """Every item of every item table on the page (None when it has none), and the table still open at
    the page's foot: a table that runs over the page break goes on under the same columns."""
    table = carried if carried is not None and find_table(page) is None else find_table(page)
    if table is None:
        return None, None
    if table is carried:
        table = Table(carried.columns, -1, carried.height)
    items: list[dict[str, Any]] = []
    while table is not None:
        found, end = _read(page, table)
        items += found
        if end >= len(page.rows):
            return items, table
        table = find_table(page, end + 1)
    return items, None


def _read(page: Page, table: Table) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    rows = page.rows
    number = table.header_row + 1
    while number < len(rows):
        cells = _cells(table, pieces(rows[number]))
        if ends_table(rows[number]) and cells["quantity"] is None and cells["unit_price"] is None:
            break
        if items and _next_header(rows[number]):
            break
        if cells["total"] is None and cells["unit_price"] is not None and number + 1 < len(rows):
            below = _cells(table, pieces(rows[number + 1]))
            if below["total"] is not None and below["unit_price"] is None and below["quantity"] is None:
                cells["total"] = below["total"]  # the line total printed on the description's second line
                cells["description"] = f"{cells['description']} {below['description']}".strip()
                number += 1
        if cells["total"] is not None and cells["description"] and _priced(table, cells) and not _note(cells):
            current = _item(cells)
            items.append(current)
        elif current is not None and _wraps(table, cells):
            current["description"] = _join(current["description"], cells["description"])
        else:
            current = None
        number += 1
    for item in items:
        item["description"] = item["description"].strip(" .:-|")
    return items, number


def _next_header(row: list[Line]) -> bool:
    """Another table's header (the tax breakdown's `Art | Warenwert | USt. % | Betrag`) ends this one."""
    columns = header_columns(row)
    return len(columns) >= 3 and any(column.role for column in columns) and \
        not any(amounts.find(line.text) for line in row)


def _priced(table: Table, cells: dict[str, Any]) -> bool:
    """Where the table has quantity and price columns, a row with neither is a charge, an allowance or a
    subtotal printed between the items (`Abschlag`, `Zuschlag Verpackung`), not an item."""
    roles = {column.role for column in table.columns}
    if {"quantity", "unit_price"} <= roles:
        return cells["quantity"] is not None or cells["unit_price"] is not None
    return True


def _note(cells: dict[str, Any]) -> bool:
    """`Bruttopreis : 15,00 ... 4,5`: a label whose numbers fall under the columns, not an item (an item
    named with a colon, `Heiße Luft pro Liter:`, has quantity x price = total)."""
    if cells["across"]:
        return True  # one `Key : value` line printed across the columns
    quantity, price, total = cells["quantity"], cells["unit_price"], cells["total"]
    if not cells["description"].rstrip().endswith(":") or None in (quantity, price):
        return False
    return abs(quantity * price - total) > max(Decimal("0.05"), abs(total) * Decimal("0.02"))


def _join(text: str, more: str) -> str:
    """A word broken at a hyphen goes back together: `Personen-` + `Unfallversicherung`."""
    return (text + more if text.endswith("-") else f"{text} {more}")[:160]


def _cells(table: Table, row: list[Piece]) -> dict[str, Any]:
    """What the row prints under each column: the description's words, the first amount of each other."""
    left, right = table.description_span()
    cells: dict[str, Any] = {"position": False, "outside": False, **{role: None for role in NUMERIC}}
    words = []
    for piece in row:
        column, under = table.placed(piece)
        role = column.role if column else None
        if role in NUMERIC and piece.amount is not None:
            if under or cells[role] is None:  # right-aligned: the last amount under the header is its value
                cells[role] = piece.amount.value
        elif role == "description" or left <= _line_centre(piece) < right:
            words.append(piece)  # a long description runs on under the next column's header
        elif role in ("position", "code") or piece.centre < left:
            cells["position"] = cells["position"] or role == "position"
        else:
            cells["outside"] = True  # words right of the description: a unit (`Stk`), or a note across columns
    cells["description"] = _text(words)
    first = words[0].line if words else None
    cells["across"] = bool(first and ":" in first.text and first.x1 > right + 2 * table.height)
    cells["extent"] = (min((w.x0 for w in words), default=0.0), max((w.x1 for w in words), default=0.0))
    return cells


def _line_centre(piece: Piece) -> float:
    return (piece.line.x0 + piece.line.x1) / 2 if piece.line else piece.centre


def _text(words: list[Piece]) -> str:
    """The words as printed: each line's stretch of text from its first word to its last."""
    parts: list[str] = []
    index = 0
    while index < len(words):
        line, first = words[index].line, words[index]
        while index + 1 < len(words) and words[index + 1].line is line:
            index += 1
        parts.append(line.text[first.start:words[index].end] if line else first.text)
        index += 1
    return " ".join(parts).strip(" .|")


def _item(cells: dict[str, Any]) -> dict[str, Any]:
    """Values as printed: a quantity the row does not print is not worked out from total / price."""
    return {"description": cells["description"][:160], "quantity": _number(cells["quantity"]),
            "unit_price": _number(cells["unit_price"]), "total": _number(cells["total"])}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _wraps(table: Table, cells: dict[str, Any]) -> bool:
    """The description cell wrapped onto this row: words only, inside the description column, no new
    position, not a `Key : value` note. (Where a line breaks says nothing: renderers print a name's
    parts on lines of their own, `Mineralwasser` / `Medium` / `12 x 1,0l PET`.)"""
    text = cells["description"]
    if not text or cells["position"] or cells["outside"] or any(cells[role] is not None for role in NUMERIC):
        return False
    if re.search(r"(:\s*$)|(\s[:=]\s)|(^\w[\w .-]*:\s*\S)", text) and not text.startswith("("):
        return False
    _, right = table.description_span()
    return cells["extent"][1] <= right + 2 * table.height  # wider than the column: a note across the table


def ends_table(row: list[Line]) -> bool:
    """The totals under the table: `Subtotal`, `Nettobetrag`, `Total HT`, `Positionssumme` ..."""
    first = L.normal(row[0].text)
    if any(first.startswith(word) for word in END_WORDS):
        return True
    return any((hit := L.best_label(row[0].text, labels)) is not None and hit.start == 0 and hit.weight > 0
               for labels in END)

"""Candidate finders: for each field, the values printed on the page that could be it.

Code reads the page; the model only chooses. Every candidate is a value
printed on a page (its text, page and line), normalised in code (ISO dates,
plain numbers) and scored by how documents are printed: the label on its row,
its place on the page, a legal suffix, the size of the type. A finder never
invents a value, so what comes out is always on the page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import amounts, dates
from . import labels as L
from .fields import FieldRule
from .layout import Line, Page


@dataclass
class Candidate:
    value: Any  # normalised: ISO date, float, text
    text: str  # as printed
    page: int
    line: int  # index of the line in reading order on its page
    score: float
    why: str
    alternatives: list[Any] = field(default_factory=list)  # other readings (an ambiguous date)
    support: int = 1  # how many places print it

    def as_dict(self) -> dict[str, Any]:
        out = {"value": self.value, "text": self.text, "page": self.page, "line": self.line,
               "score": round(self.score, 2), "why": self.why}
        if self.alternatives:
            out["alternatives"] = self.alternatives
        return out


@dataclass
class Context:
    pages: list[Page]
    date_order: dates.Decision
    text: str
    label_phrases: frozenset[str] = frozenset()  # every label of the schema's fields

    def is_label(self, text: str) -> bool:
        words = L.normal(text)
        return text.rstrip().endswith(":") or words in self.label_phrases


Finder = Callable[[Context, FieldRule], list[Candidate]]


def find(ctx: Context, rule: FieldRule) -> list[Candidate]:
    """The candidates of one field, best first, one per distinct value."""
    found = FINDERS[rule.kind](ctx, rule)
    return merge(found)


def merge(found: Iterable[Candidate]) -> list[Candidate]:
    """Same value printed twice: one candidate, a little stronger, kept at its best place."""
    best: dict[str, Candidate] = {}
    counts: dict[str, int] = defaultdict(int)
    for candidate in found:
        key = repr(candidate.value).casefold()
        counts[key] += 1
        if key not in best or candidate.score > best[key].score:
            best[key] = candidate
    for key, candidate in best.items():
        candidate.support = counts[key]
        candidate.score += 0.4 * min(counts[key] - 1, 2)
    return sorted(best.values(), key=lambda c: (-c.score, c.page, c.line))


# -- where the label of a value is --------------------------------------------------------------------


def label_of(page: Page, line: Line, start: int, rules: L.LabelSet, floor: int = 0) -> L.LabelHit | None:
    """The label that a value at `line.text[start:]` is printed under: before it on its line (after
    `floor`, the end of the value printed before it there), the nearest labelled cell to its left
    on its row (`TOTAL | RM | 9.00`), or the line just above it (forms that stack label over value)."""
    hit = L.best_label(line.text[floor:start], rules)
    if hit or floor:
        return hit
    lefts = [other for other in page.rows[line.row] if other.x1 <= line.x0 + line.height * 0.5 and other is not line]
    words = _label_words(lefts)
    if len(words) > 1:  # a label set word by word: `Gesamtbetrag | der | Zuschläge | 0,00`
        hit = L.best_label(" ".join(words), rules)
        if hit:
            return hit
    for other in reversed(lefts):
        hit = L.best_label(other.text, rules)
        if hit:
            return hit
    if lefts or line.row == 0:
        return None
    above = [other for other in page.rows[line.row - 1] if other.x0 < line.x1 and other.x1 > line.x0]
    return L.best_label(above[0].text, rules) if above and not amounts.find(above[0].text) else None


def _label_words(lefts: list[Line]) -> list[str]:
    """The cells left of a value back to the previous amount: the words of its label."""
    words: list[str] = []
    for other in reversed(lefts):
        if amounts.find(other.text):
            break
        words.insert(0, other.text)
    return words


def label_weight(hit: L.LabelHit | None) -> float:
    if hit is None:
        return 0.0
    return hit.weight if hit.weight else -3.0


# -- dates --------------------------------------------------------------------------------------------


_TIME = re.compile(r"^\W{0,3}\d{1,2}[:.]\d{2}(?![\d/]|[.,]\d)")  # 14.09 alone, not 14.09.2018


def find_dates(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found = []
    for page in ctx.pages:
        for line in page.lines:
            floor = 0
            for token in dates.find(line.text):
                found += _date_candidate(ctx, page, line, token, rule, floor)
                floor = token.end
    return found


def _date_candidate(ctx: Context, page: Page, line: Line, token: dates.DateToken, rule: FieldRule,
                    floor: int = 0) -> list[Candidate]:
    value = token.reading(ctx.date_order.order)
    if value is None:  # ambiguous and nothing decides: the day-first reading, flagged by `alternatives`
        value = token.readings.get("DMY") or min(token.values)
    alternatives = sorted(d.isoformat() for d in token.values if d != value)
    hit = label_of(page, line, token.start, rule.labels, floor)
    if hit is not None and not hit.weight:
        return []  # a due date is never the invoice date
    score = 1.0 + label_weight(hit) - 0.02 * line.index / max(1, len(page.lines))
    why = f"label {hit.phrase!r}" if hit and hit.weight else "a date on the page"
    if _TIME.search(line.text[token.end:token.end + 12]):
        score, why = score + 0.8, why + ", with a time (a transaction's timestamp)"
    if line.height > 1.6 * page.median_height:
        score, why = score - 0.5, why + ", in large type (a stamp)"
    if _title_row(page, line):
        score, why = score + 2.5, "the date in the document's title"
    undecided = token.ambiguous and ctx.date_order.order is None
    return [Candidate(value.isoformat(), token.text, page.number, line.index, score, why,
                      alternatives if undecided else [])]


# -- amounts ------------------------------------------------------------------------------------------


def find_amounts(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found: list[Candidate] = []
    whole_penalty = 1.5 if _prints_cents(ctx) else 0.5  # "TOTAL 3" on a page of 9.00s is a count
    for page in ctx.pages:
        for line in page.lines:
            floor = 0
            for token in amounts.find(line.text):
                hit = label_of(page, line, token.start, rule.labels, floor)
                floor = token.end
                if hit is None or not hit.weight:
                    continue
                table = _table_row(page, line, token)
                if table and (rule.name_hint == "total" or not _rightmost(page, line, token)):
                    continue  # a tax summary's TOTAL row, or a column that is not the field's
                score = hit.weight + (0.3 if token.cents else -whole_penalty) - (0.3 if table else 0)
                if rule.name_hint == "total" and hit.phrase in L.BALANCE:
                    score += 0.5  # what is left to pay after an advance or a payment is the amount due
                found.append(Candidate(float(token.value), token.text, page.number, line.index, score,
                                       f"label {hit.phrase!r}"))
    if rule.name_hint == "total":
        _last_printed_wins(found)
        found += _arithmetic(ctx, found)
    return found


def _table_row(page: Page, line: Line, token: amounts.AmountToken) -> bool:
    """Two or more money values on a labelled row: a table row (a tax summary), not a field."""
    money = {t.value for other in page.rows[line.row] for t in amounts.find(other.text) if t.cents}
    return len(money) >= 2


def _prints_cents(ctx: Context) -> bool:
    tokens = [t for page in ctx.pages for line in page.lines for t in amounts.find(line.text)]
    return sum(t.cents for t in tokens) >= 0.5 * len(tokens) > 0


def _rightmost(page: Page, line: Line, token: amounts.AmountToken) -> bool:
    row_tokens = [(other.x0, t.start) for other in page.rows[line.row] for t in amounts.find(other.text) if t.cents]
    return bool(row_tokens) and max(row_tokens) == (line.x0, token.start)


def _last_printed_wins(found: list[Candidate]) -> None:
    """Totals are printed after the sums they total: the lowest labelled total gains most."""
    ranked = sorted(found, key=lambda c: (c.page, c.line))
    for rank, candidate in enumerate(ranked):
        candidate.score += rank / max(1, len(ranked) - 1) if len(ranked) > 1 else 0.0


def _arithmetic(ctx: Context, labelled: list[Candidate]) -> list[Candidate]:
    """What the page's own sums say the total is: paid minus change, subtotal plus tax and rounding.
    A labelled total that agrees gains; an amount printed elsewhere that agrees becomes a candidate."""
    paid = _values(ctx, L.PAYMENT)
    change = [value for value, _ in _values(ctx, L.CHANGE)] or [Decimal(0)]
    sums: dict[Decimal, list[tuple[float, str]]] = defaultdict(list)
    for value, _ in paid:
        for back in change:
            if value - back > 0:
                sums[value - back].append((1.0, f"paid {value} - change {back}"))
    for total, why in _sum_of_parts(ctx).items():
        sums[total].append((0.5, why))
    printed = {t.value: (page, line, t) for page in ctx.pages for line in page.lines
               for t in amounts.find(line.text) if t.cents}
    out = []
    for total, reasons in sums.items():
        gain = max(weight for weight, _ in reasons) + 0.3 * (len(reasons) - 1)
        why = "; ".join(text for _, text in reasons)
        matches = [c for c in labelled if Decimal(str(c.value)) == total]
        for candidate in matches:
            candidate.score += gain
            candidate.why += f"; = {why}"
        if not matches and total in printed:
            page, line, token = printed[total]
            out.append(Candidate(float(total), token.text, page.number, line.index, 1.0 + gain, why))
    return out


def _sum_of_parts(ctx: Context) -> dict[Decimal, str]:
    subtotals = [value for value, _ in _values(ctx, L.SUBTOTAL)]
    taxes = [value for value, _ in _values(ctx, L.TAX)] + [Decimal(0)]
    extras = [value for value, _ in _values(ctx, L.ADJUSTMENT)] + [Decimal(0)]
    sums = {}
    for sub in subtotals:
        for tax in taxes:
            for extra in extras:
                if tax or extra:
                    sums[sub + tax + extra] = f"subtotal {sub} + {tax} + {extra}"
    return sums


def _values(ctx: Context, rules: L.LabelSet) -> list[tuple[Decimal, tuple[Page, Line]]]:
    values = []
    for page in ctx.pages:
        for line in page.lines:
            for token in amounts.find(line.text):
                hit = label_of(page, line, token.start, rules)
                if hit and hit.weight and token.cents and not _table_row(page, line, token):
                    values.append((token.value, (page, line)))
    return values


def find_currency(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found = []
    for page in ctx.pages:
        for line in page.lines:
            for code in amounts.currencies(line.text):
                found.append(Candidate(code, code, page.number, line.index, 1.0, "printed currency"))
    return found


# -- text values after a label ---------------------------------------------------------------------------


def labelled_text(ctx: Context, page: Page, line: Line, hit: L.LabelHit) -> tuple[str, Line] | None:
    """The value printed after a label: on its line, to its right on the row, or just below it
    (a form's box). A neighbour that is itself a label (the next box's) is no value."""
    return next(labelled_texts(ctx, page, line, hit), None)


def labelled_texts(ctx: Context, page: Page, line: Line, hit: L.LabelHit) -> Iterator[tuple[str, Line]]:
    """Where a label's value may be printed, nearest first: after it, to its right, below it."""
    if L.compound(line.text, hit.phrase):
        return
    rest = L.after_label(line.text, hit.phrase)
    if rest:
        yield rest, line
        return
    right = page.same_row_right(line)
    if right and not ctx.is_label(right[0].text):
        yield right[0].text.strip(), right[0]
    below = page.below(line, rows=1)
    if below and not ctx.is_label(below[0].text):
        yield below[0].text.strip(), below[0]


def find_labelled(ctx: Context, rule: FieldRule, accept: Callable[[str], str | None]) -> list[Candidate]:
    found = []
    for page in ctx.pages:
        for line in page.lines:
            hit = L.best_label(line.text, rule.labels)
            if not hit or not hit.weight or hit.start > 0:
                continue
            # the first neighbour that reads as the value: `Facture n° | Date de facture` over `F-2025-10870`
            value, cleaned = next(((found, kept) for found in labelled_texts(ctx, page, line, hit)
                                   if (kept := accept(found[0]))), (None, None))
            if value and cleaned:
                score = hit.weight - 0.01 * line.index / max(1, len(page.lines))
                found.append(Candidate(cleaned, value[0], page.number, value[1].index, score,
                                       f"label {hit.phrase!r}"))
    return found


def _identifier(text: str) -> str | None:
    token = text.split()[0].strip(".,;:") if text.split() else ""
    if len(token) < 3 or len(token) > 40 or not any(ch.isdigit() for ch in token):
        return None
    return token


def _name(text: str) -> str | None:
    cleaned = text.strip(" :.-")
    if len(cleaned) < 2 or sum(ch.isdigit() for ch in cleaned) > len(cleaned) / 3:
        return None
    return cleaned[:160]


def _text(text: str) -> str | None:
    cleaned = text.strip(" :.-")
    return cleaned[:160] if len(cleaned) >= 2 else None


def find_identifiers(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found = find_labelled(ctx, rule, _identifier)
    if set(L.INVOICE_NUMBER.strong) <= set(rule.labels.strong):
        found += _title_numbers(ctx)
    return found


def row_text(page: Page, line: Line) -> str:
    return " ".join(other.text.strip() for other in page.rows[line.row])


def _title_row(page: Page, line: Line) -> bool:
    return bool(L.DOCUMENT_TITLE.match(row_text(page, line)))


def _title_numbers(ctx: Context) -> list[Candidate]:
    """The number in a document's title, `Mietrechnung Nr. 9314110911/00/M/00/N vom 01.10.2018`."""
    found = []
    for page in ctx.pages:
        for row in page.rows:
            text = row_text(page, row[0])
            heading = row[0].height >= 1.3 * page.median_height
            match = L.DOCUMENT_TITLE.match(text) or (L.TITLE_HEADING.match(text) if heading else None)
            number = _identifier(text[match.end():]) if match else None
            if number and not dates.find(number):
                where = next((line for line in row if number in line.text), row[0])
                found.append(Candidate(number, number, page.number, where.index, 3.5, "the document's title"))
    return found


def find_people(ctx: Context, rule: FieldRule) -> list[Candidate]:
    return find_labelled(ctx, rule, _name)


def find_texts(ctx: Context, rule: FieldRule) -> list[Candidate]:
    return find_labelled(ctx, rule, _text)


# -- organisations ------------------------------------------------------------------------------------


TOP_ROWS = 12  # a letterhead or a shop's name is printed in the first rows
STAMP_ANGLE = 8.0  # degrees off the page's own lines: a stamp or a scribble, not the letterhead


def find_orgs(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found = find_labelled(ctx, rule, _org_name) if rule.labels.strong or rule.labels.labels else []
    found = [candidate for candidate in found if not ctx.is_label(candidate.text)] + _party_sections(ctx, rule)
    for candidate in found:
        candidate.score += 1.0 + _org_shape(candidate.value)
    page = ctx.pages[0] if ctx.pages else None
    if page is not None:
        found += _letterhead(page) + _legal_lines(page)
        recipient = recipient_block(page)
        found = [candidate for candidate in found
                 if candidate.page != page.number or candidate.line not in recipient]
    return found


def _party_sections(ctx: Context, rule: FieldRule) -> list[Candidate]:
    """A section headed by the party's role alone (`Verkäufer`, `Seller`), its name on a `Name:` line below."""
    found = []
    for page in ctx.pages:
        for line in page.lines:
            hit = L.best_label(line.text, rule.labels)
            if not hit or not hit.weight or L.normal(line.text) != hit.phrase:
                continue  # a heading is the role alone: `Verkäufer-Kontoname : …` is no section
            for row in page.rows[line.row + 1:line.row + 1 + RECIPIENT_ROWS]:
                for other in row:
                    name = L.best_label(other.text, L.PARTY_NAME)
                    value = labelled_text(ctx, page, other, name) if name and name.start == 0 else None
                    cleaned = _org_name(value[0]) if value else None
                    if value and cleaned:
                        found.append(Candidate(cleaned, value[0], page.number, value[1].index, hit.weight + 1.5,
                                               f"name under {hit.phrase!r}"))
            found += _first_name_below(page, line, hit)
    return found


def _first_name_below(page: Page, line: Line, hit: L.LabelHit) -> list[Candidate]:
    """A section `Verkäufer:` / `Nummer : 549910` / `MUSTER-Autovermietung`: the first line that is a name."""
    for row in page.rows[line.row + 1:line.row + 1 + RECIPIENT_ROWS]:
        column = [other for other in row if other.x0 <= line.x0 + 0.45 * page.width]
        text = " ".join(other.text.strip() for other in column)
        if not column or ":" in text:
            continue  # `Nummer : 549910`, printed as one run or word by word
        name = _org_name(text)
        if name and not L.ADDRESS.search(name):
            return [Candidate(name, text, page.number, column[0].index, hit.weight + 1.0,
                              f"first name under {hit.phrase!r}")]
    return []


RECIPIENT_ROWS = 6  # a recipient's address block: its label, a name, a street, a town, a country


def recipient_block(page: Page) -> set[int]:
    """Indexes of the lines in a `Bill to` / `Kunde` / `Client` block: the label's line, what follows it
    on its row, and the rows below it in its column. The issuer is never printed there."""
    inside: set[int] = set()
    for line in page.lines:
        hit = L.best_label(line.text, L.RECIPIENT)
        if not hit or not hit.weight or hit.start > 0:
            continue
        inside.add(line.index)
        column = (line.x0 - 2 * line.height, line.x0 + 0.45 * page.width)
        inside.update(other.index for other in page.same_row_right(line)[:1] if other.x0 <= column[1])
        filled = bool(L.after_label(line.text, hit.phrase))
        if filled and hit.phrase in L.RECIPIENT_FIELDS:
            continue  # `Guest Name: Sanjay` is one field, not a block
        rows = 3 if filled else RECIPIENT_ROWS
        for row in page.rows[line.row + 1:line.row + 1 + rows]:
            inside.update(other.index for other in row if column[0] <= other.x0 <= column[1])
    return inside


_FIELD_LINE = re.compile(r"^[\w.\- ]{1,30}\s?:(?:\s|$)")  # `Nummer : 549910`, a labelled field


def _org_name(text: str) -> str | None:
    """A printed name without its registration number; None for what is not a name."""
    if _FIELD_LINE.match(text):
        return None
    name = L.REGISTRATION.sub("", text).strip(" ,;:-")
    if sum(ch.isalpha() for ch in L.LEGAL_SUFFIX.sub("", name)) < 3 or re.fullmatch(r"\(.*\)", name):
        return None  # `GmbH` alone, `(GLN)`
    if L.NOT_A_NAME.search(name) or _name(name) is None or dates.find(name) or sum(ch.isalpha() for ch in name) < 3:
        return None
    return name


def _letterhead(page: Page) -> list[Candidate]:
    median = page.median_height
    out = []
    for row_number, row in enumerate(page.rows[:TOP_ROWS]):
        row = [line for line in row if abs(line.angle - page.skew_deg) < STAMP_ANGLE]
        for first, segment in _segments(row):
            text = _org_name(_name_part(_joined(page, first, segment)))
            if text is None:
                continue
            size = min(0.8, 0.8 * (first.height / median - 1))
            score = 1.2 + _org_shape(text) - 0.25 * row_number + size
            out.append(Candidate(text, text, page.number, first.index, score, "top of the page"))
    return out


def _legal_lines(page: Page) -> list[Candidate]:
    """The issuer's legal line below the letterhead (a footer's `Muster GmbH · HRB 1234 · IBAN …`):
    the part of a line that ends in a legal form, cut from its registration and bank details."""
    out = []
    for row in page.rows[TOP_ROWS:]:
        for line in row:
            for part in re.split(r"\s[·•|]\s|\s[-–]\s|;|,\s(?=[A-Z][a-z]+:)", line.text):
                match = L.LEGAL_SUFFIX.search(part)
                text = _org_name(part[:match.end()]) if match else None
                if text and len(text.split()) <= 8:
                    out.append(Candidate(text, text, page.number, line.index, 0.6 + _org_shape(text), "legal line"))
    return out


def _name_part(text: str) -> str:
    """`Au bon moulin SARL - 1242 chemin de l'olive - 84340 Malaucène`: the name before the address."""
    return re.split(r"\s[-–·•|]\s", text)[0]


def _segments(row: list[Line]) -> list[tuple[Line, str]]:
    """Lines of a row printed close together are one text: `SAM | SAM TRADING | CO`."""
    segments: list[tuple[Line, list[Line]]] = []
    for line in row:
        if segments and line.x0 - segments[-1][1][-1].x1 < 1.5 * line.height:
            segments[-1][1].append(line)
        else:
            segments.append((line, [line]))
    return [(first, " ".join(part.text.strip() for part in parts)) for first, parts in segments]


def _org_shape(text: str) -> float:
    """Legal suffixes and trade words make a name; addresses and lower-case notes typed on a scan do not."""
    letters = [ch for ch in text if ch.isalpha()]
    upper = sum(ch.isupper() for ch in letters) / max(1, len(letters))
    score = 1.5 if L.LEGAL_SUFFIX.search(text) else 0.0
    score += 0.1 if L.TRADE_WORDS.search(text) else 0.0
    score += 0.3 if upper > 0.8 else (-1.0 if upper < 0.2 else 0.0)
    score -= 1.5 if L.ADDRESS.search(text) and not L.LEGAL_SUFFIX.search(text) else 0.0
    return score


def _joined(page: Page, line: Line, text: str) -> str:
    """A name printed over two lines: `AIK HUAT HARDWARE ENTERPRISE` / `(SETIA ALAM) SDN BHD`."""
    text = text.strip()
    if L.LEGAL_SUFFIX.search(text) or line.row + 1 >= len(page.rows):
        return text
    below = [other for other in page.rows[line.row + 1] if other.x0 < line.x1 and other.x1 > line.x0]
    if len(below) != 1 or _org_name(below[0].text) is None:
        return text
    tail = L.REGISTRATION.sub("", below[0].text).strip()
    bare = L.LEGAL_SUFFIX.sub("", tail).strip(" .()")
    suffix_only = L.LEGAL_SUFFIX.search(tail) and (tail.startswith("(") or len(bare) <= 4)
    if suffix_only or re.search(r"(&|\band|-)$", text, re.IGNORECASE):
        return f"{text} {tail}"
    return text


# -- keywords, titles, document types ---------------------------------------------------------------------


def find_keywords(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found = find_labelled(ctx, rule, _text)
    for page in ctx.pages:
        for line in page.lines:
            words = L.normal(line.text)
            for keyword in rule.keywords:
                if L.best_label(words, L.LabelSet(labels=(keyword,))):
                    printed = _printed(line.text, keyword)
                    found.append(Candidate(printed, printed, page.number, line.index, 1.0, "payment keyword"))
    return found


def _printed(text: str, keyword: str) -> str:
    """The keyword as printed on the line (its case), for grounding."""
    import re

    pattern = r"[^\w]*".join(re.escape(word) for word in keyword.split())
    match = re.search(pattern, text, re.IGNORECASE)
    return match.group(0) if match else keyword.title()


def find_titles(ctx: Context, rule: FieldRule) -> list[Candidate]:
    if not ctx.pages or not ctx.pages[0].lines:
        return []
    page = ctx.pages[0]
    top = [line for row in page.rows[:8] for line in row if sum(ch.isalpha() for ch in line.text) >= 3]
    return [Candidate(line.text.strip(), line.text, page.number, line.index,
                      line.height / page.median_height - 0.05 * line.row, "largest type near the top")
            for line in top]


def find_document_types(ctx: Context, rule: FieldRule) -> list[Candidate]:
    found = []
    for page in ctx.pages[:1]:
        for line in page.lines[:40]:
            words = L.normal(line.text)
            for phrase, kind in L.DOCUMENT_TYPES:
                if L.best_label(words, L.LabelSet(labels=(phrase,))):
                    score = 2.0 - 0.03 * line.row + len(phrase) / 20
                    found.append(Candidate(kind, line.text, page.number, line.index, score, f"printed {phrase!r}"))
                    break
    return found


FINDERS: dict[str, Finder] = {
    "date": find_dates, "amount": find_amounts, "currency": find_currency, "identifier": find_identifiers,
    "person": find_people, "text": find_texts, "org": find_orgs, "keyword": find_keywords,
    "title": find_titles, "document_type": find_document_types,
}

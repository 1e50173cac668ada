"""Grounding, a hallucination guard: is each extracted value written in the document?

Every string, number and date of a result is looked up in the OCR text of
the same document. Matching forgives what OCR and models change without
changing meaning: case, whitespace and punctuation, thousands and decimal
separators, currency signs, and the common ways of writing a date. A value
that cannot be found is reported with its field path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .tier import Reason

# Keys that describe the extraction rather than the document.
SKIP_KEYS = frozenset({"confidence", "confidences", "field_confidence", "notes", "summary", "caption",
                       "type", "document_type", "currency"})

_NUMBER = re.compile(r"[-−]?\d[\d.,'’\u00a0\u202f ]*\d|[-−]?\d")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_DATE_FORMATS = (
    "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d",
    "%d/%m/%y", "%m/%d/%y", "%d.%m.%y",
    "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d, %Y", "%B %d, %Y",
)
_DATE_TOKEN = re.compile(
    r"\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}\b"
    r"|\b\d{1,2}[ \-][A-Za-z]{3,9}\.?[ \-,]+\d{2,4}\b"
    r"|\b[A-Za-z]{3,9}\.? \d{1,2},? \d{4}\b"
)


@dataclass
class Unfound:
    field: str
    value: Any

    def as_reason(self) -> Reason:
        return {"code": "ungrounded", "field": self.field,
                "message": f"{self.field} = {self.value!r} does not appear in the document text"}


class OcrIndex:
    """The OCR text, prepared once for the three kinds of lookup."""

    def __init__(self, text: str):
        self.text = text
        self.squashed = squash(text)
        self.numbers = set(numbers_in(text))
        self.dates = set(dates_in(text))

    def has_string(self, value: str) -> bool:
        """Printed as one run, or word by word in that order (a description wrapped over rows)."""
        key = squash(value)
        if not key or key in self.squashed:
            return True
        position = 0
        for word in filter(None, map(squash, re.split(r"[\s\-]+", value))):
            position = self.squashed.find(word, position)
            if position < 0:
                return False
            position += len(word)
        return True

    def has_number(self, value: float | int | Decimal) -> bool:
        wanted = Decimal(str(value)).normalize()
        return any(candidate == wanted for candidate in self.numbers)

    def has_date(self, value: date) -> bool:
        return value in self.dates


def squash(text: str) -> str:
    """Case-folded letters and digits only: whitespace, punctuation and currency signs go."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def numbers_in(text: str) -> Iterator[Decimal]:
    """Every reading of every number-like token (1,247.50 / 1.247,50 / 1 247,50)."""
    for token in _NUMBER.findall(text):
        yield from _readings(token)
        for part in token.split():  # "Qty 2 3" holds 2 and 3 as well as 23
            yield from _readings(part)


def _readings(token: str) -> Iterator[Decimal]:
    token = token.replace("−", "-")
    compact = re.sub(r"[\s'’\u00a0\u202f]", "", token)
    candidates = {compact.replace(",", ""), compact.replace(".", "").replace(",", ".")}
    candidates.add(re.sub(r"[.,]", "", compact))  # 1.247 meaning 1247
    for candidate in candidates:
        try:
            yield Decimal(candidate).normalize()
        except InvalidOperation:
            continue


def dates_in(text: str) -> Iterator[date]:
    from .dates import find  # every printed form the date finders know (20-11-17, 22 MAR 18, ...)

    for token in _DATE_TOKEN.findall(text):
        yield from parse_dates(token)
    for printed in find(text):
        yield from printed.values


def parse_dates(token: str) -> Iterator[date]:
    """All dates a token may mean (03/04/2024 is both 3 April and 4 March)."""
    cleaned = re.sub(r"\s+", " ", token.replace(".", " ").strip()) if re.search(r"[A-Za-z]", token) else token
    for fmt in _DATE_FORMATS:
        for candidate in {token, cleaned}:
            try:
                yield datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _ISO_DATE.match(value.strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None


def as_number(value: str) -> Decimal | None:
    """A string field that is just a number (an amount typed as text)."""
    stripped = re.sub(r"[\s$€£¥₹]|(?i:usd|eur|gbp)", "", value)
    if not re.fullmatch(r"[-−]?[\d.,']+", stripped or "x"):
        return None
    readings = list(_readings(stripped))
    return readings[0] if readings else None


def leaves(value: Any, path: str = "", skip: Iterable[str] = SKIP_KEYS) -> Iterator[tuple[str, Any]]:
    """(field path, value) for every scalar in a nested result, skipping meta keys."""
    skip = frozenset(skip)
    if isinstance(value, dict):
        for key, item in value.items():
            if key in skip or key.endswith("_confidence"):
                continue
            yield from leaves(item, f"{path}.{key}" if path else key, skip)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]", skip)
    elif value is not None and not isinstance(value, bool):
        yield path, value


def found(index: OcrIndex, value: Any) -> bool:
    if isinstance(value, (int, float, Decimal)):
        return index.has_number(value)
    if not isinstance(value, str):
        return index.has_string(str(value))
    when = as_date(value)
    if when is not None:
        return index.has_date(when) or index.has_string(value)
    number = as_number(value)
    if number is not None:
        return index.has_number(number) or index.has_string(value)
    return index.has_string(value)


def ground(result: dict[str, Any], ocr_text: str, skip: Iterable[str] = SKIP_KEYS) -> list[Unfound]:
    """The extracted values that the OCR text does not contain."""
    index = OcrIndex(ocr_text)
    return [Unfound(field, value) for field, value in leaves(result, skip=skip) if not found(index, value)]

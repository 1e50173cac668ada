"""Dates as they are printed: every common form, and the day/month question.

`find(text)` returns every date token with all the calendar dates it may
mean. `03/04/2024` means 3 April (DMY) or 4 March (MDY); which one is settled
by `resolve_order`: an explicit `date_order`, else the page's own unambiguous
dates, else what the page says about where it was printed (its currency and
tax), else the machine's locale; if nothing decides, the date is ambiguous
and the field goes to review.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

Order = Literal["DMY", "MDY", "YMD"]
ORDERS: tuple[Order, ...] = ("DMY", "MDY", "YMD")

# Month names and abbreviations: English, Malay, German, French, Spanish, Italian, Portuguese, Dutch.
_MONTH_NAMES = {
    1: "january jan januar janvier janv enero ene gennaio gen janeiro januari",
    2: "february feb febr februar fevrier février févr fevr fév febrero febbraio fevereiro fev februari",
    3: "march mar mac märz maerz mär mrz mars marzo março marco maart mrt",
    4: "april apr avril avr abril aprile abr",
    5: "may mei mai mayo maggio mag maio",
    6: "june jun juni juin junio giugno giu junho",
    7: "july jul juli juillet juil julio luglio lug julho",
    8: "august aug ogos ogo agosto ago août aout augustus",
    9: "september sep sept septembre septiembre settembre set setembro",
    10: "october oct okt oktober octobre octubre ottobre ott outubro out",
    11: "november nov novembre noviembre novembro",
    12: "december dec déc dis dez dezember décembre decembre diciembre dic dicembre dezembro",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))

_SEP = r"\s?[/.\-]\s?"
_NUMERIC = re.compile(rf"(?<![\d/.\-])(?<!\d:)(\d{{1,4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{2,4}})(?![\d/]|[.\-]\d)")
_DAY_MONTH = re.compile(rf"(?<![\w])(\d{{1,2}})(?:st|nd|rd|th)?[\s./\-]{{0,3}}({_MONTH})\.?[\s./\-,]{{0,3}}(\d{{4}}|\d{{2}})(?![\d])",
                        re.IGNORECASE)
_MONTH_DAY = re.compile(rf"(?<![\w])({_MONTH})\.?\s{{0,2}}(\d{{1,2}})(?:st|nd|rd|th)?,?\s{{1,2}}(\d{{4}})(?!\d)", re.IGNORECASE)
_YEAR_MONTH = re.compile(rf"(?<![\d])(\d{{4}})[\s\-/.]({_MONTH})[\s\-/.](\d{{1,2}})(?!\d)", re.IGNORECASE)

FIRST_YEAR, LAST_YEAR = 1970, date.today().year + 10


@dataclass(frozen=True)
class DateToken:
    text: str  # as printed
    start: int
    end: int
    readings: dict[str, date]  # order ("DMY", "MDY", "YMD", "named") -> date

    @property
    def values(self) -> set[date]:
        return set(self.readings.values())

    @property
    def ambiguous(self) -> bool:
        return len(self.values) > 1

    def reading(self, order: str | None) -> date | None:
        """The date under `order`; an unambiguous token has one whatever the order."""
        if not self.ambiguous:
            return next(iter(self.values))
        return self.readings.get(order) if order else None


def find(text: str) -> list[DateToken]:
    """Every date printed in `text`, in order, with its possible readings."""
    tokens: list[DateToken] = []
    taken: list[tuple[int, int]] = []
    for pattern, read in ((_YEAR_MONTH, _read_year_month), (_DAY_MONTH, _read_day_month),
                          (_MONTH_DAY, _read_month_day), (_NUMERIC, _read_numeric)):
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            readings = read(*match.groups())
            if readings:
                tokens.append(DateToken(match.group(0), match.start(), match.end(), readings))
                taken.append((match.start(), match.end()))
    return sorted(tokens, key=lambda token: token.start)


def _year(text: str) -> int:
    value = int(text)
    return value + 2000 if len(text) == 2 and value < 70 else value + 1900 if len(text) == 2 else value


def _make(year: int, month: int, day: int) -> date | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _keep(readings: dict[str, date | None]) -> dict[str, date]:
    return {order: value for order, value in readings.items() if value is not None}


def _read_numeric(first: str, second: str, third: str) -> dict[str, date]:
    if len(first) == 4:
        return _keep({"YMD": _make(int(first), int(second), int(third))}) if len(third) <= 2 else {}
    if len(first) == 3 or len(third) == 3:
        return {}
    year = _year(third)
    return _keep({"DMY": _make(year, int(second), int(first)), "MDY": _make(year, int(first), int(second))})


def _read_day_month(day: str, month: str, year: str) -> dict[str, date]:
    return _keep({"named": _make(_year(year), MONTHS[month.lower()], int(day))})


def _read_month_day(month: str, day: str, year: str) -> dict[str, date]:
    return _keep({"named": _make(_year(year), MONTHS[month.lower()], int(day))})


def _read_year_month(year: str, month: str, day: str) -> dict[str, date]:
    return _keep({"named": _make(int(year), MONTHS[month.lower()], int(day))})


# -- which order: DMY or MDY ---------------------------------------------------------------------

# What a page prints about where it comes from: currencies and tax regimes of day-first countries,
# and the US sales tax. Data, not merchants: extend it rather than special-casing a shop.
DAY_FIRST_CUES = re.compile(
    r"\b(RM|MYR|SGD|S\$|GBP|EUR|INR|AUD|A\$|NZD|ZAR|GST|VAT|SST|MwSt|USt|TVA|IVA|BTW|SDN\.? ?BHD|S/B|GmbH|Ltd)\b|[£€₹]",
    re.IGNORECASE)
MONTH_FIRST_CUES = re.compile(r"\bsales tax\b", re.IGNORECASE)

_MDY_COUNTRIES = {"US", "PH", "FM", "MH", "PW", "BZ"}
_YMD_COUNTRIES = {"CN", "JP", "KR", "TW", "HU", "MN", "LT", "IR"}


@dataclass(frozen=True)
class Decision:
    order: Order | None
    how: str  # "option", "page dates", "page cues: RM", "locale en_GB", "undecided"


def resolve_order(tokens: Iterable[DateToken], text: str, option: str | None = None,
                  environ: dict[str, str] | None = None) -> Decision:
    if option:
        return Decision(option.upper(), "option")  # type: ignore[arg-type]
    from_dates = _order_from_dates(tokens)
    if from_dates:
        return Decision(from_dates, "page dates")
    cue = DAY_FIRST_CUES.search(text)
    if cue and not MONTH_FIRST_CUES.search(text):
        return Decision("DMY", f"page cues: {cue.group(0)}")
    if MONTH_FIRST_CUES.search(text) and not cue:
        return Decision("MDY", f"page cues: {MONTH_FIRST_CUES.search(text).group(0)}")  # type: ignore[union-attr]
    return locale_order(dict(os.environ) if environ is None else environ)


def _order_from_dates(tokens: Iterable[DateToken]) -> Order | None:
    """Unambiguous numeric dates on the same page show how it writes them."""
    seen: set[Order] = {"DMY" if order == "DMY" else "MDY" for token in tokens if not token.ambiguous
                        for order in token.readings if order in ("DMY", "MDY")}
    return next(iter(seen)) if len(seen) == 1 else None


def locale_order(environ: dict[str, str]) -> Decision:
    """en_US -> MDY, ja_JP -> YMD, de_DE -> DMY; C, POSIX and no country decide nothing."""
    name = environ.get("LC_ALL") or environ.get("LC_TIME") or environ.get("LANG") or ""
    match = re.match(r"^[a-z]{2,3}_([A-Z]{2})", name)
    if not match:
        return Decision(None, "undecided")
    country = match.group(1)
    order: Order = "MDY" if country in _MDY_COUNTRIES else "YMD" if country in _YMD_COUNTRIES else "DMY"
    return Decision(order, f"locale {name.split('.')[0]}")

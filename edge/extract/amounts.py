"""Amounts as they are printed: `1,234.56`, `1.234,56`, `1'234.50`, `RM 9.00`, `12,50 €`.

`find(text)` returns every amount-like token with its value (a Decimal), the
currency printed with it, and whether it has cents. The decimal separator is
the last of `.` and `,` when both appear; a lone separator before one or two
digits is a decimal point, before exactly three it groups thousands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CURRENCY_CODES = {
    "RM": "MYR", "MYR": "MYR", "US$": "USD", "USD": "USD", "$": "USD", "S$": "SGD", "SGD": "SGD",
    "A$": "AUD", "AUD": "AUD", "€": "EUR", "EUR": "EUR", "£": "GBP", "GBP": "GBP", "¥": "JPY",
    "₹": "INR", "INR": "INR", "RS": "INR", "RS.": "INR", "CHF": "CHF", "FR.": "CHF", "SFR": "CHF", "RP": "IDR",
    "ZŁ": "PLN", "PLN": "PLN", "C$": "CAD", "CA$": "CAD", "CAD": "CAD", "SEK": "SEK", "NOK": "NOK", "DKK": "DKK",
}
_CURRENCY = r"RM|MYR|US\$|S\$|A\$|CA?\$|USD|EUR|GBP|CHF|SGD|AUD|INR|CAD|PLN|SEK|NOK|DKK|SFr|Fr\.|Rs\.?|Rp|zł|[$€£¥₹]"
_NUMBER = (r"\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?"  # Indian lakh grouping: 1,23,456.00 / 12,34,567
           r"|\d{1,3}(?:[,.'’\u00a0\u202f]\d{3})+(?:[.,]\d{1,4})?"  # grouped: 1,234.56 / 1.234,56 / 1.000,0000
           r"|\d{1,3}(?: \d{3})+,\d{2}"  # 1 234,56
           r"|\d+(?:[.,]\d{1,4})?")  # plain: 9.00 / 12,50 / 1247
AMOUNT = re.compile(
    rf"(?<![\w.,/\-])(?<!\d:)(?P<lead>[-−](?=\s?(?:{_CURRENCY})))?(?P<pre>{_CURRENCY})?\s?(?P<sign>[-−])?\s?(?P<num>{_NUMBER})(?![\d/:]|[.,]\d|[A-Za-z])"
    rf"(?P<trail>[-−](?![\d\w]))?"  # a sign after the number: `12,50- EUR`, a credit in German style
    rf"(?:\s?(?P<post>{_CURRENCY}|kr)(?![A-Za-z]))?",
    re.IGNORECASE,
)
# OCR glues a label to its amount (`Gesamtbetrag1.145,65 €`): money with cents right after a word.
GLUED = re.compile(rf"(?<=[^\W\d_]{{3}})(?P<num>\d{{1,3}}(?:[.,']\d{{3}})*[.,]\d{{2}})(?![\d/:]|[.,]\d|[A-Za-z])"
                   rf"(?:\s?(?P<post>{_CURRENCY})(?![A-Za-z]))?")
MAX_INTEGER_DIGITS = 12
MAX_DECIMALS = 4


@dataclass(frozen=True)
class AmountToken:
    text: str
    start: int
    end: int
    value: Decimal
    currency: str | None  # ISO code when a sign or code is printed with it
    cents: bool  # printed with one or two decimals (how money is written)


def find(text: str) -> list[AmountToken]:
    tokens = _printed(text)
    taken = [(token.start, token.end) for token in tokens]
    for match in GLUED.finditer(text):
        value = parse_number(match.group("num"))
        if value is not None and not any(a < match.end() and match.start() < b for a, b in taken):
            tokens.append(AmountToken(match.group(0).strip(), match.start(), match.end(), value,
                                      _code(match.group("post")), True))
    return sorted(tokens, key=lambda token: token.start)


def _printed(text: str) -> list[AmountToken]:
    tokens = []
    for match in AMOUNT.finditer(text):
        value = parse_number(match.group("num"))
        if value is None:
            continue
        if match.group("lead") or match.group("sign") or match.group("trail"):
            value = -value
        currency = _code(match.group("pre") or match.group("post"))
        cents = bool(re.search(r"[.,]\d{1,2}$", match.group("num"))) and not _grouped_thousands(match.group("num"))
        tokens.append(AmountToken(match.group(0).strip(), match.start(), match.end(), value, currency, cents))
    return tokens


def parse_number(digits: str) -> Decimal | None:
    """The value of a printed number, deciding which separator is the decimal one."""
    digits = re.sub(r"[\s'’\u00a0\u202f]", "", digits)
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    elif re.fullmatch(r"[-−]?0[.,]\d{3,4}", digits):
        decimal = digits[-4] if digits[-4] in ".," else digits[-5]  # 0,025: no number groups thousands after a 0
    elif digits.count(",") == 1 and not re.search(r",\d{3}$", digits):
        decimal = ","
    elif digits.count(".") == 1 and not re.search(r"\.\d{3}$", digits):
        decimal = "."
    elif re.fullmatch(r"\d{1,3}(?:([.,])\d{3})+\1\d{2}", digits):
        decimal = digits[-3]  # 1.129.00: OCR lost the comma; two digits after the last separator are cents
    else:
        decimal = None  # every separator groups thousands
    if decimal and digits.count(decimal) > 1:  # 1.129.00: only the last one is the decimal point
        digits = digits[:-3].replace(decimal, "") + digits[-3:]
    thousands = {"," : ".", ".": ","}.get(decimal or "", ".,")
    cleaned = re.sub(f"[{re.escape(thousands)}]", "", digits)
    if decimal:
        cleaned = cleaned.replace(decimal, ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if bounded(value) else None


def bounded(value: Decimal) -> bool:
    """At most 12 integer digits and 4 decimals: anything longer is not an amount anyone printed."""
    sign, digits, exponent = value.normalize().as_tuple()
    if not isinstance(exponent, int):
        return False
    decimals = max(0, -exponent)
    return len(digits) - decimals <= MAX_INTEGER_DIGITS and decimals <= MAX_DECIMALS


def _grouped_thousands(digits: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", digits))


def _code(sign: str | None) -> str | None:
    if not sign:
        return None
    return CURRENCY_CODES.get(sign.upper(), sign.upper())


def currencies(text: str) -> list[str]:
    """Currency codes printed anywhere in `text`, most frequent first."""
    found = [_code(match.group(0)) for match in re.finditer(rf"(?<![A-Za-z])(?:{_CURRENCY})(?![A-Za-z])", text)
             if not _weekday_abbreviation(text, match)]
    counts: dict[str, int] = {}
    for code in found:
        if code:
            counts[code] = counts.get(code, 0) + 1
    return sorted(counts, key=lambda code: -counts[code])


def _weekday_abbreviation(text: str, match: re.Match[str]) -> bool:
    """`Fr.` is francs beside an amount (`Fr. 12.50`), and Friday in opening hours (`Mo.-Fr. 8.00`)."""
    if match.group(0).casefold() != "fr.":
        return False
    return bool(re.search(r"(?:Mo|Di|Do|Lu|Ma|Me|Je|Ve)\.?\s?[-–]\s?$", text[:match.start()], re.IGNORECASE))

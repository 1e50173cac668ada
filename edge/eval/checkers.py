"""Field checkers and the outcome of every extracted field.

Each field is judged by a checker that fits it (the seed's Q3): exact after
normalisation for identifiers, numeric within a tolerance for amounts, date
after normalisation, fuzzy token ratio for names and addresses, and list
matching for line items. Every field then gets one outcome:

    correct | wrong | hallucinated | missing | schema_error | refusal

`hallucinated` is a value where the truth is null (the model invented it), or a
wrong value that the document's own text (OCR or text layer) does not contain;
`missing` is null where the truth has a value; `schema_error` is a value of
the wrong shape (an amount that is not a number, a list that is not a list);
`refusal` is a model that declined ("I cannot read this").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz, utils

OUTCOMES = ("correct", "wrong", "hallucinated", "missing", "schema_error", "refusal")
CHECKERS = ("exact", "numeric", "date", "fuzzy", "list", "currency", "company")
FUZZY_THRESHOLD = 85.0
AMOUNT_ABS_TOL = 0.01
AMOUNT_REL_TOL = 1e-4

_REFUSAL = re.compile(
    r"\b(i can(?:no|')t|cannot (?:read|see|determine|extract)|unable to|not legible|illegible|unreadable|"
    r"i'?m sorry|as an ai)\b|^\[?(?:unclear|illegible)\]?$",
    re.IGNORECASE,
)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")


class SchemaMismatch(ValueError):
    """A predicted value has a shape the field's checker cannot read."""


@dataclass
class FieldResult:
    field: str
    outcome: str
    checker: str
    truth: Any
    predicted: Any
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "outcome": self.outcome, "checker": self.checker,
                "truth": self.truth, "predicted": self.predicted, "detail": self.detail}


# -- normalisation -------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("", "null", "none", "n/a", "-")
    return isinstance(value, (list, dict)) and not value


def is_refusal(value: Any) -> bool:
    return isinstance(value, str) and bool(_REFUSAL.search(value.strip()))


def normalise_identifier(value: Any) -> str:
    """Case, width, dash variants and whitespace do not make an identifier different."""
    text = unicodedata.normalize("NFKC", str(value)).translate(_DASHES).casefold()
    text = re.sub(r"\s+", "", text)
    return text.strip(".,:;#")


def parse_amount(value: Any) -> float:
    """1247.5 from "1,247.50", "$1247.5", "1.247,50", "EUR 1 247,50", "(12.00)" (negative)."""
    if isinstance(value, bool):
        raise SchemaMismatch(f"{value!r} is not an amount")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise SchemaMismatch(f"{value!r} is not an amount")
        return float(value)
    if not isinstance(value, str):
        raise SchemaMismatch(f"{type(value).__name__} is not an amount")
    text = unicodedata.normalize("NFKC", value).translate(_DASHES).strip()
    negative = text.startswith("(") and text.endswith(")") or "-" in text
    digits = re.sub(r"[^\d.,]", "", text)
    if not re.search(r"\d", digits):
        raise SchemaMismatch(f"{value!r} is not an amount")
    number = float(_decimal_point(digits))
    return -number if negative else number


def _decimal_point(digits: str) -> str:
    """Decide which of ',' and '.' is the decimal separator; drop the other."""
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    elif digits.count(",") == 1 and re.search(r",\d{1,2}$", digits):
        decimal = ","  # 1247,50: a comma before one or two digits is a decimal comma
    elif digits.count(".") > 1:
        decimal = ","  # 1.247.500: dots group thousands
    else:
        decimal = "."
    thousands = "." if decimal == "," else ","
    return digits.replace(thousands, "").replace(decimal, ".")


_DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d",
    "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y",
    "%d/%m/%y", "%m/%d/%y", "%d.%m.%y",
    "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d-%b-%Y", "%d-%B-%Y",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
)


def parse_dates(value: Any) -> set[date]:
    """Every calendar date a written date can mean (03/04/2024 is ambiguous: both)."""
    if isinstance(value, datetime):
        return {value.date()}
    if isinstance(value, date):
        return {value}
    if not isinstance(value, str):
        raise SchemaMismatch(f"{type(value).__name__} is not a date")
    try:
        return {datetime.fromisoformat(value.strip()).date()}  # 2024-03-03, 2024-03-03T00:00:00.000Z
    except ValueError:
        pass
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value.strip())
    text = re.sub(r"[,\s]+", " ", text).strip().rstrip("Z")
    found = set()
    for fmt in _DATE_FORMATS:
        try:
            found.add(datetime.strptime(text, fmt).date())
        except ValueError:
            continue
    if not found:
        raise SchemaMismatch(f"{value!r} is not a date")
    return found


def fuzzy_ratio(a: Any, b: Any) -> float:
    return fuzz.token_sort_ratio(str(a), str(b), processor=utils.default_process)


# -- the checkers: truth and prediction are both non-empty here ---------------------


def check_exact(truth: Any, predicted: Any) -> tuple[bool, str]:
    if isinstance(predicted, (dict, list)):
        raise SchemaMismatch(f"{type(predicted).__name__} is not an identifier")
    return normalise_identifier(truth) == normalise_identifier(predicted), ""


CURRENCY_SIGNS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "fr.": "CHF", "fr": "CHF",
                  "sfr": "CHF", "₹": "INR", "rs": "INR", "rs.": "INR", "rupee": "INR", "zł": "PLN", "zl": "PLN",
                  "rm": "MYR", "dollar": "USD", "euro": "EUR", "pound": "GBP"}


def currency_code(value: Any) -> str:
    """"$", "usd" and "dollars" all read as USD; "Rs", "₹" and "INR" as INR."""
    text = str(value).strip().casefold()
    return CURRENCY_SIGNS.get(text) or CURRENCY_SIGNS.get(text.rstrip("s")) or text.upper()


def check_currency(truth: Any, predicted: Any) -> tuple[bool, str]:
    """A currency as its ISO code, whichever sign or code was printed."""
    if not isinstance(predicted, str):
        raise SchemaMismatch(f"{type(predicted).__name__} is not a currency")
    return currency_code(truth) == currency_code(predicted), f"read as {currency_code(predicted)}"


_LEGAL_FORM = re.compile(
    r"\b(sdn\.? ?bhd|bhd|s/b|pvt\.? ?ltd|private limited|ltd|limited|llc|l\.l\.c|inc|incorporated|corp|corporation|"
    r"co|company|gmbh|mbh|ag|kg|kgaa|ohg|gbr|ug|e\.? ?k|e\.? ?v|s\.?a\.?s|sas|sarl|s\.?a\.?r\.?l|eurl|s\.?a|s\.?l|"
    r"s\.?p\.?a|s\.?r\.?l|b\.?v|n\.?v|vof|pty|plc|llp|pte|oy|ab|a/s|aps|sp\.? z o\.?o|sp z oo|s\.?c)\b\.?",
    re.IGNORECASE)


def company_words(value: Any) -> list[str]:
    """A company name's words without legal forms, case, accents or punctuation:
    "IKEA Deutschland GmbH & Co. KG" -> ["ikea", "deutschland"]."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _LEGAL_FORM.sub(" ", text)
    return re.findall(r"[^\W_]+", text.replace("&", " "))


def check_company(truth: Any, predicted: Any) -> tuple[bool, str]:
    """The same company as a person would judge it: legal forms and case do not count, and a
    name is right when it is the trading name at the start of the full one (IKEA / IKEA Deutschland)."""
    if isinstance(predicted, (dict, list)):
        raise SchemaMismatch(f"{type(predicted).__name__} is not a name")
    want, got = company_words(truth), company_words(predicted)
    if want and got:
        shorter, longer = sorted((want, got), key=len)
        if longer[:len(shorter)] == shorter:
            return True, "same name without legal form"
    ratio = fuzzy_ratio(" ".join(want), " ".join(got))
    return ratio >= FUZZY_THRESHOLD, f"token ratio {ratio:.0f} without legal forms (>= {FUZZY_THRESHOLD:.0f} passes)"


def check_numeric(truth: Any, predicted: Any) -> tuple[bool, str]:
    want, got = parse_amount(truth), parse_amount(predicted)
    tolerance = max(AMOUNT_ABS_TOL, AMOUNT_REL_TOL * abs(want))
    return abs(want - got) <= tolerance + 1e-9, f"|{got} - {want}| <= {tolerance:g}"


def check_date(truth: Any, predicted: Any) -> tuple[bool, str]:
    want = parse_dates(truth)
    got = parse_dates(predicted)
    return bool(want & got), f"read as {', '.join(sorted(d.isoformat() for d in got))}"


def check_fuzzy(truth: Any, predicted: Any) -> tuple[bool, str]:
    if isinstance(predicted, (dict, list)):
        raise SchemaMismatch(f"{type(predicted).__name__} is not text")
    ratio = fuzzy_ratio(truth, predicted)
    return ratio >= FUZZY_THRESHOLD, f"token ratio {ratio:.0f} (>= {FUZZY_THRESHOLD:.0f} passes)"


def check_list(truth: Any, predicted: Any) -> tuple[bool, str]:
    """Line items: every true item matches one predicted item, field by field, and no extras."""
    if not isinstance(predicted, list) or not all(isinstance(item, dict) for item in predicted):
        raise SchemaMismatch("line items are not a list of objects")
    unmatched = list(range(len(predicted)))
    matched = 0
    for item in truth:
        hit = next((j for j in unmatched if _item_matches(item, predicted[j])), None)
        if hit is not None:
            unmatched.remove(hit)
            matched += 1
    ok = matched == len(truth) and not unmatched
    return ok, f"{matched}/{len(truth)} items matched, {len(unmatched)} extra"


def _item_matches(truth: dict[str, Any], predicted: dict[str, Any]) -> bool:
    for key, want in truth.items():
        got = predicted.get(key)
        if is_empty(want) != is_empty(got):
            return False
        if is_empty(want):
            continue
        try:
            if not CHECK[checker_for(key, want)](want, got)[0]:
                return False
        except SchemaMismatch:
            return False
    return True


CHECK: dict[str, Callable[[Any, Any], tuple[bool, str]]] = {
    "exact": check_exact, "numeric": check_numeric, "date": check_date,
    "fuzzy": check_fuzzy, "list": check_list, "currency": check_currency, "company": check_company,
}

_AMOUNT = re.compile(r"(amount|total|subtotal|tax|vat|price|cost|balance|due|paid|fee|charge|quantity|qty)")
_COMPANY = re.compile(r"(vendor|merchant|issuer|seller|supplier|company|store|shop|payee)")
_IDENT = re.compile(r"(number|_no|_id|^id$|code|iban|reference|ref$|currency|npi)")


def checker_for(name: str, truth: Any) -> str:
    """The checker a field gets when the truth file does not name one."""
    name = name.lower()
    if isinstance(truth, list):
        return "list"
    if "date" in name or name.endswith("_on"):
        return "date"
    if name == "currency":
        return "currency"
    if _IDENT.search(name):
        return "exact"
    if _COMPANY.search(name) and isinstance(truth, str):
        return "company"
    if _AMOUNT.search(name) or isinstance(truth, (int, float)):
        return "numeric"
    return "fuzzy"


# -- classification -----------------------------------------------------------------


def check_field(name: str, truth: Any, predicted: Any, checker: str | None = None,
                present: bool = True, document: Any = None) -> FieldResult:
    """One field's outcome. `present=False`: the key is absent from a result that must have it.
    `document` (an OcrIndex of the document's text): a wrong value printed nowhere in it is hallucinated."""
    checker = checker or checker_for(name, truth)
    result = FieldResult(name, "correct", checker, truth, predicted)
    if not present:
        result.outcome, result.detail = "schema_error", "field absent from the result"
    elif is_refusal(predicted):
        result.outcome = "refusal"
    elif is_empty(truth):
        result.outcome = "correct" if is_empty(predicted) else "hallucinated"
    elif is_empty(predicted):
        result.outcome = "missing"
    else:
        _judge(result)
        if result.outcome == "wrong" and document is not None and not _printed(document, predicted):
            result.outcome, result.detail = "hallucinated", f"{result.detail}; not in the document's text"
    return result


def _printed(document: Any, value: Any) -> bool:
    from ..extract.grounding import found, leaves

    return all(found(document, leaf) for _, leaf in leaves(value)) if isinstance(value, (dict, list)) \
        else found(document, value)


def _judge(result: FieldResult) -> None:
    try:
        ok, result.detail = CHECK[result.checker](result.truth, result.predicted)
    except SchemaMismatch as exc:
        result.outcome, result.detail = "schema_error", str(exc)
        return
    result.outcome = "correct" if ok else "wrong"


def check_document(truth: dict[str, Any], checkers: dict[str, str], predicted: Any,
                   refused: bool = False, text: str | None = None) -> list[FieldResult]:
    """Every true field against a predicted result (a dict, or None when there is none).
    `text`: the document's text, when the sidecar carries it, to tell hallucinated from wrong."""
    if refused:
        return [FieldResult(name, "refusal", checkers.get(name) or checker_for(name, value), value, None,
                            "the model refused the document") for name, value in truth.items()]
    if not isinstance(predicted, dict):
        return [FieldResult(name, "schema_error", checkers.get(name) or checker_for(name, value), value, predicted,
                            "no JSON object came back") for name, value in truth.items()]
    from ..extract.grounding import OcrIndex

    document = OcrIndex(text) if text else None
    return [check_field(name, value, predicted.get(name), checkers.get(name), present=name in predicted,
                        document=document) for name, value in truth.items()]


@dataclass
class Tally:
    """Counts of outcomes (used per field, per document and overall)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def accuracy(self) -> float | None:
        return self.counts["correct"] / self.total if self.total else None

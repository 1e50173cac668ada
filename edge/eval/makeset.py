"""`edge eval make-set OUT --n N --seed S`: a labelled set you can regenerate.

Synthetic invoices, claim forms and receipts, each image with its
`<file>.truth.json`. Layouts, fonts (those on this machine), currencies and
date formats vary; some documents leave a field out on purpose (the
hallucination trap: the truth is null, sometimes with its label printed and
the value blank); hard cases are rotation, blur, JPEG artefacts, low contrast,
a skewed photo of a page, a stamp over the text and small print.

Every document draws from its own `random.Random(f"{seed}:{index}")` and the
encoders run with pinned parameters and no metadata, so the same seed gives
byte-identical files (on the same Pillow and zlib).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import drawing

KINDS = ("invoice", "claim_form", "receipt")
HARD_CASES = ("rotation", "blur", "jpeg", "low_contrast", "photo", "stamp", "small_print")
TRUTH_SUFFIX = ".truth.json"

COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Hooli", "Vandelay", "Soylent", "Tyrell",
             "Wonka", "Northwind", "Contoso", "Fabrikam", "Bluth", "Dunder", "Oscorp")
COMPANY_SUFFIXES = ("Corp", "Ltd", "GmbH", "Industries", "Supplies", "Logistics", "& Sons", "S.A.", "Trading")
FIRST = ("Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kara", "Luis",
         "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara")
LAST = ("Lee", "Garcia", "Novak", "Schmidt", "Okafor", "Tanaka", "Rossi", "Dubois", "Kowalski", "Murphy",
        "Silva", "Jensen", "Haddad", "Moreau", "Fischer", "Brown")
STREETS = ("High Street", "Main Street", "Station Road", "Elm Avenue", "Harbour Way", "Mill Lane",
           "Rue de la Paix", "Bahnhofstrasse", "Church Road", "Park Lane")
CITIES = (("Springfield", "62704"), ("Leeds", "LS1 4AP"), ("Lyon", "69002"), ("Hamburg", "20095"),
          ("Porto", "4000-123"), ("Dublin", "D02 X285"), ("Austin", "78701"), ("Zurich", "8001"))
ITEMS = (("Office chair", 80, 400), ("Printer paper A4", 3, 12), ("Consulting hours", 60, 180),
         ("USB-C cable", 4, 25), ("Monitor 27in", 150, 600), ("Desk lamp", 15, 90), ("Toner cartridge", 30, 140),
         ("Software licence", 50, 900), ("Shipping", 5, 40), ("Maintenance visit", 90, 350),
         ("Coffee beans 1kg", 12, 35), ("Safety gloves", 2, 15))
GROCERIES = (("Milk", 1, 3), ("Bread", 1, 5), ("Apples 1kg", 2, 6), ("Cheese", 3, 12), ("Coffee", 4, 15),
             ("Pasta", 1, 4), ("Olive oil", 5, 14), ("Eggs x12", 2, 6))
DIAGNOSES = ("Sprained ankle", "Acute bronchitis", "Routine dental cleaning", "Lower back pain",
             "Migraine", "Fractured wrist", "Seasonal allergies", "Skin laceration")
PROVIDERS = ("City Medical Centre", "Riverside Clinic", "St. Mary Hospital", "Lakeside Dental",
             "Northgate Physiotherapy", "Green Valley Practice")
PAYMENTS = ("Cash", "Visa", "Mastercard", "Debit card")

# (ISO code, amount pattern, symbol, thousands separator, decimal separator)
CURRENCIES = (("USD", "{sym}{num}", "$", ",", "."), ("EUR", "{num} {sym}", "€", ".", ","),
              ("GBP", "{sym}{num}", "£", ",", "."), ("CHF", "{sym} {num}", "CHF", "'", "."))
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%d %B %Y", "%b %d, %Y", "%d/%m/%Y")


@dataclass
class Doc:
    """One drawn document: what it says (`fields`) and how it is written (`shown`)."""

    kind: str
    fields: dict[str, Any]
    labels: dict[str, str]
    shown: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    blank_labels: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    currency: tuple = CURRENCIES[0]
    date_format: str = DATE_FORMATS[0]
    language: str = "en"
    layout: dict[str, Any] = field(default_factory=dict)  # invoices: title, table heads, recipient first, footer


def make_set(out: Path, n: int, seed: int) -> list[Path]:
    """Write n documents and their truth files into `out`; return the document paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fonts = drawing.available_fonts()
    return [make_one(out, index, seed, fonts) for index in range(n)]


def make_one(out: Path, index: int, seed: int, fonts: list[str]) -> Path:
    rng = random.Random(f"{seed}:{index}")
    kind = KINDS[index % len(KINDS)]
    doc = _draw_values(rng, kind, random.Random(f"{seed}:{index}:layout"))
    hard = _hard_cases(rng, index)
    image = drawing.render(doc, rng, fonts, small=("small_print" in hard))
    image = drawing.degrade(image, rng, hard)
    ext = "jpg" if {"jpeg", "photo"} & set(hard) else "png"
    path = out / f"{index:04d}-{kind}.{ext}"
    drawing.save(image, path, quality=rng.randint(18, 35) if "jpeg" in hard else 90)
    _write_truth(path, doc, hard, seed, index)
    return path


def _hard_cases(rng: random.Random, index: int) -> list[str]:
    """About half the set is clean; the rest carries one or two hard cases."""
    if index % 2 == 0:
        return []
    count = 1 if rng.random() < 0.7 else 2
    return sorted(rng.sample(HARD_CASES, count), key=HARD_CASES.index)


# -- values -----------------------------------------------------------------------------


def _draw_values(rng: random.Random, kind: str, layout_rng: random.Random | None = None) -> Doc:
    doc = {"invoice": _invoice, "claim_form": _claim, "receipt": _receipt}[kind](rng)
    doc.currency = rng.choice(CURRENCIES)
    doc.date_format = rng.choice(DATE_FORMATS)
    _drop_optional(rng, doc)
    if kind == "invoice" and layout_rng is not None:
        _localise(layout_rng, doc)
    _format_shown(doc)
    return doc


# Invoices as they are printed in other countries: the labels, title and table heads of the language,
# its date style and the euro. (language, weight, date format, title, labels, table heads)
INVOICE_LANGUAGES: tuple[tuple[str, float, str | None, str, dict[str, str], tuple[str, ...]], ...] = (
    ("en", 0.4, None, "INVOICE", {}, ("Description", "Qty", "Unit price", "Amount")),
    ("de", 0.25, "%d.%m.%Y", "RECHNUNG",
     {"invoice_number": "Rechnungsnummer", "date": "Rechnungsdatum", "due_date": "Fällig am", "vendor_name": "Verkäufer",
      "vendor_address": "Anschrift", "customer_name": "Rechnungsempfänger", "po_number": "Bestellnummer",
      "subtotal": "Nettobetrag", "tax_amount": "USt.", "total_amount": "Gesamtbetrag"},
     ("Bezeichnung", "Menge", "Einzelpreis", "Betrag")),
    ("fr", 0.2, "%d/%m/%Y", "FACTURE",
     {"invoice_number": "Facture n°", "date": "Date de facture", "due_date": "Date d'échéance",
      "vendor_name": "Émetteur", "vendor_address": "Adresse", "customer_name": "Facturé à",
      "po_number": "Bon de commande", "subtotal": "Total HT", "tax_amount": "TVA", "total_amount": "Total TTC"},
     ("Désignation", "Qté", "Prix unitaire", "Montant HT")),
    ("nl", 0.15, "%d-%m-%Y", "FACTUUR",
     {"invoice_number": "Factuurnummer", "date": "Factuurdatum", "due_date": "Vervaldatum", "vendor_name": "Van",
      "vendor_address": "Adres", "customer_name": "Factuuradres", "po_number": "Ordernummer",
      "subtotal": "Subtotaal", "tax_amount": "BTW", "total_amount": "Totaal"},
     ("Omschrijving", "Aantal", "Prijs", "Bedrag")),
)
EURO = CURRENCIES[1]
LEGAL_FORMS = {"en": "Ltd", "de": "GmbH", "fr": "SARL", "nl": "B.V."}


def _localise(rng: random.Random, doc: Doc) -> None:
    """An invoice's language and layout: drawn from a generator of its own, so the values of every
    document (and the whole set of receipts and claim forms) stay what the seed always gave."""
    language, _weight, date_format, title, labels, heads = rng.choices(
        INVOICE_LANGUAGES, weights=[entry[1] for entry in INVOICE_LANGUAGES])[0]
    doc.language = language
    doc.labels = {**doc.labels, **labels}
    if date_format:
        doc.date_format = date_format
        if doc.fields.get("currency") is not None:
            doc.currency = EURO
    vendor = doc.fields["vendor_name"]
    legal = vendor if vendor.split()[-1] in ("Corp", "Ltd", "GmbH", "S.A.") else f"{vendor} {LEGAL_FORMS[language]}"
    doc.layout = {"title": title, "heads": heads, "recipient_first": rng.random() < 0.5,
                  "footer": rng.random() < 0.5, "legal_name": legal}


# Fields a document may leave out on purpose: the truth then says null.
OPTIONAL = {"invoice": ("date", "currency"),
            "claim_form": ("policy_number", "diagnosis", "amount_paid", "service_date_to"),
            "receipt": ("tax_amount", "payment_method", "currency")}


def _drop_optional(rng: random.Random, doc: Doc) -> None:
    """The hallucination trap: a field the document does not carry; the truth says null."""
    if rng.random() < 0.4:
        name = rng.choice(OPTIONAL[doc.kind])
        doc.fields[name] = None
        doc.missing.append(name)
        if name != "currency" and rng.random() < 0.5:
            doc.blank_labels.append(name)  # the label is printed, the value left blank


def _company(rng: random.Random) -> str:
    return f"{rng.choice(COMPANIES)} {rng.choice(COMPANY_SUFFIXES)}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _address(rng: random.Random) -> str:
    city, postcode = rng.choice(CITIES)
    return f"{rng.randint(1, 250)} {rng.choice(STREETS)}, {postcode} {city}"


def _day(rng: random.Random) -> date:
    return date(2023, 1, 1) + timedelta(days=rng.randint(0, 900))


def _line_items(rng: random.Random, catalogue: tuple, most: int) -> list[dict[str, Any]]:
    items = []
    for description, low, high in rng.sample(catalogue, rng.randint(1, most)):
        quantity = rng.randint(1, 6)
        unit = round(rng.uniform(low, high), 2)
        items.append({"description": description, "quantity": quantity, "unit_price": unit,
                      "total": round(quantity * unit, 2)})
    return items


# The truth fields are exactly those of the built-in schemas (edge/extract/schemas.py);
# `extra` is printed too, as the clutter real documents carry, but not scored.
def _invoice(rng: random.Random) -> Doc:
    issued = _day(rng)
    items = _line_items(rng, ITEMS, 4)
    subtotal = round(sum(item["total"] for item in items), 2)
    tax = round(subtotal * rng.choice((0.07, 0.19, 0.2, 0.1)), 2)
    fields = {
        "invoice_number": f"{rng.choice(('INV', 'IN', 'F', 'RE'))}-{issued.year}-{rng.randint(10, 99999):05d}",
        "date": issued, "vendor_name": _company(rng), "total_amount": round(subtotal + tax, 2),
        "currency": "", "line_items": items,
    }
    extra = {"vendor_address": _address(rng), "due_date": issued + timedelta(days=rng.choice((14, 30, 45))),
             "customer_name": _company(rng), "po_number": f"PO-{rng.randint(1000, 9999)}",
             "subtotal": subtotal, "tax_amount": tax}
    labels = {"invoice_number": "Invoice No.", "date": "Invoice date", "due_date": "Due date",
              "vendor_name": "From", "vendor_address": "Address", "customer_name": "Bill to",
              "po_number": "PO Number", "subtotal": "Subtotal", "tax_amount": "Tax", "total_amount": "Total"}
    return Doc("invoice", fields, labels, items=items, extra=extra)


def _claim(rng: random.Random) -> Doc:
    start = _day(rng)
    fields: dict[str, Any] = {
        "claim_number": f"CLM-{rng.randint(100000, 999999)}",
        "policy_number": f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}-{rng.randint(1000000, 9999999)}",
        "claimant_name": _person(rng), "provider_name": rng.choice(PROVIDERS),
        "service_date_from": start, "service_date_to": start + timedelta(days=rng.randint(0, 6)),
        "diagnosis": rng.choice(DIAGNOSES), "total_amount": round(rng.uniform(40, 4800), 2), "amount_paid": 0.0,
    }
    fields["amount_paid"] = round(fields["total_amount"] * rng.choice((0.0, 0.1, 0.2, 0.5)), 2)
    extra = {"date_of_claim": start + timedelta(days=rng.randint(7, 40))}
    labels = {"claim_number": "Claim number", "policy_number": "Policy number", "claimant_name": "Claimant",
              "provider_name": "Provider", "service_date_from": "Service from", "service_date_to": "Service to",
              "date_of_claim": "Date of claim", "diagnosis": "Diagnosis", "total_amount": "Amount claimed",
              "amount_paid": "Amount paid"}
    return Doc("claim_form", fields, labels, extra=extra)


def _receipt(rng: random.Random) -> Doc:
    items = _line_items(rng, GROCERIES, 5)
    subtotal = round(sum(item["total"] for item in items), 2)
    tax = round(subtotal * rng.choice((0.05, 0.07, 0.1)), 2)
    fields = {
        "merchant_name": _company(rng), "date": _day(rng), "total_amount": round(subtotal + tax, 2),
        "tax_amount": tax, "currency": "", "payment_method": rng.choice(PAYMENTS), "items": items,
    }
    extra = {"merchant_address": _address(rng)}
    labels = {"merchant_name": "", "merchant_address": "", "date": "Date", "tax_amount": "Tax",
              "total_amount": "TOTAL", "payment_method": "Paid by"}
    return Doc("receipt", fields, labels, items=items, extra=extra)


def _format_shown(doc: Doc) -> None:
    """How each value is written on the page, in the document's currency and date style."""
    if "currency" not in doc.fields:
        pass
    elif doc.fields["currency"] is not None:
        doc.fields["currency"] = doc.currency[0]
    else:
        doc.currency = (None, "{num}", "", *doc.currency[3:])  # amounts printed bare
    for name, value in {**doc.extra, **doc.fields}.items():
        if value is None or name in ("line_items", "items", "currency"):
            continue
        if isinstance(value, date):
            doc.shown[name] = value.strftime(doc.date_format)
        elif isinstance(value, float):
            doc.shown[name] = format_amount(value, doc.currency)
        else:
            doc.shown[name] = str(value)


def format_amount(value: float, currency: tuple) -> str:
    _code, pattern, symbol, thousands, decimal = currency
    whole, cents = f"{value:,.2f}".split(".")
    return pattern.format(sym=symbol, num=whole.replace(",", thousands) + decimal + cents)


# -- truth ----------------------------------------------------------------------------


CHECKERS = {"diagnosis": "fuzzy", "currency": "currency", "payment_method": "fuzzy"}


def _write_truth(path: Path, doc: Doc, hard: list[str], seed: int, index: int) -> None:
    fields = {name: (value.isoformat() if isinstance(value, date) else value) for name, value in doc.fields.items()}
    truth = {
        "schema": doc.kind, "fields": fields,
        "checkers": {name: CHECKERS[name] for name in fields if name in CHECKERS},
        "missing_on_purpose": doc.missing, "hard_cases": hard,
        "currency": doc.currency[0], "date_format": doc.date_format, "seed": seed, "index": index,
        **({"language": doc.language, "layout": {key: value for key, value in doc.layout.items()
                                                   if key in ("recipient_first", "footer")}} if doc.layout else {}),
    }
    text = json.dumps(truth, ensure_ascii=False, indent=2) + "\n"
    path.with_name(path.name + TRUTH_SUFFIX).write_text(text, encoding="utf-8")

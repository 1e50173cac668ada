"""What kind of value each schema field is, and which labels anchor it.

Built-in schemas name their fields' kinds here; a user schema's fields get a
kind from their name and JSON type (`due_date` is a date anchored on "DUE
DATE", `po_number` an identifier anchored on "PO NUMBER"). `[labels.SCHEMA.FIELD]`
in models.toml adds labels and exclusions to any field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import labels as L
from .schemas import SchemaSpec

# Kinds a finder fills from the page; the rest are built from the layout (lists) or composed.
FOUND = ("date", "amount", "currency", "identifier", "person", "text", "org", "keyword", "title", "document_type")
LISTS = ("items", "parties", "key_values")


@dataclass(frozen=True)
class FieldRule:
    name: str
    kind: str
    labels: L.LabelSet = L.LabelSet()
    keywords: tuple[str, ...] = ()
    name_hint: str = ""  # "total": payment lines may back it
    required: bool = False
    description: str = ""


_R = FieldRule
BUILTIN: dict[str, dict[str, FieldRule]] = {
    "receipt": {
        "merchant_name": _R("merchant_name", "org", L.ORG_FROM),
        "date": _R("date", "date", L.DATE),
        "total_amount": _R("total_amount", "amount", L.TOTAL, name_hint="total"),
        "tax_amount": _R("tax_amount", "amount", L.TAX),
        "currency": _R("currency", "currency"),
        "payment_method": _R("payment_method", "keyword", L.PAYMENT_LABELS, keywords=L.PAYMENT_METHODS),
        "items": _R("items", "items"),
    },
    "invoice": {
        "invoice_number": _R("invoice_number", "identifier", L.INVOICE_NUMBER),
        "date": _R("date", "date", L.DATE),
        "vendor_name": _R("vendor_name", "org", L.ORG_FROM),
        "total_amount": _R("total_amount", "amount", L.TOTAL, name_hint="total"),
        "currency": _R("currency", "currency"),
        "line_items": _R("line_items", "items"),
    },
    "claim_form": {
        "claim_number": _R("claim_number", "identifier", L.CLAIM_NUMBER),
        "policy_number": _R("policy_number", "identifier", L.POLICY_NUMBER),
        "claimant_name": _R("claimant_name", "person", L.PERSON),
        "provider_name": _R("provider_name", "person", L.PROVIDER),
        "service_date_from": _R("service_date_from", "date", L.SERVICE_FROM),
        "service_date_to": _R("service_date_to", "date", L.SERVICE_TO),
        "diagnosis": _R("diagnosis", "text", L.DIAGNOSIS),
        "total_amount": _R("total_amount", "amount", L.TOTAL),
        "amount_paid": _R("amount_paid", "amount", L.AMOUNT_PAID),
    },
    "document": {
        "document_type": _R("document_type", "document_type"),
        "title": _R("title", "title"),
        "date": _R("date", "date", L.DATE),
        "parties": _R("parties", "parties", L.ORG_FROM),
        "key_values": _R("key_values", "key_values"),
        "summary": _R("summary", "summary"),
    },
    "photo": {
        "caption": _R("caption", "none"),
        "objects": _R("objects", "none"),
        "visible_text": _R("visible_text", "page_text"),
    },
}


def rules_for(spec: SchemaSpec, extra: dict[str, Any] | None = None) -> dict[str, FieldRule]:
    """The rule of every field of a schema, with models.toml's label additions."""
    builtin = BUILTIN.get(spec.name, {}) if spec.name in BUILTIN and _is_builtin(spec) else {}
    properties = spec.json_schema.get("properties", {})
    rules = {}
    for name in spec.fields:
        rule = builtin.get(name) or infer(name, properties.get(name, {}))
        added = (extra or {}).get(name)
        if added is not None:
            rule = _extend(rule, added)
        description = properties.get(name, {}).get("description") or ""
        rules[name] = FieldRule(rule.name, rule.kind, rule.labels, rule.keywords, rule.name_hint,
                                name in spec.required, description)
    return rules


def _is_builtin(spec: SchemaSpec) -> bool:
    return not spec.model.__name__.startswith("User_")


def _extend(rule: FieldRule, added: Any) -> FieldRule:
    labels = rule.labels.extended(getattr(added, "labels", []), getattr(added, "exclude", []))
    return FieldRule(rule.name, rule.kind, labels, rule.keywords, rule.name_hint)


def _json_type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "anyOf" in prop:
        kind = next((p.get("type") for p in prop["anyOf"] if p.get("type") != "null"), None)
    return kind or "string"


def infer(name: str, prop: dict[str, Any]) -> FieldRule:
    """A user schema's field: its kind from its name and type, its labels from its words."""
    words = L.normal(name)
    phrase = L.LabelSet(strong=(words,), labels=_short_forms(words))
    kind = _json_type(prop)
    if kind == "array":
        return FieldRule(name, "none")
    if re.search(r"DATE|\bON$|\bDAY\b", words):
        base = L.DATE if words in ("DATE",) else L.LabelSet()
        return FieldRule(name, "date", L.LabelSet((*phrase.strong, *base.strong), (*phrase.labels, *base.labels),
                                                  base.exclude))
    if kind in ("number", "integer") or re.search(r"AMOUNT|TOTAL|PRICE|COST|TAX|VAT|FEE|BALANCE", words):
        base = L.TOTAL if "TOTAL" in words else L.LabelSet()
        return FieldRule(name, "amount", L.LabelSet((*phrase.strong, *base.strong), (*phrase.labels, *base.labels),
                                                    base.exclude))
    if re.search(r"NUMBER|\bNO\b|\bID\b|CODE|REFERENCE|\bREF\b|IBAN", words):
        return FieldRule(name, "identifier", phrase)
    if re.search(r"VENDOR|MERCHANT|COMPANY|SUPPLIER|SELLER|ISSUER|SHOP|STORE", words):
        return FieldRule(name, "org", L.LabelSet(phrase.strong, phrase.labels, L.ORG_FROM.exclude))
    if "CURRENCY" in words:
        return FieldRule(name, "currency")
    if re.search(r"NAME", words):
        return FieldRule(name, "person", phrase)
    return FieldRule(name, "text", phrase)


def _short_forms(words: str) -> tuple[str, ...]:
    """`INVOICE NUMBER` is also printed `INVOICE NO` and `INVOICE #`."""
    forms: set[str] = set()
    for long, shorts in (("NUMBER", ("NO", "#", "NR")), ("REFERENCE", ("REF",)), ("AMOUNT", ("AMT",))):
        if long in words.split():
            forms.update(words.replace(long, short) for short in shorts)
    return tuple(sorted(forms))

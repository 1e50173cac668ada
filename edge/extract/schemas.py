"""Extraction schemas: built-in pydantic models, and user schemas from models.toml.

A route names a schema. Built-in: document, invoice, receipt, claim_form,
photo. A user schema is `[schemas.NAME]` with either `file` (a JSON Schema of
an object) or `fields` (field -> description, like the seed's
`extraction_schema`) and optionally `required`.

What is sent to the model (`SchemaSpec.format`) asks for every field (null
when not visible) plus a `_confidence` object: field -> high | medium | low.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..errors import ConfigError

CONFIDENCE_KEY = "_confidence"
CONFIDENCE_LEVELS = {"high": 0.9, "medium": 0.6, "low": 0.3}


class Fields(BaseModel):
    """Base of extraction models: unknown keys from a model are dropped, not errors."""

    model_config = ConfigDict(extra="ignore")


class KeyValue(Fields):
    key: str
    value: str | None = None


class Document(Fields):
    document_type: str | None = Field(None, description="Kind of document: letter, form, contract, statement, ...")
    title: str | None = Field(None, description="Title or heading as printed")
    date: str | None = Field(None, description="Main date of the document, ISO 8601 (YYYY-MM-DD) if possible")
    parties: list[str] | None = Field(None, description="People or organisations named as sender, recipient or parties")
    key_values: list[KeyValue] | None = Field(None, description="Labelled values printed on the document")
    summary: str | None = Field(None, description="One or two sentences on what the document says")


class LineItem(Fields):
    description: str | None = None
    quantity: float | None = None
    unit_price: float | None = None
    total: float | None = None


class Invoice(Fields):
    invoice_number: str | None = Field(None, description="Invoice number as printed")
    date: str | None = Field(None, description="Invoice date, ISO 8601 (YYYY-MM-DD) if possible")
    vendor_name: str | None = Field(None, description="Name of the company that issued the invoice")
    total_amount: float | None = Field(None, description="Total amount due, as a number without currency sign")
    currency: str | None = Field(None, description="Currency code or sign, e.g. EUR, USD, $")
    line_items: list[LineItem] | None = Field(None, description="Rows of the invoice: description, quantity, unit price, total")


class Receipt(Fields):
    merchant_name: str | None = Field(None, description="Shop or merchant name")
    date: str | None = Field(None, description="Date of purchase, ISO 8601 if possible")
    total_amount: float | None = Field(None, description="Total paid, as a number")
    tax_amount: float | None = Field(None, description="Tax or VAT amount, as a number")
    currency: str | None = Field(None, description="Currency code or sign")
    payment_method: str | None = Field(None, description="Cash, card, ...")
    items: list[LineItem] | None = Field(None, description="Purchased items")


class ClaimForm(Fields):
    claim_number: str | None = Field(None, description="Claim number as printed")
    policy_number: str | None = Field(None, description="Policy or member number as printed")
    claimant_name: str | None = Field(None, description="Name of the claimant or patient")
    provider_name: str | None = Field(None, description="Doctor, clinic or service provider")
    service_date_from: str | None = Field(None, description="First date of service, ISO 8601 if possible")
    service_date_to: str | None = Field(None, description="Last date of service, ISO 8601 if possible")
    diagnosis: str | None = Field(None, description="Diagnosis or its code as printed")
    total_amount: float | None = Field(None, description="Total amount claimed, as a number")
    amount_paid: float | None = Field(None, description="Amount already paid, as a number")


class Photo(Fields):
    caption: str | None = Field(None, description="One sentence describing the picture")
    objects: list[str] | None = Field(None, description="Main objects visible")
    visible_text: str | None = Field(None, description="Any text readable in the picture, verbatim")


BUILTIN: dict[str, tuple[type[Fields], list[str]]] = {
    "document": (Document, []),
    "invoice": (Invoice, ["invoice_number", "total_amount"]),
    "receipt": (Receipt, ["total_amount"]),
    "claim_form": (ClaimForm, ["claim_number", "total_amount"]),
    "photo": (Photo, []),
}
DEFAULT_FOR_TASK = {"extract": "document", "describe": "photo"}


@dataclass
class SchemaSpec:
    name: str
    model: type[BaseModel]
    required: list[str] = field(default_factory=list)  # fields that must not stay null
    json_schema: dict[str, Any] = field(default_factory=dict)  # the fields' JSON Schema

    @property
    def fields(self) -> list[str]:
        return list(self.json_schema.get("properties", {}))

    @property
    def format(self) -> dict[str, Any]:
        """What goes in Ollama's `format`: every field present, plus confidences."""
        schema = json.loads(json.dumps(self.json_schema))
        levels = {"type": "string", "enum": list(CONFIDENCE_LEVELS)}
        schema["properties"][CONFIDENCE_KEY] = {
            "type": "object",
            "properties": {name: levels for name in self.fields},
        }
        schema["required"] = [*self.fields, CONFIDENCE_KEY]
        return schema

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.format, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def from_model(name: str, model: type[BaseModel], required: list[str] | None = None) -> SchemaSpec:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return SchemaSpec(name, model, list(required or []), schema)


def resolve(name: str | None, task: str, config: Any) -> SchemaSpec:
    """The schema a route asks for (its name, else the task's default)."""
    name = name or DEFAULT_FOR_TASK.get(task, "document")
    user = getattr(config, "schemas", {}).get(name)
    if user is not None:
        return from_user(name, user, base=getattr(config, "source", None))
    if name in BUILTIN:
        model, required = BUILTIN[name]
        return from_model(name, model, required)
    known = ", ".join(sorted({*BUILTIN, *getattr(config, "schemas", {})}))
    raise ConfigError(f"unknown schema {name!r}; known schemas: {known}")


def from_user(name: str, user: Any, base: Path | None = None) -> SchemaSpec:
    if user.fields:
        model = create_model(  # type: ignore[call-overload]
            f"User_{name}", __base__=Fields,
            **{key: (Any | None, Field(None, description=text)) for key, text in user.fields.items()},
        )
        spec = from_model(name, model, user.required)
        _check_required(spec, name)
        return spec
    return from_json_schema_file(name, _resolve_path(user.file, base), user.required)


def _resolve_path(path: Path, base: Path | None) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() or base is None else Path(base).parent / path


def from_json_schema_file(name: str, path: Path, required: list[str] | None = None) -> SchemaSpec:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"schemas.{name}.file: cannot read a JSON Schema from {path}: {exc}") from None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
        raise ConfigError(f"schemas.{name}.file: {path} must be a JSON Schema of an object with properties")
    model = create_model(  # type: ignore[call-overload]
        f"User_{name}", __base__=Fields,
        **{key: (_python_type(prop) | None, Field(None, description=prop.get("description")))
           for key, prop in properties.items()},
    )
    fields_schema = {"type": "object", "properties": _nullable(properties)}
    spec = SchemaSpec(name, model, list(required or schema.get("required", [])), fields_schema)
    _check_required(spec, name)
    return spec


_JSON_TYPES: dict[str, Any] = {"string": str, "number": float, "integer": int, "boolean": bool,
                               "array": list, "object": dict}


def _python_type(prop: dict[str, Any]) -> Any:
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return _JSON_TYPES.get(kind, Any) if isinstance(kind, str) else Any


def _nullable(properties: dict[str, Any]) -> dict[str, Any]:
    """Each property may also be null: 'null when not visible' must fit the schema."""
    out = {}
    for key, prop in properties.items():
        prop = dict(prop)
        kind = prop.get("type")
        if isinstance(kind, str):
            prop["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            prop["type"] = [*kind, "null"]
        out[key] = prop
    return out


def _check_required(spec: SchemaSpec, name: str) -> None:
    unknown = [key for key in spec.required if key not in spec.fields]
    if unknown:
        raise ConfigError(f"schemas.{name}.required names fields it does not define: {', '.join(unknown)}")


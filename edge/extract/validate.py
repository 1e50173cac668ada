"""A model's answer -> validated fields, with one repair attempt.

An answer is unusable when it was cut off (done_reason "length"), is not one
JSON object, or breaks the schema. Then the same request goes once more,
told what was wrong; if that fails too the result is `invalid`, the raw
answer is kept, and a person must look.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from ..engines.base import Completion, CompletionRequest
from . import prompts
from .schemas import CONFIDENCE_KEY, CONFIDENCE_LEVELS, SchemaSpec
from .tier import Reason

_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


@dataclass
class Parsed:
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    problem: str = ""
    reasons: list[Reason] = field(default_factory=list)  # fields nulled by the guards below


@dataclass
class Answer:
    """The outcome of asking about one page (first try plus any repair)."""

    parsed: Parsed
    raw: str
    attempts: int
    completions: list[Completion]


def parse(completion: Completion, spec: SchemaSpec) -> Parsed:
    if completion.done_reason == "length":
        return Parsed(False, problem="the answer was cut off at the output token limit (done_reason length)")
    try:
        value = json.loads(_unfence(completion.text))
    except json.JSONDecodeError as exc:
        return Parsed(False, problem=f"not valid JSON ({exc.msg} at position {exc.pos})")
    if not isinstance(value, dict):
        return Parsed(False, problem=f"expected one JSON object, got {type(value).__name__}")
    confidence = _confidence(value.pop(CONFIDENCE_KEY, None), spec)
    try:
        data = spec.model.model_validate(value).model_dump(mode="json")
    except ValidationError as exc:
        return Parsed(False, problem=f"does not fit the {spec.name} schema: {_brief(exc)}")
    reasons = guard(data, spec)
    for reason in reasons:
        confidence.pop(reason["field"], None)
    return Parsed(True, data, confidence, reasons=reasons)


# -- guards: what a model writes that cannot be a value ------------------------------------------------


def guard(data: dict[str, Any], spec: SchemaSpec) -> list[Reason]:
    """Null a field whose value is its own description, or a number no document prints."""
    reasons: list[Reason] = []
    properties = spec.json_schema.get("properties", {})
    for name, value in data.items():
        description = (properties.get(name) or {}).get("description") or ""
        if isinstance(value, str) and copies_description(value, description):
            data[name] = None
            reasons.append({"code": "description_copied", "field": name,
                            "message": f"{name}: the model answered with the field's description ({value!r})"})
        elif _runaway(value):
            data[name] = None
            reasons.append({"code": "runaway_number", "field": name,
                            "message": f"{name}: {value!r} has more than 12 digits or 4 decimals"})
    return reasons


def copies_description(value: str, description: str) -> bool:
    """`Shop or merchant name` for merchant_name: the description, or most of it, as the value."""
    squashed, described = _squash(value), _squash(description)
    if not squashed or not described:
        return False
    return squashed == described or (len(squashed) >= 12 and squashed in described) or \
        (len(described) >= 12 and described in squashed)


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _runaway(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    from .amounts import bounded

    try:
        return not bounded(Decimal(str(value)))
    except InvalidOperation:
        return True


def _unfence(text: str) -> str:
    """Models sometimes wrap JSON in a code block despite the rules."""
    match = _FENCE.search(text)
    return match.group(1) if match else text.strip()


def _confidence(value: Any, spec: SchemaSpec) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    levels = {key: CONFIDENCE_LEVELS.get(str(level).lower()) for key, level in value.items() if key in spec.fields}
    return {key: score for key, score in levels.items() if score is not None}


def _brief(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "(root)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def ask(complete: Callable[[CompletionRequest], Completion], request: CompletionRequest,
        prompt: prompts.Prompt, spec: SchemaSpec, repairs: int = 1) -> Answer:
    """Ask, validate, and repair up to `repairs` times."""
    completions = [complete(request)]
    parsed = parse(completions[-1], spec)
    while not parsed.ok and len(completions) <= repairs:
        retry = prompts.repair(prompt, parsed.problem, completions[-1].text)
        longer = request.max_tokens * (2 if completions[-1].done_reason == "length" else 1)
        request = replace(request, prompt=retry.text, max_tokens=longer)
        completions.append(complete(request))
        parsed = parse(completions[-1], spec)
    return Answer(parsed, completions[-1].text, len(completions), completions)


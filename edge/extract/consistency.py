"""Multi-sample consistency (the seed's Q6): vote field by field over N samples.

A route with `samples = N` runs its engine N times with different seeds at a
small temperature. Where the samples agree the value stands; where they do
not, the majority value is kept (a tie goes to the earliest sample, the one a
single-sample run would have produced) and every value is listed so that a
person can decide. This module is pure: results in, a vote out.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

SAMPLE_TEMPERATURE = 0.2


@dataclass
class Vote:
    result: dict[str, Any]
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        return [item["field"] for item in self.disagreements]


def vote(samples: list[dict[str, Any]], ignore: Iterable[str] = ()) -> Vote:
    """Majority value per field; `ignore` keys (e.g. confidences) come from the first sample."""
    if not samples:
        raise ValueError("vote() needs at least one sample")
    ignored = set(ignore)
    keys = _ordered_keys(samples)
    result: dict[str, Any] = {}
    disagreements = []
    for key in keys:
        values = [sample.get(key) for sample in samples]
        if key in ignored:
            result[key] = values[0]
            continue
        chosen, votes = _majority(values)
        result[key] = chosen
        if votes < len(values):
            disagreements.append({"field": key, "values": values, "chosen": chosen, "votes": votes})
    return Vote(result, disagreements)


def _ordered_keys(samples: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for sample in samples:
        keys.update(dict.fromkeys(sample))
    return list(keys)


def _majority(values: list[Any]) -> tuple[Any, int]:
    counts: dict[str, int] = {}
    first: dict[str, Any] = {}
    for value in values:
        key = canonical(value)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, value)
    best = max(counts, key=lambda key: counts[key])  # max keeps the first of equal counts
    return first[best], counts[best]


def canonical(value: Any) -> str:
    """Values that differ only in case, width or spacing of text, or int vs float, agree."""
    return json.dumps(_normal(value), sort_keys=True, ensure_ascii=False)


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value

"""Multi-sample consistency (the seed's Q6): vote field by field over N samples.

A route with `samples = N` runs its engine N times with different seeds at a
small temperature. Where the samples agree the value stands; where they do
not, the majority value is kept (a tie goes to the earliest sample, the one a
single-sample run would have produced) and every value is listed so that a
person can decide. This module is pure: results in, a vote out.
"""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .tier import summed

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


# -- running a tier N times (the one impure part: it calls the tier runner) ---------------


def sampled(run_tier: Callable[..., Any], ctx: Any, engine: Any, spec: Any, name: str) -> Any:
    """Run a tier `route.samples` times (seeds seed+i, a small temperature) and vote.

    One sample (the default) is a plain call. The voted TierResult keeps the
    first valid sample's provenance, sums tokens and timings, and carries the
    disagreements plus a `samples_disagree` reason (which flags the file).
    """
    count = getattr(ctx.route, "samples", 1)
    if count <= 1:
        return run_tier(ctx, engine, spec, name)
    base = int(ctx.route.options.get("seed", getattr(engine.options, "seed", None) or 7))
    results = [run_tier(_with_options(ctx, seed=base + i, temperature=SAMPLE_TEMPERATURE), engine, spec, name)
               for i in range(count)]
    return combine(results, [base + i for i in range(count)])


def _with_options(ctx: Any, **options: Any) -> Any:
    route = ctx.route.model_copy(update={"options": {**ctx.route.options, **options}})
    return dataclasses.replace(ctx, route=route)


def combine(results: list[Any], seeds: list[int]) -> Any:
    valid = [result for result in results if result.status == "ok"]
    if not valid:
        return results[0]
    outcome = vote([result.data for result in valid])
    merged = dataclasses.replace(valid[0], data=outcome.result, reasons=list(valid[0].reasons))
    merged.usage = summed([result.usage for result in results])
    merged.timings_ms = summed([result.timings_ms for result in results])
    merged.model = {**(valid[0].model or {}), "samples": {"n": len(results), "seeds": seeds,
                                                          "temperature": SAMPLE_TEMPERATURE}}
    if len(valid) < len(results):
        merged.reasons.append({"code": "samples_invalid", "message": f"{len(results) - len(valid)} of "
                               f"{len(results)} samples did not validate; the vote used the rest"})
    if outcome.disagreements:
        merged.disagreements = outcome.disagreements
        merged.reasons.append({"code": "samples_disagree", "fields": outcome.fields,
                               "message": f"{len(results)} samples disagree on: {', '.join(outcome.fields)}"})
    return merged

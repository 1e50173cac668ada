"""`edge eval`: the same pipeline as the daemon, over a labelled set, scored.

Each document goes through `Pipeline.run` on the chosen route (with the
document's own schema when its truth file names one), outputs go to a
scratch folder (the dataset stays untouched), and every true field is judged
by its checker. `Report.summary()` aggregates what the seed's Q3 asks for.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, Route
from ..engines.base import EngineSet
from ..errors import ConfigError, EdgeError, EngineUnavailable
from ..pipeline import Pipeline, stat_job
from . import dataset
from .checkers import OUTCOMES, FieldResult, Tally, check_document, is_refusal

CAUGHT = ("wrong", "hallucinated")  # the outcomes review routing is there to catch


@dataclass
class DocResult:
    sample: dataset.Sample
    fields: list[FieldResult]
    status: str  # the sidecar's status, or "failed"
    needs_review: bool = False
    reasons: list[str] = field(default_factory=list)
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None
    doc: dict[str, Any] | None = None

    @property
    def all_correct(self) -> bool:
        return all(result.outcome == "correct" for result in self.fields)

    @property
    def errors(self) -> int:
        return sum(result.outcome != "correct" for result in self.fields)

    @property
    def tokens(self) -> int | None:
        if self.prompt_tokens is None and self.output_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.output_tokens or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.sample.name, "schema": self.sample.schema, "status": self.status,
            "all_correct": self.all_correct, "needs_review": self.needs_review, "review_reasons": self.reasons,
            "latency_ms": self.latency_ms, "prompt_tokens": self.prompt_tokens, "output_tokens": self.output_tokens,
            "error": self.error, "hard_cases": self.sample.meta.get("hard_cases", []),
            "timings_ms": (self.doc or {}).get("timings_ms"),
            "fields": [result.as_dict() for result in self.fields],
        }


@dataclass
class Report:
    dataset: str
    route: str
    documents: list[DocResult]

    def summary(self) -> dict[str, Any]:
        docs = self.documents
        overall, per_field = Tally(), dict[str, Tally]()
        for doc in docs:
            for result in doc.fields:
                overall.add(result.outcome)
                per_field.setdefault(result.field, Tally()).add(result.outcome)
        flagged = [doc for doc in docs if doc.needs_review]
        bad = sum(overall.counts[o] for o in CAUGHT)
        caught = sum(1 for doc in flagged for r in doc.fields if r.outcome in CAUGHT)
        latencies = [doc.latency_ms for doc in docs if doc.latency_ms is not None]
        tokens = [doc.tokens for doc in docs if doc.tokens is not None]
        return {
            "documents": len(docs),
            "fields": overall.total,
            "accuracy": overall.accuracy,
            "per_outcome": {o: {"count": n, "share": _share(n, overall.total)} for o, n in overall.counts.items()},
            "per_field": {name: {"total": t.total, "correct": t.counts["correct"], "accuracy": t.accuracy,
                                 "outcomes": t.counts} for name, t in sorted(per_field.items())},
            "documents_all_correct": sum(doc.all_correct for doc in docs),
            "document_accuracy": _share(sum(doc.all_correct for doc in docs), len(docs)),
            "failed": sum(doc.status == "failed" for doc in docs),
            "review": {"flagged": len(flagged), "rate": _share(len(flagged), len(docs)),
                       "wrong_or_hallucinated": bad, "caught": caught, "caught_share": _share(caught, bad)},
            "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
            "hallucination_rate": _share(overall.counts["hallucinated"], overall.total),
            "by_engine": self.by_engine(),
            "tokens_per_document": sum(tokens) / len(tokens) if tokens else None,
            "documents_with_tokens": len(tokens),
        }

    def by_engine(self) -> dict[str, dict[str, Any]]:
        """Fields and hallucinations per model that answered (the sidecar's model block)."""
        rows: dict[str, Tally] = {}
        for doc in self.documents:
            model = (doc.doc or {}).get("model") or {}
            key = f"{model.get('engine', 'none')}:{model.get('name', 'none')}"
            for result in doc.fields:
                rows.setdefault(key, Tally()).add(result.outcome)
        return {key: {"fields": t.total, "accuracy": t.accuracy, "hallucinated": t.counts["hallucinated"],
                      "hallucination_rate": _share(t.counts["hallucinated"], t.total)} for key, t in rows.items()}

    def worst(self, count: int = 5) -> list[DocResult]:
        ranked = sorted(self.documents, key=lambda doc: (-doc.errors, doc.sample.name))
        return [doc for doc in ranked[:count] if doc.errors]

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "route": self.route, "summary": self.summary(),
                "documents": [doc.as_dict() for doc in self.documents]}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- running ---------------------------------------------------------------------------


def pick_route(config: Config, name: str | None) -> Route:
    """The route by name, else the first extract/describe route."""
    for route in config.routes:
        if (name and route.name == name) or (not name and route.task in ("extract", "describe")):
            return route
    known = ", ".join(route.name or "?" for route in config.routes) or "none"
    wanted = f"route {name!r}" if name else "an extract route"
    raise ConfigError(f"the configuration has no {wanted}; routes: {known}")


def evaluate(config: Config, folder: Path, route_name: str | None = None,
             progress: Callable[[DocResult], None] | None = None) -> Report:
    samples = dataset.load(folder)
    route = pick_route(config, route_name)
    engines = EngineSet(config)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="edge-eval-") as scratch:
            for sample in samples:
                pipeline = Pipeline(scoped_config(config, route, sample), engines=engines, output_dir=Path(scratch))
                results.append(run_one(pipeline, sample, Path(folder)))
                if progress:
                    progress(results[-1])
    finally:
        engines.close()
    return Report(str(folder), route.name or "", results)


def scoped_config(config: Config, route: Route, sample: dataset.Sample) -> Config:
    """Only this route, taking every file, with the document's schema; no side effects."""
    only = route.model_copy(update={"match": ["**"], "media": [], "schema_name": sample.schema or route.schema_name})
    quiet = config.edge.model_copy(update={"after": None, "review_dir": None, "output_dir": None})
    return config.model_copy(update={"routes": [only], "edge": quiet})


def run_one(pipeline: Pipeline, sample: dataset.Sample, root: Path) -> DocResult:
    started = time.perf_counter()
    try:
        outcome = pipeline.run(stat_job(sample.path.resolve(), root.resolve()))
    except (EngineUnavailable, ConfigError):
        raise  # nothing can be measured without the engine or with a broken config
    except EdgeError as exc:
        fields = check_document(sample.fields, sample.checkers, None)
        return DocResult(sample, fields, "failed", error=f"{exc.code}: {exc}",
                         latency_ms=(time.perf_counter() - started) * 1000)
    return score(sample, outcome.doc or {}, (time.perf_counter() - started) * 1000)


def score(sample: dataset.Sample, doc: dict[str, Any], measured_ms: float) -> DocResult:
    refused = refusal(doc)
    predicted = doc.get("result") if doc.get("status") != "invalid" or refused else None
    text = (doc.get("ocr") or {}).get("text")
    fields = check_document(sample.fields, sample.checkers, predicted, refused=refused, text=text)
    review = doc.get("review") or {}
    usage = (doc.get("model") or {}).get("usage") or {}
    reported = any(usage.get(key) for key in ("prompt_tokens", "output_tokens"))
    return DocResult(
        sample, fields, doc.get("status", "ok"),
        needs_review=bool(review.get("needs_review")),
        reasons=[reason.get("code", "") for reason in review.get("reasons", [])],
        latency_ms=(doc.get("timings_ms") or {}).get("total", measured_ms),
        prompt_tokens=usage.get("prompt_tokens") if reported else None,
        output_tokens=usage.get("output_tokens") if reported else None,
        doc=doc,
    )


def refusal(doc: dict[str, Any]) -> bool:
    """An invalid answer whose raw text is a refusal ("I cannot read this document")."""
    if doc.get("status") != "invalid":
        return False
    raws = [tier.get("raw") for tier in doc.get("tiers", [])] + [page.get("raw") for page in doc.get("pages", [])]
    return any(is_refusal(raw) for raw in raws if raw)


__all__ = ["OUTCOMES", "DocResult", "Report", "evaluate", "pick_route", "percentile"]

"""The extract and describe tasks: run a route's tiers in order until one is good.

A route says `model = "vision"` (one tier) or `tiers = ["ocr-small", "vision"]`.
Each tier returns a TierResult; the next tier runs when an escalation check
finds a reason (edge.extract.escalation.ESCALATE, the one list). When the first tier's engine is not
there the file waits (EngineUnavailable goes up); when a later one is not
there the best result so far is kept and marked for review. What the loop
knows of the document's own text (edge.extract.evidence.Evidence: the OCR
text, grounding) goes from tier to tier as a value; each tier's pages are
PageRecords and its reasons Reasons (edge.extract.tier).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import ConfigError, EngineUnavailable
from ..extract import consistency, escalation, locate, schemas
from ..extract.evidence import Evidence, grounded, hint, keep_ocr, sidecar_ocr
from ..extract.schemas import SchemaSpec
from ..extract.tier import Reason, TierResult, summed
from .base import Review, TaskContext, TaskOutput

ADMITS_EACH_MODEL = True  # each tier attempt takes its own model's admission (GPU lease, workers)

# (engine kind, media kind) -> the tier runner; engines with complete() use the vision tier.
TIER_RUNNERS: dict[tuple[str, str], str] = {
    ("ocr", "image"): "edge.extract.ocr_small:run_tier",
    ("ocr", "pdf"): "edge.extract.ocr_small:run_tier",
    ("ocr", "audio"): "edge.tasks.transcript_tier:run_tier",
    ("ocr", "video"): "edge.tasks.transcript_tier:run_tier",
}
DEFAULT_RUNNER = "edge.extract.vision:run_tier"


def run(ctx: TaskContext) -> TaskOutput:
    spec = schemas.resolve(ctx.route.schema_name, ctx.route.task, ctx.config)
    results: list[TierResult] = []
    known = Evidence()  # the document's own text, once a tier has read it
    for index, name in enumerate(tier_names(ctx)):
        result, known = attempt(ctx, name, spec, first=index == 0, known=known)
        if result.status != "unavailable":
            result, known = grounded(result, known)
            result = replace(result, escalated=escalation.reasons_to_escalate(result, spec))
        results.append(result)
        if result.status == "unavailable" or not result.escalated:
            break
    return output(spec, results, known, keep_ocr(ctx))


def tier_names(ctx: TaskContext) -> list[str]:
    names = ctx.route.tiers or ([ctx.route.model] if ctx.route.model else [])
    if not names:
        raise ConfigError(f"route {ctx.route.name}: task {ctx.route.task} needs `model` or `tiers`")
    return names


def attempt(ctx: TaskContext, name: str, spec: SchemaSpec, first: bool,
            known: Evidence | None = None) -> tuple[TierResult, Evidence]:
    """One tier under its model's admission; a later tier that is not there is noted, not waited for."""
    known = known or Evidence()
    engine = ctx.engines.get(name)
    try:
        ocr_hint, known = hint(ctx, engine, known)
        runner = runner_for(engine.kind, ctx.job.media.kind if ctx.job.media else "")
        tier_ctx = replace(ctx, ocr_hint=ocr_hint)
        return ctx.admit(name, engine, lambda lease: consistency.sampled(runner, tier_ctx, engine, spec, name)), known
    except EngineUnavailable as exc:
        if first:
            raise  # the file waits for its first tier; nothing is spent
        reason: Reason = {"code": "tier_unavailable", "message": f"tier {name} is unavailable: {exc.message}",
                          "hint": exc.hint}
        return TierResult(tier=name, status="unavailable", reasons=[reason], model=engine.provenance()), known


def runner_for(kind: str, media: str = "image") -> Callable[..., TierResult]:
    module_name, func = TIER_RUNNERS.get((kind, media), DEFAULT_RUNNER).split(":")
    return getattr(importlib.import_module(module_name), func)


def chosen(results: list[TierResult]) -> TierResult:
    """The last tier that answered ok, else the last one that answered at all."""
    answered = [r for r in results if r.status != "unavailable"]
    ok = [r for r in answered if r.status == "ok"]
    return (ok or answered)[-1]


def output(spec: SchemaSpec, results: list[TierResult], known: Evidence | None = None,
           keep_ocr: bool = False) -> TaskOutput:
    known = known or Evidence()
    best = chosen(results)
    review = Review()
    for result in results:
        if result.status == "unavailable":
            for reason in result.reasons:
                review.flag(**reason)
    for reason in best.reasons:
        review.flag(**reason)
    review.disagreements = best.disagreements
    _flag_fields(review, best, spec)
    timings = summed(result.timings_ms for result in results)
    if known.read_ms:
        timings["ocr"] = timings.get("ocr", 0.0) + known.read_ms
    return TaskOutput(
        result={name: best.data.get(name) for name in spec.fields},
        status=_status(best),
        review=review,
        model=_model_block(best),
        task={"schema": spec.name, "schema_sha256": spec.sha256, "prompt_sha256": best.prompt_sha256},
        timings_ms=timings,
        extra=_extra(results, best, known, keep_ocr),
    )


def _flag_fields(review: Review, best: TierResult, spec: SchemaSpec) -> None:
    missing = escalation.required_missing(best, spec)
    if missing:
        review.flag(**missing)
    low = sorted(name for name, score in best.confidence.items() if score < escalation.LOW_CONFIDENCE)
    if low:
        review.flag("low_confidence", f"the model is unsure of: {', '.join(low)}", fields=low)


def _status(best: TierResult) -> str:
    if best.status == "ok":
        return "ok"
    pages_ok = any(page.get("status") == "ok" for page in best.pages)
    return "partial" if pages_ok else "invalid"


def _model_block(best: TierResult) -> dict[str, Any]:
    block = dict(best.model or {"name": best.tier, "engine": "unknown"})
    if best.usage:
        block["usage"] = best.usage
    return block




def _extra(results: list[TierResult], best: TierResult, known: Evidence, keep_ocr: bool) -> dict[str, Any]:
    tiers = [{**result.record(), **({"grounding": known.grounding[result.tier]} if result.tier in known.grounding
                                     else {})} for result in results]
    extra: dict[str, Any] = {"tiers": tiers, "pages": best.pages}
    ocr = sidecar_ocr(known, keep_ocr)
    if ocr is not None:
        extra["ocr"] = ocr
    if best.status != "unavailable":
        by_model = not (best.evidence or {}).get("fields")  # the CPU tier records its candidates
        extra["evidence"] = locate.evidence(best.data, best.evidence, known.ocr, by_model)
    return extra

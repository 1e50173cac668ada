"""The vision tier: each page to a vision model, validated, merged per document.

Works with any engine that has `complete(CompletionRequest) -> Completion`
(ollama, llamacpp). Pages are prepared one at a time; each gets its own
request with exactly one image, because mllama refuses more than one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..engines.base import Completion, CompletionRequest
from ..gpu import current_lease
from ..media import image as image_media
from ..media import pdf as pdf_media
from ..media.image import PreparedPage
from . import prompts, validate
from .escalation import with_ocr_hint
from .schemas import SchemaSpec
from .tier import TierResult, setting

DEFAULT_MAX_PAGES = 20


def page_count(path: Path, kind: str) -> int:
    return pdf_media.page_count(path) if kind == "pdf" else image_media.page_count(path)


def prepared_pages(path: Path, kind: str, canvas: int, max_pages: int) -> Iterator[PreparedPage]:
    module = pdf_media if kind == "pdf" else image_media
    return module.pages(path, canvas=canvas, max_pages=max_pages)


def reduced_canvas(canvas: int) -> int:
    """Half the canvas on the GPU scheduler's retry after out-of-memory (mllama: one 560 px tile)."""
    lease = current_lease()
    return max(256, canvas // 2) if lease is not None and lease.reduced else canvas


def run_tier(ctx: Any, engine: Any, spec: SchemaSpec, tier: str) -> TierResult:
    prompt = with_ocr_hint(prompts.build(spec), getattr(ctx, "ocr_hint", None))
    canvas = reduced_canvas(int(setting(ctx, engine, "canvas", image_media.DEFAULT_CANVAS)))
    max_pages = int(setting(ctx, engine, "max_pages", DEFAULT_MAX_PAGES))
    repairs = int(setting(ctx, engine, "repairs", 1))
    path, kind = ctx.job.path, ctx.job.media.kind
    total_pages = page_count(path, kind)
    records: list[dict[str, Any]] = []
    timings: dict[str, float] = defaultdict(float)
    for page in timed_pages(prepared_pages(path, kind, canvas, max_pages), timings):
        request = _request(engine, ctx, prompt, spec, page)
        started = time.perf_counter()
        answer = validate.ask(engine.complete, request, prompt, spec, repairs)
        timings["inference"] += (time.perf_counter() - started) * 1000
        records.append(_page_record(page, answer))
    result = _result(tier, spec, records, engine, prompt, timings)
    if total_pages > max_pages:
        result.reasons.append({"code": "pages_truncated",
                               "message": f"only the first {max_pages} of {total_pages} pages were read (max_pages)"})
    return result


def _request(engine: Any, ctx: Any, prompt: prompts.Prompt, spec: SchemaSpec, page: PreparedPage) -> CompletionRequest:
    return CompletionRequest(
        prompt=prompt.text,
        image=page.jpeg,
        schema=spec.format,
        system=prompt.system,
        temperature=float(setting(ctx, engine, "temperature", 0.0)),  # > 0 only for samples
        seed=int(setting(ctx, engine, "seed", 7)),
        max_tokens=int(setting(ctx, engine, "num_predict", 1024)),
        num_ctx=setting(ctx, engine, "num_ctx", None),
    )


def _page_record(page: PreparedPage, answer: validate.Answer) -> dict[str, Any]:
    record: dict[str, Any] = {
        "page": page.index + 1,
        "status": "ok" if answer.parsed.ok else "invalid",
        "result": answer.parsed.data if answer.parsed.ok else None,
        "confidence": answer.parsed.confidence,
        "attempts": answer.attempts,
        "image": {"width": page.width, "height": page.height, "bytes": len(page.jpeg)},
        "source": {"width": page.source_width, "height": page.source_height},
        "timings_ms": engine_timings(answer.completions),
        "usage": usage(answer.completions),
    }
    if not answer.parsed.ok:
        record.update(problem=answer.parsed.problem, raw=answer.raw)
    if answer.parsed.reasons:
        record["flags"] = [{**reason, "page": page.index + 1} for reason in answer.parsed.reasons]
    return record


def timed_pages(pages: Iterator[Any], timings: dict[str, float]) -> Iterator[Any]:
    """Yield prepared pages, adding the time spent preparing each to timings["prepare"]."""
    while True:
        started = time.perf_counter()
        page = next(pages, None)
        timings["prepare"] += (time.perf_counter() - started) * 1000
        if page is None:
            return
        yield page


def engine_timings(completions: list[Completion]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for completion in completions:
        for key, value in completion.timings_ms.items():
            totals[key] += value
    return {key: round(value, 3) for key, value in totals.items()}


def usage(completions: list[Completion]) -> dict[str, int]:
    return {
        "prompt_tokens": sum(c.prompt_tokens or 0 for c in completions),
        "output_tokens": sum(c.output_tokens or 0 for c in completions),
    }


def _result(tier: str, spec: SchemaSpec, records: list[dict[str, Any]], engine: Any,
            prompt: prompts.Prompt, timings: dict[str, float]) -> TierResult:
    good = [(r["page"], r["result"], r["confidence"]) for r in records if r["status"] == "ok"]
    data, confidence, conflicts = merge(good, spec.fields)
    bad = [r for r in records if r["status"] != "ok"]
    result = TierResult(
        tier=tier,
        status="invalid" if bad or not records else "ok",
        data=data,
        raw=bad[-1]["raw"] if bad else None,
        confidence=confidence,
        model=engine.provenance(),
        timings_ms={**timings, **_sum_engine(records)},
        pages=records,
        usage=_sum_usage(records),
        prompt_sha256=prompt.sha256,
    )
    for page in bad:
        result.reasons.append({"code": "invalid_output", "message": f"page {page['page']}: {page['problem']}",
                               "page": page["page"]})
    result.reasons.extend(conflicts)
    result.reasons.extend(flag for record in records for flag in record.get("flags", []))
    return result


def merge(pages: list[tuple[int, dict[str, Any], dict[str, float]]], fields: list[str]):
    """Document-level fields: the first non-null value per field, lists joined
    across pages (line items continue over pages), differing values listed."""
    data: dict[str, Any] = {}
    confidence: dict[str, float] = {}
    conflicts: list[dict[str, Any]] = []
    for name in fields:
        found = [(page, values[name], conf.get(name)) for page, values, conf in pages
                 if values.get(name) not in (None, "", [])]
        data[name] = _merged_value(found)
        scores = [score for _, _, score in found if score is not None]
        if scores:
            confidence[name] = min(scores) if isinstance(data[name], list) else scores[0]
        distinct = {repr(value) for _, value, _ in found}
        if len(distinct) > 1 and not isinstance(data[name], list):
            conflicts.append({
                "code": "page_conflict",
                "message": f"pages disagree on {name}; the first page's value was kept",
                "field": name,
                "values": [{"page": page, "value": value} for page, value, _ in found],
            })
    return data, confidence, conflicts


def _merged_value(found: list[tuple[int, Any, float | None]]) -> Any:
    if not found:
        return None
    if all(isinstance(value, list) for _, value, _ in found):
        joined: list[Any] = []
        seen: list[Any] = []
        for _, value, _ in found:
            if value not in seen:  # a page that repeats an earlier page's rows adds nothing
                seen.append(value)
                joined.extend(value)
        return joined
    return found[0][1]


def _sum_engine(records: list[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for record in records:
        for key, value in record["timings_ms"].items():
            totals[key] += value
    return dict(totals)


def _sum_usage(records: list[dict[str, Any]]) -> dict[str, int]:
    return {key: sum(r["usage"][key] for r in records) for key in ("prompt_tokens", "output_tokens")}

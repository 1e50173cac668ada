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

from ..engines.base import CompletionRequest
from ..gpu import current_lease
from ..media import image as image_media
from ..media import pdf as pdf_media
from ..media.image import PreparedPage
from . import prompts, validate
from .evidence import with_ocr_hint
from .pages import answered_page, merge, summed_timings, summed_usage, timed_pages
from .schemas import SchemaSpec
from .tier import PageRecord, TierResult, setting

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
    records: list[PageRecord] = []
    timings: dict[str, float] = defaultdict(float)
    for page in timed_pages(prepared_pages(path, kind, canvas, max_pages), timings):
        request = _request(engine, ctx, prompt, spec, page)
        started = time.perf_counter()
        answer = validate.ask(engine.complete, request, prompt, spec, repairs)
        timings["inference"] += (time.perf_counter() - started) * 1000
        records.append(answered_page(page, answer))
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


def _result(tier: str, spec: SchemaSpec, records: list[PageRecord], engine: Any,
            prompt: prompts.Prompt, timings: dict[str, float]) -> TierResult:
    good = [(r["page"], r.get("result") or {}, r.get("confidence", {})) for r in records if r["status"] == "ok"]
    data, confidence, conflicts = merge(good, spec.fields)
    bad = [r for r in records if r["status"] != "ok"]
    result = TierResult(
        tier=tier,
        status="invalid" if bad or not records else "ok",
        data=data,
        raw=bad[-1]["raw"] if bad else None,
        confidence=confidence,
        model=engine.provenance(),
        timings_ms={**timings, **summed_timings(records)},
        pages=records,
        usage=summed_usage(records),
        prompt_sha256=prompt.sha256,
    )
    for page in bad:
        result.reasons.append({"code": "invalid_output", "message": f"page {page['page']}: {page['problem']}",
                               "page": page["page"]})
    result.reasons.extend(conflicts)
    result.reasons.extend(flag for record in records for flag in record.get("flags", []))
    return result

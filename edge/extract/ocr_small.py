"""The `ocr-small` tier: read the page, find candidates in code, let the small model choose.

Runs with no GPU, no Ollama and no network. Pages are read from a PDF's text
layer or by RapidOCR (reading.py), laid out in rows (layout.py); finders
collect every printed value that could fill each field (candidates.py);
where the finders cannot separate two candidates, the embedded text model
picks one by number under a grammar (choose.py). Values are normalised in
code from the printed text, so nothing that is not on the page comes out.
A transcript (an audio route that asks for `extract`) goes the same way through `from_text`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engines.base import Completion, CompletionRequest
from . import candidates as C
from . import checks, choose, dates, layout, reading, structure
from .fields import FOUND, FieldRule, rules_for
from .layout import Page
from .pages import read_page
from .schemas import SchemaSpec
from .tier import Reason, TierResult, setting, text_model, with_text_model

DEFAULT_MAX_PAGES = 20
LOW_OCR_LINE = 0.6  # a chosen value read this poorly goes to review


def run_tier(ctx: Any, engine: Any, spec: SchemaSpec, tier: str) -> TierResult:
    """Images and PDFs: read the pages (text layer or OCR), then find and choose."""
    max_pages = int(setting(ctx, engine, "max_pages", DEFAULT_MAX_PAGES))
    pages, timings = reading.read(ctx.job.path, ctx.job.media.kind, engine, max_pages)
    result = extract(ctx, engine, spec, tier, pages, timings)
    result.ocr = reading.ocr_block(pages, boxes=True)
    _flag_ocr_quality(result, pages, engine.options.min_score)
    return result


def from_text(ctx: Any, engine: Any, spec: SchemaSpec, tier: str, text: str, timings: dict[str, float]) -> TierResult:
    """Text with no page geometry (a transcript): each line a row, the same finders and choice."""
    pages = [layout.text_page(1, text)]
    result = extract(ctx, engine, spec, tier, pages, timings)
    result.ocr = reading.ocr_block(pages, boxes=True)
    return result


# -- one document's fields ----------------------------------------------------------------------------


@dataclass
class Found:
    """What the finders and the model made of one document."""

    values: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    chosen: dict[str, C.Candidate] = field(default_factory=dict)


def extract(ctx: Any, engine: Any, spec: SchemaSpec, tier: str, pages: list[Page],
            timings: dict[str, float]) -> TierResult:
    rules = rules_for(spec, _label_additions(ctx, spec))
    text = "\n".join(page.text for page in pages)
    phrases = frozenset(p for rule in rules.values() for p in (*rule.labels.strong, *rule.labels.labels))
    context = C.Context(pages, _date_order(ctx, pages, text), text, phrases)
    started = time.perf_counter()
    lists = bool(ctx.route.options.get("lists", False))
    found = Found()
    pending = _find_all(context, rules, lists, found)
    timings["candidates"] = (time.perf_counter() - started) * 1000
    complete, text = text_model(ctx, engine)
    completion, prompt = _choose(ctx, engine, complete, rules, pending, found) if pending else (None, None)
    _structured(context, rules, lists, found)
    result = _result(tier, spec, pages, found, context, timings, completion, prompt)
    result.model = with_text_model(engine.provenance(), engine, text)
    return result


def _find_all(context: C.Context, rules: dict[str, FieldRule], lists: bool, found: Found) -> dict[str, list[C.Candidate]]:
    """Fill every field the finders settle; return the ones the model must choose."""
    pending = {}
    for name, rule in rules.items():
        if rule.kind not in FOUND:
            continue
        candidates = C.find(context, rule)
        found.evidence[name] = {"candidates": [c.as_dict() for c in candidates[:choose.SHOWN]]}
        if choose.undecided(candidates):
            pending[name] = candidates
        else:
            _take(found, name, choose.by_finders(candidates))
    return pending


def _choose(ctx: Any, engine: Any, complete: Callable[[CompletionRequest], Completion], rules: dict[str, FieldRule],
            pending: dict[str, list[C.Candidate]], found: Found) -> tuple[Any, Any]:
    picks, completion, prompt = choose.ask(
        complete, rules, pending,
        temperature=float(setting(ctx, engine, "temperature", 0.0)), seed=int(setting(ctx, engine, "seed", 7)))
    for name, candidates in pending.items():
        _take(found, name, choose.by_model(name, candidates, picks.get(name)))
    return completion, prompt


def _take(found: Found, name: str, choice: choose.Choice) -> None:
    found.values[name] = choice.value
    found.evidence[name]["how"] = choice.how
    found.reasons += choice.reasons
    if choice.confidence is not None:
        found.confidence[name] = choice.confidence
    if choice.candidate is not None:
        found.chosen[name] = choice.candidate
        if choice.candidate.alternatives:
            _flag_ambiguous_date(found, name, choice.candidate)


def _flag_ambiguous_date(found: Found, name: str, candidate: C.Candidate) -> None:
    found.confidence[name] = min(found.confidence.get(name, 0.3), 0.3)
    found.reasons.append({
        "code": "ambiguous_date", "field": name, "values": [candidate.value, *candidate.alternatives],
        "message": f"{name}: {candidate.text!r} can be read day-first or month-first and nothing on the page "
                   f"decides; {candidate.value} was kept (set date_order to decide)"})


def _structured(context: C.Context, rules: dict[str, FieldRule], lists: bool, found: Found) -> None:
    for name, rule in rules.items():
        if rule.kind == "items":
            found.values[name] = structure.items(context) or None if lists else None
            born_digital = all(page.source == "text_layer" for page in context.pages)  # OCR misreads sums
            if lists and born_digital and structure.table_items(context) is not None:
                mismatch = checks.line_sum(found.values[name], context.pages, found.values.get("total_amount"))
                found.reasons += [mismatch] if mismatch else []
        elif rule.kind == "key_values":
            found.values[name] = structure.key_values(context) or None if lists else None
        elif rule.kind == "parties":
            found.values[name] = structure.parties(context, rule) or None
        elif rule.kind == "page_text":
            found.values[name] = structure.page_text(context)
        elif rule.kind in ("summary", "none"):
            found.values.setdefault(name, None)
    for name, rule in rules.items():
        if rule.kind == "summary":
            found.values[name] = structure.summary(found.values)
    impossible = checks.tax_within_total(found.values.get("tax_amount"), found.values.get("total_amount"))
    found.reasons += [impossible] if impossible else []


# -- options ---------------------------------------------------------------------------------------------


def _date_order(ctx: Any, pages: list[Page], text: str) -> dates.Decision:
    option = ctx.route.options.get("date_order") or getattr(ctx.config.edge, "date_order", None)
    tokens = [token for page in pages for line in page.lines for token in dates.find(line.text)]
    return dates.resolve_order(tokens, text, option)


def _label_additions(ctx: Any, spec: SchemaSpec) -> dict[str, Any]:
    return (getattr(ctx.config, "labels", None) or {}).get(spec.name, {})


# -- the tier's result -----------------------------------------------------------------------------------


def _result(tier: str, spec: SchemaSpec, pages: list[Page], found: Found, context: C.Context,
            timings: dict[str, float], completion: Any, prompt: Any) -> TierResult:
    data = {name: found.values.get(name) for name in spec.fields}
    model_ms = completion.timings_ms if completion else {}
    timings["inference"] = timings.get("inference", 0.0) + sum(model_ms.values())
    result = TierResult(
        tier=tier, status="ok", data=spec.model.model_validate(data).model_dump(mode="json"),
        confidence=found.confidence, timings_ms=timings,
        pages=[read_page(page) for page in pages],
        usage={"prompt_tokens": completion.prompt_tokens or 0,
               "output_tokens": completion.output_tokens or 0} if completion else {},
        prompt_sha256=prompt.sha256 if prompt else _rules_digest(spec),
    )
    result.evidence = {"date_order": {"order": context.date_order.order, "how": context.date_order.how},
                       "fields": found.evidence, "model_asked": sorted(n for n, e in found.evidence.items()
                                                                      if "model" in e.get("how", ""))}
    result.reasons.extend(found.reasons)
    _flag_poor_reads(result, found, pages)
    return result


def _rules_digest(spec: SchemaSpec) -> str:
    """No prompt was sent: the digest names the schema the finders worked to."""
    return hashlib.sha256(f"finders:{spec.sha256}".encode()).hexdigest()


def _flag_poor_reads(result: TierResult, found: Found, pages: list[Page]) -> None:
    by_page = {page.number: page for page in pages}
    for name, candidate in found.chosen.items():
        line = by_page[candidate.page].lines[candidate.line]
        if line.score < LOW_OCR_LINE:
            result.confidence[name] = min(result.confidence.get(name, 0.3), 0.3)
            result.reasons.append({"code": "low_ocr_confidence", "field": name,
                                   "message": f"{name}: the line {line.text!r} was read with score {line.score:.2f}"})


def _flag_ocr_quality(result: TierResult, pages: list[Page], min_score: float) -> None:
    scores = [line.score for page in pages if page.source == "ocr" for line in page.lines]
    if not any(page.lines for page in pages):
        result.reasons.append({"code": "no_text", "message": "no text was found on any page"})
    elif scores and sum(scores) / len(scores) < min_score:
        mean = sum(scores) / len(scores)
        result.reasons.append({"code": "low_ocr_confidence",
                               "message": f"OCR mean line score {mean:.2f} is below {min_score}"})

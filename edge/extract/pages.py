"""Pages: the record each tier keeps of a page, and document fields merged from pages (or frames)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ..engines.base import Completion
from ..media.image import PreparedPage
from . import validate
from .layout import Page
from .tier import PageRecord, Reason, summed


def read_page(page: Page) -> PageRecord:
    """An OCR tier's page: where its text came from, and how it was laid out."""
    return {"page": page.number, "status": "ok", "source": page.source, "lines": len(page.lines),
            "skew_deg": page.skew_deg}


def answered_page(page: PreparedPage, answer: validate.Answer) -> PageRecord:
    """A vision tier's page: the picture sent, the answer, its cost."""
    record: PageRecord = {
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
        record["problem"], record["raw"] = answer.parsed.problem or "", answer.raw
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
    return {key: round(value, 3) for key, value in summed(c.timings_ms for c in completions).items()}


def usage(completions: list[Completion]) -> dict[str, int]:
    return {
        "prompt_tokens": sum(c.prompt_tokens or 0 for c in completions),
        "output_tokens": sum(c.output_tokens or 0 for c in completions),
    }


def merge(pages: list[tuple[int, dict[str, Any], dict[str, float]]],
          fields: list[str]) -> tuple[dict[str, Any], dict[str, float], list[Reason]]:
    """Document-level fields: the first non-null value per field, lists joined
    across pages (line items continue over pages), differing values listed."""
    data: dict[str, Any] = {}
    confidence: dict[str, float] = {}
    conflicts: list[Reason] = []
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


def summed_timings(records: list[PageRecord]) -> dict[str, float]:
    return summed(record["timings_ms"] for record in records)


def summed_usage(records: list[PageRecord]) -> dict[str, int]:
    return {key: sum(r["usage"][key] for r in records) for key in ("prompt_tokens", "output_tokens")}

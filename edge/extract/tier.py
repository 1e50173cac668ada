"""What one tier (a model that tried to answer) hands back to the tier loop: TierResult,
with its PageRecords and Reasons (typed dicts: they go into the sidecar as they are)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Required, TypedDict

from ..engines.base import Completion, CompletionRequest

TierStatus = Literal["ok", "invalid", "unavailable"]


class Reason(TypedDict, total=False):
    """Why a tier was escalated or a document goes to review."""

    code: Required[str]  # a stable name: invalid_output, ungrounded, ambiguous_date, ...
    message: Required[str]  # one line a person can act on
    hint: str | None  # what to do about it
    field: str  # the field it is about
    fields: list[str]  # or the fields
    values: list[Any]  # the values in play (a date read two ways, pages that disagree)
    page: int  # the page it was seen on
    t: float  # video: the time of the frame, in seconds


class PageRecord(TypedDict, total=False):
    """One entry of the sidecar's `pages`: how the page was read and what came of it."""

    page: Required[int]  # from 1
    status: Required[Literal["ok", "invalid"]]
    source: Any  # OCR tiers: "ocr" or "text_layer"; vision tiers: the source image's size
    lines: int  # OCR tiers: lines read
    skew_deg: float  # OCR tiers: the skew undone before the rows were grouped
    result: dict[str, Any] | None  # vision tiers: this page's answer
    confidence: dict[str, float]
    attempts: int  # vision tiers: requests, repairs included
    image: dict[str, int]  # vision tiers: the picture sent
    timings_ms: dict[str, float]
    usage: dict[str, int]
    problem: str  # why the answer did not validate
    raw: str | None  # the answer that did not validate
    flags: list[Reason]  # what the model flagged on this page


def setting(ctx: Any, engine: Any, key: str, default: Any) -> Any:
    """A route option wins over the engine's option, which wins over the default."""
    if ctx.route.options.get(key) is not None:
        return ctx.route.options[key]
    value = getattr(engine.options, key, None)
    return default if value is None else value


def summed(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Key by key totals of timings or token counts (of pages, samples, tiers)."""
    total: dict[str, Any] = {}
    for item in items:
        for key, value in (item or {}).items():
            total[key] = total.get(key, 0) + value
    return total


def text_model(ctx: Any, engine: Any) -> tuple[Callable[[CompletionRequest], Completion], Any]:
    """How an OCR tier asks its text model, and that model. A configured one (`text_model` names a
    [models] entry) is called under its own admission: GPU lease and workers, like any tier.
    ocr-openai carries its text model inside, admitted with the tier."""
    name = getattr(engine.options, "text_model", None)
    if not name or name not in ctx.config.models:
        return engine.complete, engine
    text = ctx.engines.get(name)
    return (lambda request: ctx.admit(name, text, lambda lease: text.complete(request))), text


def with_text_model(provenance: dict[str, Any], engine: Any, text: Any) -> dict[str, Any]:
    """An OCR tier's model block: the reader, and the text model's own block under `text_model`."""
    if text is engine:
        return provenance
    text_block = text.provenance()
    return {**provenance, "digest": text_block.get("digest"), "quantization": text_block.get("quantization"),
            "text_model": text_block}


@dataclass
class TierResult:
    tier: str  # the model name in models.toml
    status: TierStatus
    data: dict[str, Any] = field(default_factory=dict)  # validated fields (document level)
    raw: str | None = None  # the model's last raw answer when it did not validate
    confidence: dict[str, float] = field(default_factory=dict)  # field -> 0..1
    model: dict[str, Any] | None = None  # engine provenance (the sidecar's model block)
    timings_ms: dict[str, float] = field(default_factory=dict)
    pages: list[PageRecord] = field(default_factory=list)
    ocr: dict[str, Any] | None = None  # the OCR text and boxes, for OCR tiers
    reasons: list[Reason] = field(default_factory=list)  # why it was escalated or flagged
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, output_tokens
    prompt_sha256: str | None = None
    escalated: list[Reason] = field(default_factory=list)  # why the next tier was tried
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # samples that disagreed (consistency)
    evidence: dict[str, Any] | None = None  # candidate-based tiers: each field's candidates and how one was chosen

    def record(self) -> dict[str, Any]:
        """The entry of the sidecar's `tiers` array."""
        entry: dict[str, Any] = {"tier": self.tier, "status": self.status}
        if self.model:
            entry["model"] = self.model.get("name")
        if self.timings_ms:
            entry["timings_ms"] = {key: round(value, 3) for key, value in self.timings_ms.items()}
        if self.usage:
            entry["usage"] = self.usage
        if self.confidence:
            entry["confidence"] = self.confidence
        if self.raw is not None and self.status == "invalid":
            entry["raw"] = self.raw
        entry["reasons"] = self.reasons
        if self.escalated:
            entry["escalated"] = self.escalated
        if self.evidence:
            entry["evidence"] = self.evidence
        return entry

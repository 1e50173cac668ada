"""Transcript, then fields: an audio route whose tier is an ocr model.

Whisper transcribes with the route's `asr` model (else the config's first
faster-whisper model) through the transcribe task; the transcript then goes
through the same finders and choice as a page of OCR text.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..errors import ConfigError
from ..extract import ocr_small
from ..extract.schemas import SchemaSpec
from ..extract.tier import TierResult
from . import transcribe


def run_tier(ctx: Any, engine: Any, spec: SchemaSpec, tier: str) -> TierResult:
    started = time.perf_counter()
    text = transcript_text(ctx)
    timings = {"transcribe": (time.perf_counter() - started) * 1000}
    return ocr_small.from_text(ctx, engine, spec, tier, text, timings)


def transcript_text(ctx: Any) -> str:
    asr = ctx.route.options.get("asr") or next(
        (name for name, model in ctx.config.models.items() if model.engine == "faster-whisper"), None)
    if asr is None:
        raise ConfigError(f"route {ctx.route.name}: extracting from audio needs a faster-whisper model "
                          "(set options.asr or define one in [models])")
    options = {key: value for key, value in ctx.route.options.items() if key in transcribe.TranscribeOptions.model_fields}
    route = ctx.route.model_copy(update={"model": asr, "task": "transcribe", "tiers": [], "options": options})
    output = ctx.admit(asr, ctx.engines.get(asr), lambda lease: transcribe.run(replace(ctx, route=route)))
    return str(output.result.get("text") or "")

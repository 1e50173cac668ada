"""A video's soundtrack, through the transcribe task itself (no second copy of it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, InputError
from . import transcribe
from .base import TaskContext
from .video_options import VideoOptions


@dataclass
class Sound:
    result: dict[str, Any] | None  # the transcribe task's result; None when there is no soundtrack
    model: dict[str, Any] | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)  # review reasons, prefixed "transcript_"
    timings_ms: dict[str, float] = field(default_factory=dict)
    companions: dict[str, str] = field(default_factory=dict)


def asr_model(ctx: TaskContext, opts: VideoOptions) -> str:
    if opts.asr:
        if opts.asr not in ctx.config.models:
            raise ConfigError(f"routes.{ctx.route.name}.options.asr names model {opts.asr!r}, "
                              "which [models] does not define")
        return opts.asr
    whisper = [name for name, spec in ctx.config.models.items() if spec.engine == "faster-whisper"]
    if len(whisper) != 1:
        raise ConfigError(f"routes.{ctx.route.name}: transcribe = true needs options.asr "
                          f"(faster-whisper models: {', '.join(whisper) or 'none'})")
    return whisper[0]


def transcript(ctx: TaskContext, opts: VideoOptions) -> Sound:
    """The transcribe task on the same file; a video without sound gets None, not an error."""
    given = {key: value for key, value in ctx.route.options.items() if key in transcribe.TranscribeOptions.model_fields}
    asr = asr_model(ctx, opts)
    route = ctx.route.model_copy(update={"task": "transcribe", "model": asr, "tiers": [],
                                         "options": {**given, **opts.transcript}})
    sub = TaskContext(job=ctx.job, route=route, config=ctx.config, engines=ctx.engines, log=ctx.log)
    try:
        heard = ctx.admit(asr, ctx.engines.get(asr), lambda lease: transcribe.run(sub))
    except InputError as exc:  # the pictures may still be good: say what the sound lacked
        if exc.code == "no_audio":
            return Sound(None)
        return Sound(None, reasons=[{"code": "transcript_failed", "message": f"soundtrack: {exc.message}"}])
    reasons = [{**reason, "code": f"transcript_{reason['code']}"} for reason in heard.review.reasons]
    timings = {f"transcribe_{key}": value for key, value in heard.timings_ms.items()}
    result = {**heard.result, "model": heard.model}
    return Sound(result, heard.model, reasons, timings, heard.companions)

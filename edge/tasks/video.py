"""Video for describe and extract routes: sampled frames read by the route's
models, the soundtrack transcribed, in one sidecar.

Frames come from media/video.py (upright, timed) and go through the image
preparation every picture gets (RGB, the model's canvas, JPEG). Each model
the route names (`tiers`, or `model`) reads every frame:

- an `ocr` engine reads the text on screen (`visible_text`): the CPU path;
- a vision engine (`complete()`) answers the route's schema per frame, one
  request per frame (mllama takes one image per request; see frames.py).

The first model must be there (else the file waits, as for pictures); a later
one that is not is noted and the timeline keeps what the others read. The
soundtrack goes through the transcribe task itself (`transcribe = true`).
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import ConfigError, InputError
from ..extract import schemas
from ..extract.schemas import SchemaSpec
from ..media.video import NoVideo
from . import video_frames as frames_mod
from . import video_sound, video_summary
from .base import Review, TaskContext, TaskOutput
from .video_options import VideoOptions, options

PICTURELESS = (NoVideo.code, "no_frames")
ADMITS_EACH_MODEL = True  # frames, soundtrack and summary each take their own model's admission


def run(ctx: TaskContext) -> TaskOutput:
    opts = options(ctx.route)
    spec = schemas.resolve(ctx.route.schema_name, ctx.route.task, ctx.config)
    readers = frames_mod.readers(ctx)
    started = time.perf_counter()
    try:
        sampled = frames_mod.sample(ctx, opts, readers)
    except InputError as exc:  # no picture (audio-only mp4) or no frame in it: the soundtrack may remain
        if exc.code not in PICTURELESS or not opts.transcribe:
            raise
        return _soundtrack_only(ctx, opts, spec, exc)
    prepare_ms = (time.perf_counter() - started) * 1000
    read = frames_mod.read_all(ctx, opts, spec, readers, sampled)
    sound = video_sound.transcript(ctx, opts) if opts.transcribe else None
    output = _output(spec, sampled, read, sound, prepare_ms)
    _summarise(ctx, opts, output)
    return output


def _soundtrack_only(ctx: TaskContext, opts: VideoOptions, spec: SchemaSpec, why: InputError) -> TaskOutput:
    sound = video_sound.transcript(ctx, opts)
    if sound.result is None:
        raise why
    review = Review()
    review.reasons.extend(sound.reasons)
    review.needs_review = bool(sound.reasons)
    result: dict[str, Any] = {"timeline": [], "summary": video_summary.concatenation([], sound.result),
                              "transcript": sound.result,
              "video": None, "sampling": {"notes": [{"code": why.code, "message": f"{why.message}: transcript only"}]}}
    output = TaskOutput(result=result, review=review, model=sound.model, task=_task_block(spec, None),
                        timings_ms=sound.timings_ms, companions=sound.companions)
    _summarise(ctx, opts, output)
    return output


def _output(spec: SchemaSpec, sampled: frames_mod.Sampled, read: frames_mod.Read,
            sound: video_sound.Sound | None, prepare_ms: float) -> TaskOutput:
    transcript = sound.result if sound else None
    result: dict[str, Any] = {
        "timeline": read.timeline,
        "summary": video_summary.concatenation(read.timeline, transcript),
        "transcript": transcript,
        "video": sampled.video_block(),
        "sampling": sampled.sampling_block(),
        "readers": read.readers,
    }
    if spec.name != schemas.DEFAULT_FOR_TASK["describe"] or read.fields is not None:
        result["fields"] = read.fields
    review = _review(sampled, read, sound)
    timings = {"prepare": prepare_ms, **read.timings_ms, **(sound.timings_ms if sound else {})}
    return TaskOutput(result=result, status=read.status, review=review, model=read.model,
                      task=_task_block(spec, read.prompt_sha256), timings_ms=timings,
                      companions=sound.companions if sound else {}, extra={"tiers": read.tiers})


def _task_block(spec: SchemaSpec, prompt_sha256: str | None) -> dict[str, Any]:
    return {"schema": spec.name, "schema_sha256": spec.sha256, "prompt_sha256": prompt_sha256}


def _review(sampled: frames_mod.Sampled, read: frames_mod.Read, sound: video_sound.Sound | None) -> Review:
    review = Review()
    for reason in read.reasons + (sound.reasons if sound else []):
        review.flag(**reason)
    if sampled.report.decode_errors:
        review.flag("decode_errors", f"{sampled.report.decode_errors} damaged video packet(s) were skipped")
    for note in sampled.report.notes:
        if note["code"] == "ended_early":
            review.flag(**note)
    return review


def _summarise(ctx: TaskContext, opts: VideoOptions, output: TaskOutput) -> None:
    """Replace the concatenation by the summary model's summary, when one is configured and answers."""
    if opts.summary_model is None:
        return
    if opts.summary_model not in ctx.config.models:
        raise ConfigError(f"routes.{ctx.route.name}.options.summary_model names model {opts.summary_model!r}, "
                          "which [models] does not define")
    started = time.perf_counter()
    engine = ctx.engines.get(opts.summary_model)
    text, problem = ctx.admit(opts.summary_model, engine,
                              lambda lease: video_summary.by_model(engine, output.result["summary"]))
    output.timings_ms["summary"] = (time.perf_counter() - started) * 1000
    if text is not None:
        output.result.update(summary=text, summary_by=opts.summary_model)
    else:
        output.review.flag("summary_failed", f"{problem}; the summary is the timeline itself")

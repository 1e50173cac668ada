"""Sampled video frames, prepared once, then read by each model of the route.

An `ocr` engine fills `visible_text` from RapidOCR; a vision engine answers
the route's schema for each frame, one frame per request. Values merge per
frame as pages do: the first model that gives a field a value keeps it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from ..engines.base import CompletionRequest, Engine
from ..errors import ConfigError, EdgeError, EngineUnavailable
from ..extract import prompts, validate
from ..extract.pages import merge
from ..extract.schemas import SchemaSpec
from ..extract.tier import Reason
from ..media import image as image_media
from ..media import video
from ..media.image import PreparedPage
from . import video_batch, video_budget
from .base import TaskContext
from .video_options import VideoOptions

PROMPT_TOKENS = 512  # the extraction prompt and chat template, as `edge tokens` counts them


@dataclass
class PreparedFrame:
    t: float
    page: PreparedPage  # upright RGB JPEG within the canvas
    rotation: int


@dataclass
class Sampled:
    info: video.VideoInfo
    report: video.Report
    canvas: int
    frames: list[PreparedFrame] = field(default_factory=list)
    max: int = 0
    budget: video_budget.FramePlan | None = None

    def video_block(self) -> dict[str, Any]:
        info = self.info
        rotation = self.frames[0].rotation if self.frames else 0
        return {"container": info.container, "codec": info.codec, "width": info.width, "height": info.height,
                "rotation": rotation, "duration": round(info.duration, 3) if info.duration else None,
                "frame_rate": round(info.frame_rate, 3) if info.frame_rate else None, "has_audio": info.has_audio}

    def sampling_block(self) -> dict[str, Any]:
        report = self.report
        block = {"mode": report.mode, "max": self.max, "requested": report.requested, "taken": len(self.frames),
                 "canvas": self.canvas, "decoded_frames": report.decoded, "seeks": report.seeks,
                 "notes": report.notes}
        if report.mode == "scene":
            block["cuts"] = report.cuts
        if self.budget is not None:
            block["budget"] = self.budget.as_dict()
        return block


@dataclass
class Read:
    timeline: list[dict[str, Any]]
    readers: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    model: dict[str, Any] | None = None
    fields: dict[str, Any] | None = None
    prompt_sha256: str | None = None
    invalid: int = 0
    asked: int = 0

    @property
    def status(self) -> str:
        if not self.invalid:
            return "ok"
        return "partial" if self.invalid < self.asked else "invalid"


# -- readers and sampling ------------------------------------------------------------------------------


def readers(ctx: TaskContext) -> list[tuple[str, Engine]]:
    names = ctx.route.tiers or ([ctx.route.model] if ctx.route.model else [])
    if not names and not ctx.route.options.get("transcribe"):
        raise ConfigError(f"route {ctx.route.name}: a video needs `model`, `tiers` or options.transcribe = true")
    return [(name, ctx.engines.get(name)) for name in names]


def canvas_for(opts: VideoOptions, found: list[tuple[str, Engine]]) -> int:
    if opts.canvas:
        return opts.canvas
    sides = [getattr(engine.options, "canvas", None) for _, engine in found if engine.kind != "ocr"]
    return min([side for side in sides if side] or [image_media.DEFAULT_CANVAS])


def sample(ctx: TaskContext, opts: VideoOptions, found: list[tuple[str, Engine]]) -> Sampled:
    """Probe (NoVideo, InputError), plan the token budget, take the frames, prepared for the models."""
    path, sampling = ctx.job.path, opts.frames.sampling()
    info = video.probe(path, opts.max_pixels)
    sampled = Sampled(info, video.Report(sampling.mode), canvas_for(opts, found), max=sampling.max)
    sampled.budget = budget_plan(opts, found, info, sampled.canvas)
    if sampled.budget is not None:
        sampling = replace(sampling, max=min(sampling.max, sampled.budget.frames))
        sampled.canvas = min(sampled.canvas, sampled.budget.canvas)
        sampled.report.notes.extend(sampled.budget.notes)
    for index, frame in enumerate(video.sample(path, sampling, sampled.canvas, sampled.report, opts.max_pixels)):
        page = image_media.prepare_frame(frame.image, sampled.canvas, index=index)
        sampled.frames.append(PreparedFrame(frame.t, page, frame.rotation))
    return sampled


def budget_plan(opts: VideoOptions, found: list[tuple[str, Engine]], info: video.VideoInfo,
                canvas: int) -> video_budget.FramePlan | None:
    """The first vision model's budget, when its family is known (else the engine guards its own context)."""
    vision = [engine for _, engine in found if engine.kind != "ocr"]
    if not vision:
        return None
    engine = vision[0]
    family = family_of(engine)
    n_ctx = _setting(opts.num_ctx, engine, "n_ctx", None) or getattr(engine.options, "num_ctx", None)
    if family is None or n_ctx is None:
        return None
    output = int(_setting(opts.num_predict, engine, "num_predict", 1024))
    return video_budget.plan(family, (info.width, info.height), opts.frames.max, canvas, PROMPT_TOKENS, output,
                             int(n_ctx), per_request=min(opts.batch, engine.max_images()),
                             max_visual=opts.max_visual_tokens, tile_tokens=_tile_tokens(engine))


def family_of(engine: Any) -> str | None:
    family = getattr(engine.options, "family", None)
    if family is None and hasattr(engine, "family"):
        try:
            family = engine.family()
        except EdgeError:
            return None
    return family


def _tile_tokens(engine: Any) -> int | None:
    try:
        return engine.tile_tokens() if hasattr(engine, "tile_tokens") else None
    except EdgeError:
        return None


# -- reading -----------------------------------------------------------------------------------------


def read_all(ctx: TaskContext, opts: VideoOptions, spec: SchemaSpec, found: list[tuple[str, Engine]],
             sampled: Sampled) -> Read:
    timeline = [{"t": frame.t, "frame": {name: None for name in spec.fields},
                 "image": {"width": frame.page.width, "height": frame.page.height}} for frame in sampled.frames]
    read = Read(timeline)
    pages: list[tuple[int, dict[str, Any], dict[str, float]]] = []
    for index, (name, engine) in enumerate(found):
        started = time.perf_counter()
        try:
            record = _admitted_read(ctx, name, engine, opts, spec, sampled, timeline, read, pages)
        except EngineUnavailable as exc:
            if index == 0:
                raise  # the file waits for its first model, as a picture does
            record = _unavailable(name, exc)
        record.update(tier=name, model=engine.provenance().get("name"),
                      seconds=round(time.perf_counter() - started, 3))
        read.tiers.append(record)
        if record["status"] != "unavailable":
            read.model = engine.provenance()
    read.readers = [{"tier": r["tier"], "kind": r["kind"], "status": r["status"]} for r in read.tiers]
    if pages and spec.name != "photo":
        read.fields, _, conflicts = merge(pages, spec.fields)
        read.reasons.extend(conflicts)
    return read


def _admitted_read(ctx: TaskContext, name: str, engine: Any, opts: VideoOptions, spec: SchemaSpec,
                   sampled: Sampled, timeline: list[dict[str, Any]], read: Read, pages: list) -> dict[str, Any]:
    """Every frame through one model, under that model's admission (GPU lease, workers)."""
    def frames(lease: Any) -> dict[str, Any]:
        return _read_frames(engine, opts, spec, sampled, timeline, read, pages)
    return ctx.admit(name, engine, frames)


def _read_frames(engine: Any, opts: VideoOptions, spec: SchemaSpec, sampled: Sampled,
                 timeline: list[dict[str, Any]], read: Read, pages: list) -> dict[str, Any]:
    if engine.kind == "ocr":
        return _ocr(engine, sampled.frames, timeline, read)
    planned = sampled.budget.per_request if sampled.budget else None
    return _vision(engine, opts, spec, sampled.frames, timeline, read, pages, planned)


def _unavailable(name: str, exc: EngineUnavailable) -> dict[str, Any]:
    return {"kind": "vision", "status": "unavailable", "reasons": [
        {"code": "tier_unavailable", "message": f"{name} is unavailable, frames were not described: {exc.message}",
         "hint": exc.hint}]}


def _fill(frame: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if frame.get(key) in (None, "", []) and value not in (None, "", []):
            frame[key] = value


def _ocr(engine: Any, frames: list[PreparedFrame], timeline: list[dict[str, Any]], read: Read) -> dict[str, Any]:
    lines = 0
    for frame, entry in zip(frames, timeline, strict=True):
        page = engine.read(frame.page.jpeg)
        read.timings_ms["ocr"] += page.elapsed_ms
        lines += len(page.lines)
        _fill(entry["frame"], {"visible_text": page.text or None})
        if page.mean_score is not None:
            entry["ocr_score"] = round(page.mean_score, 4)
    return {"kind": "ocr", "status": "ok", "frames": len(frames), "lines": lines}


def _vision(engine: Any, opts: VideoOptions, spec: SchemaSpec, frames: list[PreparedFrame],
            timeline: list[dict[str, Any]], read: Read, pages: list, planned: int | None) -> dict[str, Any]:
    prompt = prompts.build(spec)
    read.prompt_sha256 = prompt.sha256
    size = min(opts.batch, engine.max_images(), planned or opts.batch)
    requests = 0
    for start in range(0, len(frames), size):
        group = list(range(start, min(start + size, len(frames))))
        started = time.perf_counter()
        answers, sent = _ask_group(engine, opts, prompt, spec, [frames[i] for i in group])
        read.timings_ms["inference"] += (time.perf_counter() - started) * 1000
        requests += sent
        for index, parsed in zip(group, answers, strict=True):
            _record(index, parsed, frames[index], timeline[index], read, pages)
    status = "ok" if not read.invalid else "invalid"
    return {"kind": "vision", "status": status, "frames": len(frames), "requests": requests,
            "images_per_request": size}


def _ask_group(engine: Any, opts: VideoOptions, prompt: prompts.Prompt, spec: SchemaSpec,
               group: list[PreparedFrame]) -> tuple[list[validate.Parsed], int]:
    """Several frames in one request; frames of an unusable batch answer are asked one by one."""
    sent = 0
    if len(group) > 1:
        request = _request(engine, opts, video_batch.batch_prompt(prompt, [f.t for f in group]), spec, None)
        request = replace(request, images=[frame.page.jpeg for frame in group])
        parsed, _ = video_batch.ask(engine.complete, request, spec, len(group))
        sent += 1
        if parsed is not None:
            return parsed, sent
    repairs = _setting(opts.repairs, engine, "repairs", 1)
    answers = []
    for frame in group:
        answer = validate.ask(engine.complete, _request(engine, opts, prompt, spec, frame), prompt, spec, repairs)
        sent += answer.attempts
        answers.append(answer.parsed)
    return answers, sent


def _record(index: int, parsed: validate.Parsed, frame: PreparedFrame, entry: dict[str, Any], read: Read,
            pages: list) -> None:
    read.asked += 1
    if parsed.ok:
        _fill(entry["frame"], parsed.data)
        pages.append((index + 1, parsed.data, parsed.confidence))
        return
    read.invalid += 1
    read.reasons.append({"code": "invalid_output", "message": f"frame at {frame.t:.2f} s: {parsed.problem}",
                         "t": frame.t})
    entry["problem"] = parsed.problem


def _request(engine: Any, opts: VideoOptions, prompt: prompts.Prompt, spec: SchemaSpec,
             frame: PreparedFrame | None) -> CompletionRequest:
    return CompletionRequest(
        prompt=prompt.text, image=frame.page.jpeg if frame else None, schema=spec.format, system=prompt.system,
        temperature=opts.temperature, seed=int(_setting(opts.seed, engine, "seed", 7)),
        max_tokens=int(_setting(opts.num_predict, engine, "num_predict", 1024)),
        num_ctx=_setting(opts.num_ctx, engine, "num_ctx", None),
    )


def _setting(route_value: Any, engine: Any, key: str, default: Any) -> Any:
    """A route option wins over the engine's option, which wins over the default."""
    if route_value is not None:
        return route_value
    value = getattr(engine.options, key, None)
    return default if value is None else value

"""`edge tokens VIDEO`: frames x tokens per frame against the model's context, for a route's sampling."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..config import Config, Route
from ..errors import EdgeError
from ..media import video
from ..media.image import DEFAULT_CANVAS
from ..tasks import video_budget
from ..tasks.video_options import FrameOptions, VideoOptions, options


def is_video(path: Path) -> bool:
    from ..media.detect import HEADER_BYTES, sniff

    with open(path, "rb") as handle:
        return sniff(handle.read(HEADER_BYTES)).kind == "video"


def video_route(config: Config | None, name: str | None) -> tuple[str, VideoOptions]:
    """The named route, else the first describe/extract route for video, else the defaults."""
    routes = config.routes if config is not None else []
    if name is not None:
        chosen = next((route for route in routes if route.name == name), None)
        if chosen is None:
            raise ValueError(f"no route {name!r}; routes: {', '.join(r.name or '' for r in routes) or '(none)'}")
        return chosen.name or name, options(chosen)
    chosen = next((route for route in routes if _takes_video(route)), None)
    return (chosen.name or "", options(chosen)) if chosen else ("(defaults)", VideoOptions())


def _takes_video(route: Route) -> bool:
    return route.task in ("describe", "extract") and (not route.media or "video" in route.media)


def frame_count(frames: FrameOptions, duration: float | None) -> int:
    """Frames the sampling takes: exact for uniform and fps, at most `max` for scene and keyframes."""
    if frames.mode == "fps" and duration:
        return min(frames.max, math.floor(duration * frames.fps - 1e-3) + 1)
    return frames.max


def report(path: Path, family: str, n_ctx: int, tile: int | None, prompt: int, output: int,
           route: tuple[str, VideoOptions], canvas: int | None) -> dict[str, Any]:
    info = video.probe(path)
    name, opts = route
    canvas = opts.canvas or canvas or DEFAULT_CANVAS
    frames = frame_count(opts.frames, info.duration)
    doc: dict[str, Any] = {"video": str(path), "width": info.width, "height": info.height,
                           "duration": info.duration, "route": name, "mode": opts.frames.mode, "max": opts.frames.max,
                           "canvas": canvas}
    try:
        planned = video_budget.plan(family, (info.width, info.height), frames, canvas, prompt, output, n_ctx,
                                    max_visual=opts.max_visual_tokens, tile_tokens=tile)
    except EdgeError as exc:
        return {**doc, "family": family, "n_ctx": n_ctx, "verdict": "refused", "message": exc.message}
    verdict = "fits" if not planned.notes else "reduced"
    return {**doc, **planned.as_dict(), "verdict": verdict}


def text(r: dict[str, Any]) -> str:
    lines = [(f"video: {r['video']} ({r['width']}x{r['height']}, {_seconds(r['duration'])}); route {r['route']}: "
             f"{r['mode']} sampling, max {r['max']} frames, canvas {r['canvas']}")]
    if r["verdict"] == "refused":
        return "\n".join([*lines, f"family: {r['family']}", f"refused: {r['message']}"])
    w, h = r["frame_size"]
    lines += [
        f"family: {r['family']}",
        f"per frame: {w}x{h} -> {r['visual_per_frame']} visual tokens"
        + (" (cross-attention: frames take no context tokens)" if r["family"] == "mllama" else ""),
        (f"per request: {r['frames_per_request']} frame(s) x {r['visual_per_frame']} visual + {r['prompt_tokens']} "
        f"prompt + {r['max_tokens']} max output = {r['request_total']} of n_ctx {r['n_ctx']}: "
        f"{'fits' if r['fits'] else 'does NOT fit'}"),
        (f"all frames: {r['frames']} x {r['visual_per_frame']} = {r['total_visual']} visual tokens "
        f"in {math.ceil(r['frames'] / r['frames_per_request'])} request(s)"),
    ]
    lines += [f"reduced: {note['message']}" for note in r["notes"]]
    return "\n".join(lines)


def _seconds(duration: float | None) -> str:
    return f"{duration:.1f} s" if duration else "length unknown"

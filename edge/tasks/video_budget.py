"""The visual-token budget of a video: frames x tokens per frame, against the model's context.

Each frame costs a whole picture's visual tokens. A request carries
`per_request` frames (1 for one-image models), and must fit n_ctx with the
prompt and the answer. A route may also cap the whole video
(`max_visual_tokens`). Over budget, the plan takes fewer frames or smaller
ones, and its notes say so; nothing is cut silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engines import budget
from ..errors import EdgeError
from ..media.image import fit as fit_canvas

MIN_CANVAS = 224


@dataclass
class FramePlan:
    family: str
    frames: int  # frames to sample
    canvas: int  # long side each frame is prepared at
    width: int  # one prepared frame
    height: int
    visual: int  # tokens per frame
    prompt: int
    output: int
    n_ctx: int
    per_request: int = 1
    notes: list[dict[str, str]] = field(default_factory=list)

    @property
    def request_total(self) -> int:
        return self.per_request * self.visual + self.prompt + self.output

    @property
    def fits(self) -> bool:
        return self.request_total <= self.n_ctx

    @property
    def total_visual(self) -> int:
        return self.frames * self.visual

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "frames": self.frames, "frame_size": [self.width, self.height],
                "visual_per_frame": self.visual, "frames_per_request": self.per_request,
                "prompt_tokens": self.prompt, "max_tokens": self.output, "request_total": self.request_total,
                "n_ctx": self.n_ctx, "fits": self.fits, "total_visual": self.total_visual, "notes": self.notes}


def plan(family: str, source: tuple[int, int], frames: int, canvas: int, prompt: int, output: int, n_ctx: int,
         per_request: int = 1, max_visual: int | None = None, tile_tokens: int | None = None) -> FramePlan:
    """Fit one request in n_ctx (smaller frames), then the video in max_visual (fewer frames)."""
    current = _at(family, source, frames, canvas, prompt, output, n_ctx, per_request, tile_tokens)
    if not current.fits:
        current = _smaller(current, family, source, tile_tokens)
    if max_visual is not None and current.visual and current.total_visual > max_visual:
        fewer = max(1, max_visual // current.visual)
        current.notes.append({"code": "budget_fewer_frames", "message": (
            f"{current.frames} frames x {current.visual} visual tokens = {current.total_visual}, over "
            f"max_visual_tokens {max_visual}: {fewer} frames sampled instead")})
        current.frames = min(current.frames, fewer)
    return current


def _at(family: str, source: tuple[int, int], frames: int, canvas: int, prompt: int, output: int, n_ctx: int,
        per_request: int, tile_tokens: int | None) -> FramePlan:
    width, height = fit_canvas(*source, canvas)
    visual = budget.visual_tokens(family, width, height, tile_tokens=tile_tokens)
    return FramePlan(budget.family_name(family), frames, canvas, width, height, visual, prompt, output, n_ctx,
                     min(per_request, frames))


def _smaller(over: FramePlan, family: str, source: tuple[int, int], tile_tokens: int | None) -> FramePlan:
    """Fewer frames per request first, then a smaller canvas (for families whose cost shrinks)."""
    given = over.request_total
    candidate = over
    while not candidate.fits and candidate.per_request > 1:
        candidate.per_request -= 1
    canvas = candidate.canvas
    while not candidate.fits and budget.family_name(family) in budget.SCALABLE and canvas > MIN_CANVAS:
        canvas = max(MIN_CANVAS, int(canvas * 0.9))
        candidate = _at(family, source, over.frames, canvas, over.prompt, over.output, over.n_ctx,
                        candidate.per_request, tile_tokens)
    if not candidate.fits:
        raise EdgeError(f"one frame does not fit the context: {candidate.visual} visual + {candidate.prompt} "
                        f"prompt + {candidate.output} max output > n_ctx {candidate.n_ctx}", code="context_overflow",
                        hint="raise n_ctx, lower max_tokens, or use a model family with fewer visual tokens")
    candidate.notes = over.notes + [{"code": "budget_downsized", "message": (
        f"{over.per_request} frame(s) of {over.width}x{over.height} per request needed {given} tokens, over "
        f"n_ctx {over.n_ctx}: {candidate.per_request} frame(s) of {candidate.width}x{candidate.height} "
        f"per request instead ({candidate.request_total} tokens)")}]
    return candidate

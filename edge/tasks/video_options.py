"""`options = {...}` of a describe or extract route when the file is a video."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import describe
from ..errors import ConfigError
from ..media import video


class FrameOptions(BaseModel):
    """`frames = {mode = "scene", max = 16, ...}`: which frames are read."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["uniform", "fps", "scene", "keyframes"] = "uniform"
    max: int = Field(16, ge=1, le=512)
    fps: float = Field(0.5, gt=0, le=60)
    scene_threshold: float = Field(0.3, gt=0, le=1)
    scene_rate: float = Field(4.0, gt=0, le=60)
    snap: float = Field(0.0, ge=0)  # seconds a target may move back to a keyframe (cheaper, not exact)
    scene_scan: Literal["full", "keyframes"] = "full"  # keyframes: decode a GOP only when its two ends differ

    def sampling(self) -> video.Sampling:
        return video.Sampling(self.mode, self.max, self.fps, self.scene_threshold, self.scene_rate, self.snap,
                              self.scene_scan)


class VideoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frames: FrameOptions = FrameOptions()
    transcribe: bool = False  # the soundtrack too, through the transcribe task
    asr: str | None = None  # the faster-whisper model (default: the config's only one)
    transcript: dict[str, Any] = {}  # options of the transcribe task (language, companions, ...)
    summary_model: str | None = None  # a model that writes result.summary (default: the timeline's lines)
    canvas: int | None = Field(None, ge=64)  # long side of each frame (default: the vision model's, else 1120)
    max_pixels: int = Field(video.MAX_PIXELS, ge=64 * 64)  # larger streams are refused
    batch: int = Field(1, ge=1, le=64)  # frames per request for models that take several images
    max_visual_tokens: int | None = Field(None, ge=1)  # over this for the whole video: fewer frames (noted)
    # vision requests: a route value wins over the engine's option
    temperature: float = Field(0.0, ge=0)
    seed: int | None = None
    num_predict: int | None = Field(None, ge=16)
    num_ctx: int | None = Field(None, ge=256)
    repairs: int | None = Field(None, ge=0)


def options(route: Any) -> VideoOptions:
    """The route's video options; ConfigError names the key.

    A route may also carry the options of its other media and of the transcribe task
    (tasks/options.py checks every key at load), so only the keys named here are read."""
    mine = {key: value for key, value in route.options.items() if key in VideoOptions.model_fields}
    try:
        return VideoOptions.model_validate(mine)
    except ValidationError as exc:
        raise ConfigError(describe(exc, prefix=f"routes.{route.name}.options")) from None

"""Route options, declared per task and checked when models.toml is loaded.

A typo in `options = {...}` stops edge at start with the route, the key and
the reason, instead of failing every file at run time. An extract or describe
route may also carry the options of what its media need: video frame sampling
for videos, the transcribe task's options for audio (a transcript into fields).
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError


class ExtractOptions(BaseModel):
    """`options = {...}` of an extract or describe route (images and PDFs)."""

    model_config = ConfigDict(extra="forbid")

    ocr_hint: bool = False  # give a vision tier the OCR text as a hint
    keep_ocr: bool | None = None  # boxes, scores and grounding in the sidecar's ocr object
    ocr_model: str | None = None  # the ocr model that reads pages for ocr_hint
    lists: bool = False  # items, line_items and key_values from the layout's rows
    date_order: Literal["DMY", "MDY", "YMD"] | None = None  # how 03/04/2024 reads
    asr: str | None = None  # the faster-whisper model of an audio route with task extract
    # model requests: a route value wins over the engine's own option
    temperature: float = Field(0.0, ge=0)
    seed: int | None = None
    num_predict: int | None = Field(None, ge=16)  # output tokens per answer
    num_ctx: int | None = Field(None, ge=256)
    canvas: int | None = Field(None, ge=64)
    max_pages: int | None = Field(None, ge=1)
    repairs: int | None = Field(None, ge=0)


def _models_for(route: Any) -> list[type[BaseModel]]:
    """The option models that apply to a route: its task's, and its media's."""
    if route.task == "transcribe":
        from .transcribe import TranscribeOptions

        return [TranscribeOptions]
    if route.task == "metadata":
        return []
    models: list[type[BaseModel]] = [ExtractOptions]
    media = set(route.media) or {"image", "pdf", "audio", "video"}
    if "video" in media:
        from .video_options import VideoOptions

        models.append(VideoOptions)
    if media & {"audio", "video"}:
        from .transcribe import TranscribeOptions

        models.append(TranscribeOptions)
    return models


def check_route(route: Any) -> None:
    """Every key of the route's options is known to one of its models and valid there."""
    models = _models_for(route)
    where = f"routes.{route.name}.options"
    known = {key for model in models for key in model.model_fields}
    unknown = sorted(set(route.options) - known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(f"{where}.{unknown[0]}: unknown key ({hint}task {route.task} takes: {names})")
    for model in models:
        subset = {key: value for key, value in route.options.items() if key in model.model_fields}
        try:
            model.model_validate(subset)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in error["loc"])
            raise ConfigError(f"{where}.{key}: {error['msg']}") from None

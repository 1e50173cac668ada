"""The metadata task: format, size, EXIF, streams, page counts."""

from __future__ import annotations

import time
from typing import Any

from .base import TaskContext, TaskOutput


def run(ctx: TaskContext) -> TaskOutput:
    engine: Any = ctx.engines.get(ctx.route.model) if ctx.route.model else _builtin(ctx)
    media = ctx.job.media
    assert media is not None  # detected before any task runs
    started = time.perf_counter()
    facts = engine.describe(ctx.job.path, media.kind)
    elapsed = (time.perf_counter() - started) * 1000
    result = {"media": media.kind, "mime": media.mime, **facts}
    return TaskOutput(result=result, model=engine.provenance(), timings_ms={"inference": elapsed})


def _builtin(ctx: TaskContext):
    from ..engines.metadata import MetadataEngine

    return MetadataEngine("metadata", None, MetadataEngine.Options())

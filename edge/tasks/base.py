"""What a task receives and returns, and the registry of task kinds."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, Route
from ..engines.base import EngineSet
from ..job import Job

TASKS: dict[str, str] = {
    "metadata": "edge.tasks.metadata:run",
    "transcribe": "edge.tasks.transcribe:run",
    "extract": "edge.tasks.extract:run",
    "describe": "edge.tasks.extract:run",
}
# (task, media kind) -> the runner that takes it instead: a video's frames and soundtrack.
MEDIA_TASKS: dict[tuple[str, str], str] = {
    ("describe", "video"): "edge.tasks.video:run",
    ("extract", "video"): "edge.tasks.video:run",
}


@dataclass
class Review:
    needs_review: bool = False
    reasons: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # multi-sample votes that split

    def flag(self, code: str, message: str, **details: Any) -> None:
        self.needs_review = True
        self.reasons.append({"code": code, "message": message, **details})

    def as_dict(self) -> dict[str, Any]:
        block = {"needs_review": self.needs_review, "reasons": self.reasons}
        return {**block, "disagreements": self.disagreements} if self.disagreements else block


@dataclass
class TaskContext:
    job: Job
    route: Route
    config: Config
    engines: EngineSet
    log: logging.Logger = logging.getLogger("edge.task")
    ocr_hint: str | None = None  # OCR text a vision tier gets as a hint (route option ocr_hint)
    admit: Admit = field(default=lambda name, engine, fn: fn(None))  # the daemon: GPU lease + the model's workers


@dataclass
class TaskOutput:
    """A task's answer. `status`: ok | partial | invalid (docling-style)."""

    result: dict[str, Any]
    status: str = "ok"
    review: Review = field(default_factory=Review)
    model: dict[str, Any] | None = None
    task: dict[str, Any] = field(default_factory=dict)  # merged into the envelope's task block
    timings_ms: dict[str, float] = field(default_factory=dict)  # prepare, inference, ...
    extra: dict[str, Any] = field(default_factory=dict)  # extra envelope keys: pages, tiers, ocr
    companions: dict[str, str] = field(default_factory=dict)  # suffix (".srt") -> text


TaskRunner = Callable[[TaskContext], TaskOutput]
# admit(model name, engine, fn): fn(lease) once the model may run (the scheduler's `run`).
Admit = Callable[[str, Any, Callable[[Any], Any]], Any]


def admits_each_model(runner: TaskRunner) -> bool:
    """A runner that takes admission itself for every model it calls (the tier loop)."""
    module = importlib.import_module(runner.__module__)
    return bool(getattr(module, "ADMITS_EACH_MODEL", False))


def task_runner(kind: str, media: str | None = None) -> TaskRunner:
    module_name, func = (MEDIA_TASKS.get((kind, media or "")) or TASKS[kind]).split(":")
    return getattr(importlib.import_module(module_name), func)

"""The engine protocol, the shared request/result values, and the registry.

An engine takes prepared inputs (bytes, arrays, text) and a request, and
returns a result with timings. Engines register by kind; a kind is imported
only when a model uses it, so a missing optional package only matters to the
models that need it.
"""

from __future__ import annotations

import importlib
import ipaddress
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from ..errors import ConfigError

# kind -> "module:Class". Third parties may add to this before loading config.
ENGINES: dict[str, str] = {
    "metadata": "edge.engines.metadata:MetadataEngine",
    "ollama": "edge.engines.ollama:OllamaEngine",
    "llamacpp": "edge.engines.llamacpp:LlamaCppEngine",
    "faster-whisper": "edge.engines.whisper:WhisperEngine",
    "ocr": "edge.engines.ocr:OcrEngine",
    "scripted": "edge.engines.scripted:ScriptedEngine",
    "openai": "edge.engines.openai:OpenAIEngine",
    "ocr-openai": "edge.engines.openai_ocr:OcrOpenAIEngine",
}


class EngineOptions(BaseModel):
    """Base of every engine's options model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


@dataclass
class Check:
    """One line of `edge doctor` or of the start-up checks."""

    name: str
    level: Literal["ok", "warn", "fail"]
    message: str
    fix: str | None = None


@dataclass
class Completion:
    """What a generative engine (ollama, llamacpp) answered to one request."""

    text: str
    done_reason: str = "stop"  # "length" means the output was cut: not a result
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompletionRequest:
    """One prompt, one image (JPEG/PNG bytes) or several (`images`, in order), an optional JSON Schema.

    Only engines whose `max_images()` is above 1 take `images`."""

    prompt: str
    image: bytes | None = None
    schema: dict[str, Any] | None = None
    system: str | None = None
    temperature: float = 0.0
    seed: int = 7
    max_tokens: int = 1024
    num_ctx: int | None = None
    images: list[bytes] = field(default_factory=list)  # several pictures in one request (video frames)


class Engine:
    """Base class: one configured model of one engine kind."""

    kind: ClassVar[str] = ""
    Options: ClassVar[type[EngineOptions]] = EngineOptions
    # Native code that can crash the process on one input runs in a worker process unless the model says
    # `isolate = false` (edge/engines/worker.py).
    isolated_by_default: ClassVar[bool] = False

    def __init__(self, name: str, spec: Any, options: EngineOptions):
        self.name = name
        self.spec = spec
        self.options = options
        self.lock = threading.Lock()
        self.last_used = time.monotonic()

    def checks(self) -> list[Check]:
        """Start-up and doctor checks; never raises."""
        return [Check(f"model {self.name}", "ok", f"engine {self.kind}")]

    def max_images(self) -> int:
        """How many images one request may carry (1: one request per picture)."""
        return 1

    def provenance(self) -> dict[str, Any]:
        """The sidecar's `model` block for this engine."""
        return {"name": self.spec.model or self.name, "engine": self.kind}

    def close(self) -> None:
        """Free the model (memory, VRAM). The next call loads it again."""


def engine_class(kind: str) -> type[Engine]:
    """The class of an engine kind; "package.module:Class" names a plugin."""
    target = ENGINES.get(kind) or (kind if ":" in kind else None)
    if target is None:
        known = ", ".join(sorted(ENGINES))
        raise ConfigError(f"unknown engine {kind!r}; known engines: {known}")
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"engine {kind!r} cannot be imported: {exc}") from None
    return getattr(module, class_name)


def runs_isolated(spec: Any, cls: type[Engine]) -> bool:
    """Whether a model's calls go to worker processes: its `isolate`, else its engine's default."""
    isolate = getattr(spec, "isolate", None)
    return cls.isolated_by_default if isolate is None else bool(isolate)


class EngineSet:
    """The engines of one config, created lazily, one instance per model name."""

    def __init__(self, config: Any):
        self.config = config
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Engine:
        with self._lock:
            engine = self._engines.get(name)
            if engine is None:
                spec = self.config.models[name]
                cls = engine_class(spec.engine)
                if runs_isolated(spec, cls):
                    from .worker import isolated

                    cls = isolated(cls)
                engine = cls(name, spec, cls.Options.model_validate(spec.engine_options()))
                self._engines[name] = engine
            engine.last_used = time.monotonic()
            return engine

    def loaded(self) -> list[Engine]:
        with self._lock:
            return list(self._engines.values())

    def close(self) -> None:
        for engine in self.loaded():
            engine.close()


def is_loopback(host: str) -> bool:
    """A URL or host:port on this machine (127.0.0.0/8, ::1, localhost)."""
    name = urlsplit(host if "://" in host else f"http://{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False

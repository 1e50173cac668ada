"""The `scripted` engine: a deterministic stand-in for a generative model.

For tests and for `edge eval` runs whose predictions are known in advance
(like simonw/llm's mock model). It answers `complete(request)` from, in order:

1. answers queued with `enqueue()` (pipeline tests on an engine instance):
   `engine.enqueue({"total": 12.5}, '{"broken', EngineError("no"))` — a dict is
   sent as JSON text, a str as-is, a `Completion` as-is, an exception is raised;
2. a script file (`script = "answers.json"` in models.toml), a JSON list of
   entries, first match wins:

       [{"image": "inv-001.png", "answer": {...}},
        {"prompt_contains": "claim", "answers": [{...}, {...}]},
        {"answer": "I cannot read this document", "tokens": [900, 40]}]

   - `image` (relative to the script's folder) matches the request image
     nearest to it by a 32x32 grey thumbnail, so a resized or re-encoded copy
     of that file still matches; an entry without `image` matches any image;
   - `prompt_contains` matches a substring of the prompt;
   - `answers` (a list) is cycled per entry, one per call: with `samples = N`
     the N samples get different answers, to exercise voting;
   - `tokens` = [prompt, output] is reported as the engine's token counts
     (without it, none are reported);
   - `done_reason` may be "length" to simulate a cut answer;
3. otherwise `EngineError` ("no scripted answer").

Every request is kept in `engine.requests` so tests can assert on seeds and
temperatures. Engines know nothing of files: the script's own image files are
the only files this one reads.
"""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from .. import __version__
from ..errors import ConfigError, EngineError
from .base import Completion, CompletionRequest, Engine, EngineOptions

THUMB = (32, 32)
MAX_IMAGE_DISTANCE = 24.0  # mean absolute grey difference (0..255) that still counts as "the same page"


class ScriptedOptions(EngineOptions):
    script: Path | None = None
    vision: bool = True  # advertise the `vision` capability


class ScriptedEngine(Engine):
    kind = "scripted"
    Options = ScriptedOptions

    def __init__(self, name: str, spec: Any, options: ScriptedOptions):
        super().__init__(name, spec, options)
        self.requests: list[CompletionRequest] = []
        self._queue: deque[Any] = deque()
        self._calls: dict[int, int] = {}
        self._guard = threading.Lock()
        self._entries = _load_script(options.script) if options.script else []

    def enqueue(self, *answers: Any) -> ScriptedEngine:
        with self._guard:
            self._queue.extend(answers)
        return self

    def complete(self, request: CompletionRequest) -> Completion:
        with self._guard:
            self.requests.append(request)
            answer = self._queue.popleft() if self._queue else self._from_script(request)
        if isinstance(answer, BaseException):
            raise answer
        return answer if isinstance(answer, Completion) else _completion(answer)

    def _from_script(self, request: CompletionRequest) -> dict[str, Any]:
        index = _match(self._entries, request)
        if index is None:
            raise EngineError(f"scripted engine {self.name!r} has no answer for this request", code="no_script")
        entry = self._entries[index]
        calls = self._calls.get(index, 0)
        self._calls[index] = calls + 1
        answers = entry.get("answers") or [entry.get("answer")]
        return {**entry, "answer": answers[calls % len(answers)]}

    def provenance(self) -> dict[str, Any]:
        return {"name": self.spec.model or self.name if self.spec else self.name,
                "engine": self.kind, "engine_version": __version__}


def _completion(answer: Any) -> Completion:
    """A dict answer is a plain result, unless it is a script entry (has "answer")."""
    entry = answer if isinstance(answer, dict) and "answer" in answer else {"answer": answer}
    body = entry["answer"]
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    prompt_tokens, output_tokens = entry.get("tokens") or (None, None)
    return Completion(text=text, done_reason=entry.get("done_reason", "stop"),
                      prompt_tokens=prompt_tokens, output_tokens=output_tokens,
                      timings_ms={"inference": 0.0}, raw={"scripted": True})


def _load_script(path: Path) -> list[dict[str, Any]]:
    path = Path(path).expanduser()
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"scripted engine: cannot read script {path}: {exc}") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"scripted engine: {path} must hold a JSON list of objects")
    for entry in entries:
        if "image" in entry:
            entry["_thumb"] = _thumb((path.parent / entry["image"]).read_bytes())
    return entries


def _match(entries: list[dict[str, Any]], request: CompletionRequest) -> int | None:
    candidates = [i for i, e in enumerate(entries) if e.get("prompt_contains", "") in request.prompt]
    with_image = [i for i in candidates if "_thumb" in entries[i]]
    if with_image and request.image:
        thumb = _thumb(request.image)
        best = min(with_image, key=lambda i: _distance(thumb, entries[i]["_thumb"]))
        if _distance(thumb, entries[best]["_thumb"]) <= MAX_IMAGE_DISTANCE:
            return best
    return next((i for i in candidates if "_thumb" not in entries[i]), None)


def _thumb(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        grey = ImageOps.exif_transpose(image).convert("L")
        return grey.resize(THUMB, Image.Resampling.BOX).tobytes()


def _distance(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)

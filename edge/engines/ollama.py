"""The `ollama` engine: a vision (or text) model served by a local Ollama.

Speaks to Ollama through the official `ollama` client, always with a
timeout. Failures are classified so the pipeline does the right thing:
refused connection or missing model -> EngineUnavailable (the lane pauses,
files wait), timeout / dropped connection / 5xx -> TransientError (retry),
400 -> EngineError (permanent, with Ollama's message).

LLaMA 3.2 Vision (family `mllama`) only runs on Ollama 0.7.0 to 0.24.x:
0.30.0 removed its mllama engine. That is detected from the version and from
the `unknown model architecture: 'mllama'` error.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

import httpx
import ollama
from pydantic import Field, model_validator

from ..errors import EngineError, EngineUnavailable, OutOfMemory, TransientError
from .base import Check, Completion, CompletionRequest, Engine, EngineOptions, is_loopback

DEFAULT_MODEL = "llama3.2-vision:11b"
MLLAMA_FIRST = (0, 7, 0)
MLLAMA_LAST_GOOD = "0.24.0"
MLLAMA_BROKEN_FROM = (0, 30, 0)
MLLAMA_ERROR = "unknown model architecture: 'mllama'"
MLLAMA_FIX = (
    f"either pin Ollama {MLLAMA_LAST_GOOD} (the last release that runs mllama), "
    "or choose a supported vision model (qwen2.5vl, gemma3, ...) in models.toml"
)
_NS_PER_MS = 1_000_000


class OllamaOptions(EngineOptions):
    host: str = "http://127.0.0.1:11434"
    allow_remote: bool = False  # a non-loopback host is refused unless this is true
    keep_alive: str | int = "5m"
    num_ctx: int = Field(4096, ge=256)
    num_predict: int = Field(1024, ge=16)
    seed: int = 7
    canvas: int = Field(1120, ge=64)  # long side in px the model can use (mllama: 2 x 560 px tiles)
    max_pages: int = Field(20, ge=1)
    repairs: int = Field(1, ge=0)  # re-asks after an unusable answer
    stream: bool = False  # NDJSON streaming: the timeout then limits silence, not the whole answer
    connect_timeout: float = Field(5.0, gt=0)
    max_images: int = Field(8, ge=1)  # images per request for models that take several (never mllama)

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> OllamaOptions:
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(f"host {self.host} is not this machine; set allow_remote = true to send files there")
        return self


def parse_version(text: str) -> tuple[int, int, int]:
    parts = [int("".join(ch for ch in part if ch.isdigit()) or 0) for part in text.split("-")[0].split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))  # type: ignore[return-value]


def full_name(model: str) -> str:
    """Ollama lists `llama3.2-vision` as `llama3.2-vision:latest`."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def mllama_supported(version: str) -> bool:
    return MLLAMA_FIRST <= parse_version(version) < MLLAMA_BROKEN_FROM


class OllamaEngine(Engine):
    kind = "ollama"
    Options = OllamaOptions
    options: OllamaOptions

    def __init__(self, name: str, spec: Any, options: OllamaOptions):
        super().__init__(name, spec, options)
        self.model = (spec.model if spec is not None else None) or DEFAULT_MODEL
        timeout = spec.timeout if spec is not None else 300.0
        self.client = ollama.Client(host=options.host, timeout=httpx.Timeout(timeout, connect=options.connect_timeout))
        self._facts: dict[str, Any] | None = None
        self._facts_lock = threading.Lock()

    # -- what the server has --------------------------------------------------------

    def facts(self, refresh: bool = False) -> dict[str, Any]:
        """Version, digest (from /api/tags) and details/capabilities (from /api/show).

        Raises EngineUnavailable when the server or the model is not there."""
        with self._facts_lock:
            if self._facts is None or refresh:
                self._facts = self._call(self._read_facts)
            return self._facts

    def _read_facts(self) -> dict[str, Any]:
        version = self._version()
        tag = next((m for m in self.client.list().models if full_name(m.model or "") == full_name(self.model)), None)
        if tag is None:
            raise self._missing()
        show = self.client.show(self.model)
        details = show.details or tag.details
        return {
            "version": version,
            "digest": tag.digest,
            "family": details.family if details else None,
            "families": list(details.families or []) if details else [],
            "parameter_size": details.parameter_size if details else None,
            "quantization": details.quantization_level if details else None,
            "capabilities": list(show.capabilities or []),
        }

    def _version(self) -> str:
        # The client has no version() call; _request_raw keeps its error mapping.
        return self.client._request_raw("GET", "/api/version").json().get("version", "unknown")

    def _missing(self) -> EngineUnavailable:
        return EngineUnavailable(f"model {self.model} is not pulled on Ollama at {self.options.host}",
                                 code="model_missing", hint=f"ollama pull {self.model}")

    def is_mllama(self, facts: dict[str, Any] | None = None) -> bool:
        facts = facts or {}
        families = {facts.get("family"), *facts.get("families", [])}
        return "mllama" in families or self.model.startswith("llama3.2-vision")

    def max_images(self) -> int:
        """mllama takes one image per request; other vision models several (up to max_images)."""
        return 1 if self.is_mllama(self.facts()) else self.options.max_images

    def version_problem(self, facts: dict[str, Any]) -> str | None:
        if not self.is_mllama(facts) or mllama_supported(facts["version"]):
            return None
        if parse_version(facts["version"]) < MLLAMA_FIRST:
            return (f"Ollama {facts['version']} is older than 0.7.0, which LLaMA 3.2 Vision (mllama) needs; "
                    f"upgrade to {MLLAMA_LAST_GOOD} and pull {self.model} again")
        return (f"Ollama {facts['version']} cannot run {self.model} (family mllama): Ollama 0.30.0 removed the "
                f"mllama engine and loading fails with \"{MLLAMA_ERROR}\"")

    # -- inference ------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        facts = self.facts()
        problem = self.version_problem(facts)
        if problem:
            self._facts = None  # re-checked next time: the user may fix it while files wait
            raise EngineUnavailable(problem, code="unsupported_version", hint=MLLAMA_FIX)
        kwargs = self.chat_arguments(request)
        with self.lock:  # mllama serves one request at a time anyway
            response = self._call(lambda: self._chat(kwargs))
        return self._completion(response)

    def chat_arguments(self, request: CompletionRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        user: dict[str, Any] = {"role": "user", "content": request.prompt}
        if request.image is not None:
            user["images"] = [base64.b64encode(request.image).decode("ascii")]  # one image: mllama refuses more
        elif request.images:
            user["images"] = [base64.b64encode(image).decode("ascii") for image in request.images]
        messages.append(user)
        return {
            "model": self.model,
            "messages": messages,
            "format": request.schema,
            "options": self.sent_options(request),
            "keep_alive": self.options.keep_alive,
        }

    def sent_options(self, request: CompletionRequest | None = None) -> dict[str, Any]:
        request = request or CompletionRequest(prompt="", seed=self.options.seed, max_tokens=self.options.num_predict)
        return {
            "temperature": request.temperature,
            "seed": request.seed,
            "num_ctx": request.num_ctx or self.options.num_ctx,
            "num_predict": request.max_tokens,
        }

    def _chat(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if not self.options.stream:
            return self.client.chat(**kwargs, stream=False).model_dump()
        text, final = [], {}
        for part in self.client.chat(**kwargs, stream=True):
            text.append(part.message.content or "")
            if part.done:
                final = part.model_dump()
        if not final:
            raise TransientError("Ollama's stream ended without a final message", code="stream_cut")
        final["message"]["content"] = "".join(text)
        return final

    def _completion(self, response: dict[str, Any]) -> Completion:
        def ms(key: str) -> float:
            return (response.get(key) or 0) / _NS_PER_MS

        timings = {"load": ms("load_duration"), "prompt_eval": ms("prompt_eval_duration"),
                   "eval": ms("eval_duration"), "engine_total": ms("total_duration")}
        return Completion(
            text=(response.get("message") or {}).get("content") or "",
            done_reason=response.get("done_reason") or "stop",
            prompt_tokens=response.get("prompt_eval_count"),
            output_tokens=response.get("eval_count"),
            timings_ms=timings,
            raw={key: value for key, value in response.items() if key != "message"},
        )

    # -- error classification ---------------------------------------------------------

    def _call(self, func):
        try:
            return func()
        except ollama.ResponseError as exc:
            raise self._classify(exc) from None
        except ConnectionError:
            raise EngineUnavailable(f"cannot reach Ollama at {self.options.host}", code="unreachable",
                                    hint="start Ollama (`ollama serve` or `systemctl start ollama`)") from None
        except httpx.TimeoutException:
            raise TransientError(f"Ollama at {self.options.host} did not answer in time", code="timeout") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection to Ollama at {self.options.host} failed: {exc}",
                                 code="connection_lost") from None

    def _classify(self, exc: ollama.ResponseError) -> Exception:
        message, status = str(exc.error), exc.status_code
        if MLLAMA_ERROR in message:
            self._facts = None
            return EngineUnavailable(f"Ollama cannot load {self.model}: {message}", code="unsupported_version",
                                     hint=MLLAMA_FIX)
        if status == 404 or (status == -1 and "not found" in message):
            self._facts = None  # re-checked on the next call: the model may have been pulled
            return EngineUnavailable(f"Ollama says: {message}", code="model_missing", hint=f"ollama pull {self.model}")
        if "out of memory" in message.lower():
            return OutOfMemory(f"Ollama ran out of memory: {message}")
        if status == 400:
            return EngineError(f"Ollama refused the request: {message}")
        return TransientError(f"Ollama error ({status}): {message}", code="ollama_error")

    # -- doctor and provenance --------------------------------------------------------

    def checks(self) -> list[Check]:
        label = f"model {self.name} ({self.model} on Ollama)"
        try:
            facts = self.facts(refresh=True)
        except EngineUnavailable as exc:
            return [Check(label, "fail", exc.message, exc.hint), *self._version_checks(label, exc)]
        except Exception as exc:  # checks never raise
            return [Check(label, "fail", f"cannot query Ollama at {self.options.host}: {exc}")]
        return self._fact_checks(label, facts)

    def _version_checks(self, label: str, exc: EngineUnavailable) -> list[Check]:
        """A model still to pull may not run on this Ollama either: say so before the 7.8 GB download."""
        if exc.code != "model_missing":
            return []
        try:
            problem = self.version_problem({"version": self._call(self._version)})
        except Exception:
            return []
        return [Check(label, "fail", problem, MLLAMA_FIX)] if problem else []

    def _fact_checks(self, label: str, facts: dict[str, Any]) -> list[Check]:
        found = [Check(label, "ok", f"Ollama {facts['version']} at {self.options.host}; {self.model} is pulled "
                                    f"({facts['parameter_size']}, {facts['quantization']}, {facts['digest']})")]
        if "vision" not in facts["capabilities"]:
            found.append(Check(label, "fail", f"{self.model} has no vision capability (capabilities: "
                                              f"{', '.join(facts['capabilities']) or 'none'})",
                               "choose a vision model (llama3.2-vision, qwen2.5vl, gemma3, ...) in models.toml"))
        problem = self.version_problem(facts)
        if problem:
            found.append(Check(label, "fail", problem, MLLAMA_FIX))
        return found

    def provenance(self) -> dict[str, Any]:
        block: dict[str, Any] = {"name": self.model, "engine": self.kind, "host": self.options.host}
        facts = self._facts or {}
        block.update({
            "engine_version": facts.get("version"),
            "digest": facts.get("digest"),
            "quantization": facts.get("quantization"),
            "family": facts.get("family"),
            "parameter_size": facts.get("parameter_size"),
            "options": {**self.sent_options(), "keep_alive": self.options.keep_alive},
        })
        return block

    def evict(self) -> None:
        """Ask Ollama to unload the model now (keep_alive 0), for the GPU scheduler; never raises."""
        try:
            self.client.chat(model=self.model, messages=[], keep_alive=0)
        except Exception:
            pass

    def vram_used_mb(self) -> int:
        """What the model holds on the GPU now, from /api/ps (0 once keep_alive let it go)."""
        loaded = self._call(self.client.ps).models
        held = [m.size_vram or 0 for m in loaded if full_name(m.model or m.name or "") == full_name(self.model)]
        return int(sum(held) // (1024 * 1024))

    def close(self) -> None:
        """Nothing to free here: the Ollama server owns the model and its keep_alive."""

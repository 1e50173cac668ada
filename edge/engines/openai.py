"""The `openai` engine: any OpenAI-compatible chat-completions server.

vLLM, SGLang (and its router), llama.cpp's llama-server, LM Studio, LocalAI,
TGI and Ollama's `/v1` all serve `POST /v1/chat/completions`; this engine is
how edge reaches them, with nothing of its own in between. `workers` (the
model's key in models.toml) is how many requests edge keeps in flight; the
server batches them.

Failures are classified for the pipeline: refused connection, DNS failure,
401/403, a model not served -> EngineUnavailable (the lane pauses, files
wait); 429 and 503 are waited out here first (Retry-After, else exponential
backoff, with jitter), then TransientError like a timeout or another 5xx;
400/422 -> EngineError with the server's message (permanent).

The API key (api_key_env or api_key_file) only ever goes into the
Authorization header: never into options, logs, errors or provenance.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from ..errors import EdgeError, EngineError, EngineUnavailable, OutOfMemory, TransientError
from . import openai_caps as caps
from .base import Check, Completion, CompletionRequest, Engine, EngineOptions
from .llamacpp_grammar import bounded_schema

log = logging.getLogger("edge.openai")

RETRY_STATUSES = (429, 503)



class OpenAIOptions(EngineOptions):
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str | None = None  # the name of an environment variable holding the key
    api_key_file: str | None = None  # a file holding the key; relative: under $CREDENTIALS_DIRECTORY (systemd)
    allow_remote: bool = False  # a non-loopback base_url is refused unless this is true
    allow_insecure_http: bool = False  # ... and it must be https unless this is true
    structured_output: Literal["auto", "json_schema", "structured_outputs", "guided_json", "json_object"] = "auto"
    seed: int = 7
    num_predict: int = Field(1024, ge=16)
    canvas: int = Field(1120, ge=64)  # long side in px of the page images sent
    max_pages: int = Field(20, ge=1)
    repairs: int = Field(1, ge=0)
    max_string: int = Field(256, ge=1)  # maxLength given to strings the schema leaves unbounded
    max_items: int = Field(50, ge=1)  # maxItems given to unbounded arrays
    retries: int = Field(4, ge=0)  # 429/503 answers waited out within one request
    retry_max_wait: float = Field(60.0, gt=0)  # longest single wait, seconds
    connect_timeout: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _checked(self) -> OpenAIOptions:
        problem = caps.destination_problem(self.base_url, self.allow_remote, self.allow_insecure_http)
        if problem:
            raise ValueError(problem)
        if self.api_key_env and self.api_key_file:
            raise ValueError("give api_key_env or api_key_file, not both")
        return self


def key_path(name: str) -> Path:
    """api_key_file: absolute, or relative to systemd's $CREDENTIALS_DIRECTORY (LoadCredential=)."""
    path = Path(name).expanduser()
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    return path if path.is_absolute() or not credentials else Path(credentials) / path


def read_api_key(options: OpenAIOptions) -> str | None:
    """The key, or None when none is configured; EngineUnavailable when configured but absent."""
    if options.api_key_env:
        value = os.environ.get(options.api_key_env, "").strip()
        if not value:
            raise EngineUnavailable(f"api_key_env: the environment variable {options.api_key_env} is not set",
                                    code="api_key_missing", hint="set it in the service's environment file")
        return value
    if options.api_key_file:
        path = key_path(options.api_key_file)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise EngineUnavailable(f"api_key_file: cannot read {path}: {exc.strerror or exc}",
                                    code="api_key_missing",
                                    hint="check the path (systemd: LoadCredential=NAME:PATH, api_key_file = NAME)") from None
        if not value:
            raise EngineUnavailable(f"api_key_file: {path} is empty", code="api_key_missing")
        return value
    return None


def retry_wait(header: str | None, attempt: int, cap: float, rng: random.Random) -> float:
    """Retry-After (seconds or an HTTP date) if sent, else 0.5 s doubling; plus 0-25 % jitter."""
    base = min(cap, 0.5 * 2 ** attempt)
    if header:
        try:
            base = float(header)
        except ValueError:
            try:
                base = parsedate_to_datetime(header).timestamp() - time.time()
            except (TypeError, ValueError):
                pass
    base = min(cap, max(0.0, base))
    return base * rng.uniform(1.0, 1.25)


def error_message(response: httpx.Response) -> str:
    """The server's own words, on one line: OpenAI's error.message, FastAPI's detail, or the body."""
    text = _raw_message(response).split("\n\n")[0]  # llama-cpp-python appends a traceback
    return " ".join(text.split())[:800]


def _raw_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        detail = body.get("detail") or body.get("message")
        if isinstance(detail, list):
            return "; ".join(_detail(item) for item in detail)
        if detail:
            return str(detail)
    return str(body)[:500]


def _detail(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", []) if part != "body")
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", item))


def tiny_jpeg() -> bytes:
    """An 8x8 grey JPEG: the image `edge doctor` tries when the server does not say."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (128, 128, 128)).save(out, "JPEG")
    return out.getvalue()


def data_url(image: bytes) -> str:
    mime = "image/png" if image[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


class OpenAIEngine(Engine):
    kind = "openai"
    Options = OpenAIOptions

    def __init__(self, name: str, spec: Any, options: OpenAIOptions):
        super().__init__(name, spec, options)
        self.options: OpenAIOptions = options
        self.wanted: str | None = getattr(spec, "model", None)
        self.workers = int(getattr(spec, "workers", 1) or 1)
        self.timeout = float(getattr(spec, "timeout", 300.0) or 300.0)
        self.base = options.base_url.rstrip("/")
        self.host = caps.host_of(self.base)
        self.fingerprint: str | None = None
        self._slots = threading.BoundedSemaphore(self.workers)
        self._facts: caps.ServerFacts | None = None
        self._facts_lock = threading.Lock()
        self._client_lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._key: str | None = None
        self._rng = random.Random()

    # -- transport ------------------------------------------------------------------------------

    def client(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                # trust_env=False: no proxy or netrc from the environment; files go to base_url only.
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=self.options.connect_timeout),
                                            limits=httpx.Limits(max_connections=self.workers + 2),
                                            trust_env=False, follow_redirects=False)
            return self._client

    def _headers(self) -> dict[str, str]:
        if self._key is None:
            self._key = read_api_key(self.options)
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    def _send(self, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self.client().request(method, url, json=body, headers=self._headers())
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise EngineUnavailable(f"cannot reach the server at {self.host}: {exc}", code="unreachable",
                                    hint=f"start the server, or check base_url ({self.base})") from None
        except httpx.TimeoutException:
            raise TransientError(f"the server at {self.host} did not answer within {self.timeout:g} s",
                                 code="timeout") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection to {self.host} failed: {exc}", code="connection_lost") from None

    def _get_quiet(self, url: str) -> tuple[int, Any]:
        """For optional endpoints: (status, JSON or None); never raises for an answer or a refusal."""
        try:
            response = self._send("GET", url)
        except (EngineUnavailable, TransientError):
            return 0, None
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with 429/503 waited out (Retry-After, backoff, jitter); the JSON answer or an EdgeError."""
        attempt = 0
        while True:
            response = self._send("POST", self.base + path, body)
            if response.status_code not in RETRY_STATUSES or attempt >= self.options.retries:
                return self._answer(response)
            wait = retry_wait(response.headers.get("retry-after"), attempt, self.options.retry_max_wait, self._rng)
            log.info("event=server_busy model=%s status=%d wait_s=%.2f", self.name, response.status_code, wait)
            time.sleep(wait)
            attempt += 1

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                raise TransientError(f"the server at {self.host} answered 200 without JSON",
                                     code="bad_answer") from None
        message = error_message(response)
        if self._key:  # a server may echo the key it refused: never let it reach a log or a sidecar
            message = message.replace(self._key, "***")
        raise self._classify(response.status_code, message)

    def _classify(self, status: int, message: str) -> EdgeError:
        if status in (400, 422):
            context = "context" in message.lower() and any(w in message.lower() for w in ("length", "long", "exceed"))
            return EngineError(f"the server refused the request ({status}): {message}",
                               code="context_overflow" if context else "engine_refused")
        if status in (401, 403):
            return EngineUnavailable(f"the server at {self.host} refused the API key ({status}): {message}",
                                     code="unauthorized", hint="check api_key_env / api_key_file")
        if status == 404:
            self._facts = None  # looked at again next time: the model may be served by then
            return EngineUnavailable(f"the server at {self.host} answered 404: {message}", code="model_missing",
                                     hint="check model and base_url (it usually ends in /v1)")
        if "out of memory" in message.lower():
            return OutOfMemory(f"the server ran out of memory: {message}")
        if status in (408, 409, 425, 429) or status >= 500:
            return TransientError(f"the server at {self.host} answered {status}: {message}", code="server_error")
        return EngineError(f"the server refused the request ({status}): {message}", code="engine_refused")

    # -- what the server is -----------------------------------------------------------------------

    def facts(self, refresh: bool = False) -> caps.ServerFacts:
        """Learnt once (models, server, version, structured-output mode) and cached."""
        with self._facts_lock:
            if self._facts is None or refresh:
                self._facts = self._learn()
            return self._facts

    def _learn(self) -> caps.ServerFacts:
        listing = self._answer(self._send("GET", self.base + "/models"))
        entries = [entry for entry in listing.get("data") or [] if isinstance(entry, dict)]
        listed = [str(entry.get("id")) for entry in entries]
        model_id, entry = caps.pick_model(self.wanted, entries)
        if model_id is None:
            raise EngineUnavailable(self._not_served(listed), code="model_missing",
                                    hint="set model to one of the served ids, or start the server with it")
        owned_by = (entry or {}).get("owned_by")
        server, version, body = caps.identify(self._get_quiet, caps.server_root(self.base), owned_by)
        facts = caps.ServerFacts(model_id, listed, owned_by, server, version, caps.vision_from(server, body))
        facts.mode, facts.refused = self._choose_mode(facts)
        log.info("event=openai_server model=%s id=%s server=%s version=%s mode=%s", self.name, model_id,
                 server, version, facts.mode)
        return facts

    def _not_served(self, listed: list[str]) -> str:
        served = ", ".join(listed) or "none"
        if self.wanted is None:
            return f"the server at {self.host} serves {len(listed)} models ({served}): set `model` to one"
        return f"model {self.wanted} is not served at {self.host} (served: {served})"

    def _choose_mode(self, facts: caps.ServerFacts) -> tuple[str, dict[str, str]]:
        if self.options.structured_output != "auto":
            return self.options.structured_output, {}
        refused: dict[str, str] = {}
        for mode in caps.mode_order(facts.server, facts.version):
            if mode == "json_object":
                break
            message = self._probe(facts.model_id, caps.structured_fields(mode, caps.PROBE_SCHEMA))
            if message is None:
                return mode, refused
            refused[mode] = message
        return "json_object", refused

    def _probe(self, model_id: str, extra: dict[str, Any], image: bool = False) -> str | None:
        """One one-token request: None if taken, the server's message if refused."""
        try:
            self._tiny_request(model_id, extra, image)
        except EngineError as exc:
            return exc.message
        except TransientError as exc:  # some servers answer a field they cannot parse with a 500
            if not caps.names_field(exc.message, extra):
                raise
            return exc.message
        return None

    def _tiny_request(self, model_id: str, extra: dict[str, Any], image: bool = False) -> dict[str, Any]:
        content: Any = 'Answer {"ok": true}'
        if image:
            content = [{"type": "image_url", "image_url": {"url": data_url(tiny_jpeg())}},
                       {"type": "text", "text": content}]
        body = {"model": model_id, "messages": [{"role": "user", "content": content}], "max_tokens": 1,
                "temperature": 0, "stream": False, **extra}
        return self.post("/chat/completions", body)

    def image_probe(self, model_id: str) -> tuple[bool | None, str]:
        """Send a tiny image: refused (False), taken (True: it added prompt tokens), or cannot tell (None)."""
        try:
            with_image = self._tiny_request(model_id, {}, image=True)
        except EngineError as exc:
            return False, f"refused a test image: {exc.message}"
        without = self._tiny_request(model_id, {})
        counted = [(answer.get("usage") or {}).get("prompt_tokens") for answer in (with_image, without)]
        if counted[0] is None or counted[1] is None:
            return None, "accepted a test image (the server reports no token usage to tell whether it read it)"
        if counted[0] > counted[1]:
            return True, f"takes images (a test image added {counted[0] - counted[1]} prompt tokens)"
        return None, ("counted no prompt tokens for a test image: a text-only model that drops images, "
                      "or a cross-attention model (mllama) whose images take no context")

    # -- inference --------------------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        facts = self.facts()
        if request.image is not None and facts.vision is False:
            raise EngineError(f"{facts.model_id} at {self.host} takes no images (the server says so)",
                              code="no_vision", hint="serve a vision model, or use it for text (engine ocr-openai)")
        body = self.chat_body(request, facts)
        with self._slots:  # at most `workers` requests in flight from this process
            started = time.perf_counter()
            answer = self.post("/chat/completions", body)
            elapsed = (time.perf_counter() - started) * 1000
        self.last_used = time.monotonic()
        return self._completion(answer, elapsed)

    def chat_body(self, request: CompletionRequest, facts: caps.ServerFacts) -> dict[str, Any]:
        schema = bounded_schema(request.schema, self.options.max_string, self.options.max_items) \
            if request.schema is not None else None
        prompt = request.prompt
        if schema is not None and facts.mode == "json_object":
            prompt += caps.schema_instruction(schema)
        content: Any = prompt
        if request.image is not None:
            content = [{"type": "image_url", "image_url": {"url": data_url(request.image)}},
                       {"type": "text", "text": prompt}]
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": content})
        body: dict[str, Any] = {"model": facts.model_id, "messages": messages, "temperature": request.temperature,
                                "seed": request.seed, "max_tokens": request.max_tokens, "stream": False}
        if schema is not None:
            body.update(caps.structured_fields(facts.mode, schema))
        return body

    def _completion(self, answer: dict[str, Any], elapsed_ms: float) -> Completion:
        choices = answer.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        reason = choice.get("finish_reason") or "stop"
        usage = answer.get("usage") or {}
        if answer.get("system_fingerprint"):
            self.fingerprint = str(answer["system_fingerprint"])
        return Completion(
            text=(choice.get("message") or {}).get("content") or "",
            done_reason="length" if reason == "length" else "stop",
            prompt_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            timings_ms={"inference": elapsed_ms},
            raw={"id": answer.get("id"), "finish_reason": reason, "usage": usage,
                 "system_fingerprint": answer.get("system_fingerprint")},
        )

    # -- doctor and provenance --------------------------------------------------------------------

    def checks(self) -> list[Check]:
        label = f"model {self.name} ({self.wanted or 'the served model'} at {self.host})"
        try:
            facts = self.facts(refresh=True)
        except EdgeError as exc:
            return [Check(label, "fail", exc.message, exc.hint)]
        except Exception as exc:  # noqa: BLE001 - checks never raise
            return [Check(label, "fail", f"cannot query {self.base}: {type(exc).__name__}: {exc}")]
        server = facts.engine_version or "an OpenAI-compatible server"
        return [Check(label, "ok", f"reachable: {server}; {facts.model_id} is listed"),
                self._vision_check(label, facts), self._mode_check(label, facts)]

    def _vision_check(self, label: str, facts: caps.ServerFacts) -> Check:
        text_fix = "fine for text (engine ocr-openai); serve a vision model (with its mmproj) for images"
        if facts.vision is not None:
            said = "takes images" if facts.vision else "takes no images"
            return Check(label, "ok" if facts.vision else "warn", f"{facts.model_id} {said} (the server says so)",
                         None if facts.vision else text_fix)
        try:
            taken, message = self.image_probe(facts.model_id)
        except EdgeError as exc:
            return Check(label, "warn", f"could not try an image: {exc.message}")
        if taken is not None:
            facts.vision = taken  # a model that refused the test image is then refused images up front
        return Check(label, "ok" if taken else "warn", f"{facts.model_id} {message}", None if taken else text_fix)

    def _mode_check(self, label: str, facts: caps.ServerFacts) -> Check:
        message = f"structured output: {facts.mode}"
        if facts.refused:
            message += " (the server refused " + "; ".join(f"{m}: {why[:200]}" for m, why in facts.refused.items()) + ")"
        elif self.options.structured_output != "auto":
            message += " (set in models.toml)"
        return Check(label, "ok", message)

    def provenance(self) -> dict[str, Any]:
        facts = self._facts
        return {
            "name": facts.model_id if facts else (self.wanted or self.name),
            "engine": self.kind,
            "engine_version": facts.engine_version if facts else None,
            "server": facts.server if facts else None,
            "host": self.host,
            "system_fingerprint": self.fingerprint,
            "structured_output": facts.mode if facts else None,
            "options": {"temperature": 0, "seed": self.options.seed, "max_tokens": self.options.num_predict,
                        "workers": self.workers},
        }

    def close(self) -> None:
        """Nothing is loaded here; only the connection pool goes (a later call opens a new one)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

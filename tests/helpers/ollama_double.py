"""A server double of Ollama for tests: a real HTTP server on 127.0.0.1.

It follows /work/shared/docs/engines.md (and upstream docs/api.md):
/api/version, /api/tags, /api/show, /api/ps, /api/chat (non-streaming and
NDJSON streaming, durations in ns), the documented error statuses and texts,
the one-image 400 of mllama and the `unknown model architecture: 'mllama'`
failure on version >= 0.30. It honours `format` by answering JSON that fits
the schema with values the test configured. It can be made slow, drop
connections, go away and come back; it records every request it received.

Used only by tests; the product never imports it.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MLLAMA = "llama3.2-vision:11b"
ONE_IMAGE = "this model only supports one image while more than one image requested"
MLLAMA_ERROR_TEXT = "unknown model architecture: 'mllama'"


@dataclass
class FakeModel:
    name: str = MLLAMA
    family: str = "mllama"
    parameter_size: str = "10.7B"
    quantization_level: str = "Q4_K_M"
    capabilities: list[str] = field(default_factory=lambda: ["completion", "vision"])
    digest: str = "085a1fdae525a3804ac95416b38498099c241defd0f1efc71dcca7f63190ba3d"
    size: int = 7_901_829_417

    def details(self) -> dict[str, Any]:
        return {"parent_model": "", "format": "gguf", "family": self.family, "families": [self.family],
                "parameter_size": self.parameter_size, "quantization_level": self.quantization_level}


@dataclass
class Reply:
    """One scripted answer to /api/chat: raw content, or an HTTP error."""

    content: str | None = None
    done_reason: str = "stop"
    status: int = 200
    error: str | None = None
    drop: bool = False  # close the connection without answering
    stream_error: str | None = None  # streaming only: an error line after some content


@dataclass
class Received:
    method: str
    path: str
    body: dict[str, Any] | None


class OllamaDouble:
    def __init__(self, version: str = "0.24.0", models: list[FakeModel] | None = None,
                 values: dict[str, Any] | None = None, confidence: str = "high"):
        self.version = version
        self.models = {m.name: m for m in (models if models is not None else [FakeModel()])}
        self.values = dict(values or {})  # field -> value answered when `format` asks for it
        self.confidence = confidence
        self.replies: deque[Reply] = deque()  # scripted replies, used before the schema answer
        self.page_values: deque[dict[str, Any]] = deque()  # per-request values, used before `values`
        self.delay = 0.0  # seconds before answering /api/chat
        self.requests: list[Received] = []
        self.loaded: dict[str, float] = {}  # model -> expires_at (unix)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.port = _free_port()

    # -- life cycle ------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OllamaDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = _QuietServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"ollama-double-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go away: the port refuses connections until start() again."""
        if self._server is not None:
            with self._lock:
                open_connections = list(self._connections)
            for connection in open_connections:  # kept-alive connections die with the server
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> OllamaDouble:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- scripting --------------------------------------------------------------------

    def pull(self, model: FakeModel | None = None) -> None:
        model = model or FakeModel()
        with self._lock:
            self.models[model.name] = model

    def remove(self, name: str) -> None:
        with self._lock:
            self.models.pop(name, None)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def queue_values(self, *values: dict[str, Any]) -> None:
        """Values for the next schema answers, one per chat request (then `values` again)."""
        with self._lock:
            self.page_values.extend(values)

    def chats(self) -> list[dict[str, Any]]:
        """Bodies of the /api/chat requests that carried messages."""
        with self._lock:
            return [r.body for r in self.requests if r.path == "/api/chat" and r.body and r.body.get("messages")]

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self.replies.popleft() if self.replies else None

    def answer_for(self, schema: Any) -> str:
        """JSON that fits the requested format, with the configured values."""
        if not isinstance(schema, dict):
            return json.dumps(self.values)
        properties = schema.get("properties", {})
        with self._lock:
            values = self.page_values.popleft() if self.page_values else self.values
        out = {key: values.get(key) for key in properties if key != "_confidence"}
        if "_confidence" in properties:
            out["_confidence"] = {key: self.confidence for key in out if out[key] is not None}
        return json.dumps(out)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out or a dropped connection is expected here


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("-")[0].split(".")[:3])


class _Handler(BaseHTTPRequestHandler):
    double: OllamaDouble
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.double._lock:
            self.double._connections.add(self.connection)

    def finish(self) -> None:
        with self.double._lock:
            self.double._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing -----------------------------------------------------------------------

    def _body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        return json.loads(self.rfile.read(length))

    def _send(self, status: int, doc: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = (json.dumps(doc) + ("\n" if content_type.startswith("application/x-ndjson") else "")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message})

    def _record(self, body: dict[str, Any] | None) -> None:
        with self.double._lock:
            self.double.requests.append(Received(self.command, self.path, body))

    # -- routes -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._record(None)
        routes = {"/api/version": self._version, "/api/tags": self._tags, "/api/ps": self._ps}
        route = routes.get(self.path)
        if route is None:
            self._error(404, "404 page not found")
        else:
            route()

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        try:
            body = self._body()
        except ValueError:
            self._record(None)
            return self._error(400, "invalid character looking for beginning of value")
        self._record(body)
        routes = {"/api/show": self._show, "/api/chat": self._chat}
        route = routes.get(self.path)
        if route is None:
            self._error(404, "404 page not found")
        else:
            route(body or {})

    def _version(self) -> None:
        self._send(200, {"version": self.double.version})

    def _tags(self) -> None:
        with self.double._lock:
            models = list(self.double.models.values())
        self._send(200, {"models": [{
            "name": m.name, "model": m.name, "modified_at": "2024-11-06T17:21:54.123456789Z", "size": m.size,
            "digest": m.digest, "details": m.details()} for m in models]})

    def _ps(self) -> None:
        with self.double._lock:
            loaded = [(self.double.models.get(name), expires) for name, expires in self.double.loaded.items()]
        self._send(200, {"models": [{
            "name": m.name, "model": m.name, "size": m.size, "size_vram": m.size, "digest": m.digest,
            "details": m.details(), "context_length": 4096,
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()}
            for m, expires in loaded if m is not None]})

    def _model(self, name: str) -> FakeModel | None:
        with self.double._lock:
            model = self.double.models.get(name)
            if model is None and ":" not in name:
                model = self.double.models.get(f"{name}:latest")
            return model

    def _show(self, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        model = self._model(name)
        if model is None:
            return self._error(404, f"model '{name}' not found")
        self._send(200, {
            "modelfile": f"FROM {model.name}\n", "parameters": "temperature 0.6\ntop_p 0.9",
            "template": "{{ .Prompt }}", "details": model.details(),
            "model_info": {"general.architecture": model.family, "general.parameter_count": 10_670_220_835},
            "capabilities": model.capabilities, "modified_at": "2024-11-06T17:21:54.123456789Z",
        })

    # -- /api/chat ------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        double = self.double
        name = body.get("model", "")
        model = self._model(name)
        if model is None:
            return self._error(404, f'model "{name}" not found, try pulling it first')
        messages = body.get("messages") or []
        if not messages:
            return self._load_or_unload(model, body)
        problem = self._refusal(model, messages)
        if problem:
            return self._error(*problem)
        if double.delay:
            time.sleep(double.delay)  # a slow model, as the client sees it
        reply = double._next_reply() or Reply(content=double.answer_for(body.get("format")))
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if reply.error is not None and reply.status != 200:
            return self._error(reply.status, reply.error)
        self._mark_loaded(model, body)
        if body.get("stream", True):
            return self._stream(model, reply)
        self._send(200, self._final(model, reply, with_content=True))

    def _refusal(self, model: FakeModel, messages: list[dict[str, Any]]) -> tuple[int, str] | None:
        if model.family == "mllama" and _version_tuple(self.double.version) >= (0, 30, 0):
            return 500, f"llama runner process has terminated: error loading model: {MLLAMA_ERROR_TEXT}"
        images = [image for message in messages for image in message.get("images") or []]
        if images and "vision" not in model.capabilities:
            return 400, f"{model.name} does not support images"
        if model.family == "mllama" and len(images) > 1:
            return 400, ONE_IMAGE
        for image in images:
            try:
                base64.b64decode(image, validate=True)
            except ValueError:
                return 400, "illegal base64 data at input byte 0"
        return None

    def _load_or_unload(self, model: FakeModel, body: dict[str, Any]) -> None:
        unload = body.get("keep_alive") in (0, "0", "0s")
        with self.double._lock:
            if unload:
                self.double.loaded.pop(model.name, None)
            else:
                self.double.loaded[model.name] = time.time() + 300
        self._send(200, {"model": model.name, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                         "done_reason": "unload" if unload else "load", "done": True})

    def _mark_loaded(self, model: FakeModel, body: dict[str, Any]) -> None:
        with self.double._lock:
            self.double.loaded[model.name] = time.time() + 300

    def _final(self, model: FakeModel, reply: Reply, with_content: bool) -> dict[str, Any]:
        content = reply.content or ""
        eval_count = max(1, len(content) // 4)
        return {
            "model": model.name, "created_at": _now(),
            "message": {"role": "assistant", "content": content if with_content else ""},
            "done": True, "done_reason": reply.done_reason,
            "total_duration": 2_254_970_291, "load_duration": 574_751_416,
            "prompt_eval_count": 34, "prompt_eval_duration": 1_502_000_000,
            "eval_count": eval_count, "eval_duration": 175_000_000,
        }

    def _stream(self, model: FakeModel, reply: Reply) -> None:
        """NDJSON, chunked: partial contents with done false, then the counters."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        content = reply.content or ""
        for start in range(0, len(content), 7):
            self._chunk({"model": model.name, "created_at": _now(),
                         "message": {"role": "assistant", "content": content[start:start + 7]}, "done": False})
        if reply.stream_error:
            self._chunk({"error": reply.stream_error})
        else:
            self._chunk(self._final(model, reply, with_content=False))
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, doc: dict[str, Any]) -> None:
        data = (json.dumps(doc) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

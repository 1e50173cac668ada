"""An OpenAI-compatible HTTP double and fault-injecting proxy, on 127.0.0.1, for tests.

Two ways to run it:

- `OpenAIDouble(upstream=URL)`: a proxy in front of a real server (the
  llama-cpp-python server the tests start). Everything is forwarded as is,
  except what a test scripts: faults (429 with Retry-After, 503, 400 with a
  message) for chat requests whose body contains a given text, a refused
  structured-output field (400 naming it, as vLLM/OpenAI do), `json_schema`
  translated to llama.cpp's `json_object` + `schema` (what a server that takes
  json_schema does), a gate that holds chat requests until N are in flight.
- `OpenAIDouble()` alone: a server that answers like the OpenAI API
  (`/v1/models`, `/v1/chat/completions` with `system_fingerprint`, `usage`,
  `finish_reason`) with JSON built from the schema of whichever
  structured-output field it accepts; plus vLLM's `GET /version` or
  llama-server's `GET /props` when told to be one.

It counts chat requests in flight (and the peak), records every request
(with its headers) and can go away (connections refused) and come back on
the same port. Used only by tests; the product never imports it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import httpx

STRUCTURED_FIELDS = ("json_schema", "structured_outputs", "guided_json")


@dataclass
class Fault:
    """One scripted answer to a chat request whose body contains `match`."""

    status: int
    message: str = "injected by the test proxy"
    retry_after: str | None = None
    match: str = ""


@dataclass
class Seen:
    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int = 0  # what the double answered


class OpenAIDouble:
    def __init__(self, upstream: str | None = None, models: tuple[str, ...] = ("test-model",),
                 owned_by: str = "vllm", server: str | None = None, version: str = "0.12.0",
                 accepts: tuple[str, ...] = ("json_schema", "structured_outputs", "guided_json", "json_object"),
                 values: dict[str, Any] | None = None, fingerprint: str | None = "fp_edge_double",
                 vision: bool | None = None, api_key: str | None = None):
        self.upstream = upstream.rstrip("/").removesuffix("/v1") if upstream else None  # the server root
        self.models, self.owned_by, self.server, self.version = models, owned_by, server, version
        self.accepts = set(accepts)  # structured-output modes taken (the double); see refuse for the proxy
        self.refuse: set[str] = set()  # structured-output modes (or "image") answered with a 400
        self.translate_json_schema = False  # proxy: json_schema -> json_object + schema for llama.cpp
        self.values = dict(values or {})
        self.fingerprint, self.vision, self.api_key = fingerprint, vision, api_key
        self.faults: deque[Fault] = deque()
        self.requests: list[Seen] = []
        self.in_flight = self.peak = 0
        self._gate_at: int | None = None
        self._gate_match = ""
        self._gate = threading.Event()
        self._gate.set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._client = httpx.Client(timeout=300, trust_env=False) if upstream else None
        self.port = free_port()

    # -- life cycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"openai-double-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go away: the port refuses connections until start() again."""
        if self._server is not None:
            self._gate.set()
            with self._lock:
                open_connections = list(self._connections)
            for connection in open_connections:  # kept-alive connections die with the server
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def close(self) -> None:
        self.stop()
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting and reading ---------------------------------------------------------------

    def script(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def hold_until(self, count: int, match: str = "") -> None:
        """Hold chat requests whose body contains `match` until `count` are in flight together."""
        with self._lock:
            self._gate_at, self._gate_match = count, match
            self._gate.clear()

    def hold(self) -> None:
        """Hold every chat request until release()."""
        with self._lock:
            self._gate_at, self._gate_match = None, ""
            self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def chats(self, containing: str = "") -> list[Seen]:
        return [seen for seen in list(self.requests)
                if seen.path.endswith("/chat/completions") and containing in json.dumps(seen.body)]

    # -- the handler's helpers -------------------------------------------------------------------

    def next_fault(self, body: dict[str, Any]) -> Fault | None:
        text = json.dumps(body)
        with self._lock:
            for fault in list(self.faults):
                if fault.match in text:
                    self.faults.remove(fault)
                    return fault
        return None

    def enter(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self._gate_at is not None and self.in_flight >= self._gate_at:
                self._gate_at = None
                self._gate.set()
        if self._gate_match in json.dumps(body):
            self._gate.wait(timeout=120)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def structured_mode(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") in ("json_schema", "json_object"):
        return fmt["type"]
    return next((name for name in ("structured_outputs", "guided_json") if name in body), None)


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    if fmt.get("type") == "json_object":
        return fmt.get("schema")
    if "structured_outputs" in body:
        return body["structured_outputs"].get("json")
    return body.get("guided_json")


class _Handler(BaseHTTPRequestHandler):
    double: OpenAIDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.double._lock:
            self.double._connections.add(self.request)

    def finish(self) -> None:
        with self.double._lock:
            self.double._connections.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:
        self._handle(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
        self._handle(body)

    def _handle(self, body: dict[str, Any] | None) -> None:
        seen = Seen(self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
        self.double.requests.append(seen)
        self._seen = seen
        chat = self.path.endswith("/chat/completions") and body is not None
        if chat:
            self.double.enter(body)
        try:
            self._answer(body, chat)
        finally:
            if chat:
                self.double.leave()

    def _answer(self, body: dict[str, Any] | None, chat: bool) -> int:
        double = self.double
        if double.api_key and self.headers.get("Authorization") != f"Bearer {double.api_key}":
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            return self._send(401, {"error": {"message": f"Incorrect API key provided: {given}",
                                              "type": "invalid_api_key"}})
        if chat:
            fault = double.next_fault(body)
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._send(fault.status, {"error": {"message": fault.message, "type": "test_fault"}}, headers)
            if "image" in double.refuse and '"type": "image_url"' in json.dumps(body.get("messages")):
                return self._send(400, {"error": {"message": "Image input is not supported for this model",
                                                  "type": "invalid_request_error"}})
            mode = structured_mode(body)
            if mode in double.refuse or (double.upstream is None and mode and mode not in double.accepts):
                field = "response_format.json_schema" if mode == "json_schema" else mode
                return self._send(400, {"error": {"message": f"{field} is not supported by this server",
                                                  "type": "invalid_request_error", "param": field}})
        if double.upstream is not None:
            return self._forward(body)
        return self._own(body)

    # -- proxy ------------------------------------------------------------------------------

    def _forward(self, body: dict[str, Any] | None) -> int:
        double = self.double
        if body is not None and double.translate_json_schema and structured_mode(body) == "json_schema":
            body = {**body, "response_format": {"type": "json_object", "schema": requested_schema(body)}}
        headers = {k: v for k, v in self.headers.items() if k.lower() == "authorization"}
        try:
            answer = double._client.request(self.command, double.upstream + self.path, json=body, headers=headers)
        except httpx.TransportError as exc:
            return self._send(502, {"error": {"message": f"upstream: {exc}"}})
        try:
            payload = answer.json()
        except ValueError:
            payload = {"error": {"message": answer.text}}
        if isinstance(payload, dict) and self.path.endswith("/chat/completions") and answer.status_code == 200:
            payload.setdefault("system_fingerprint", double.fingerprint)
        return self._send(answer.status_code, payload)

    # -- standalone double -----------------------------------------------------------------------

    def _own(self, body: dict[str, Any] | None) -> int:
        double = self.double
        if self.path == "/v1/models":
            return self._send(200, {"object": "list", "data": [
                {"id": name, "object": "model", "created": 1764547200, "owned_by": double.owned_by}
                for name in double.models]})
        if self.path == "/version" and double.server == "vllm":
            return self._send(200, {"version": double.version})
        if self.path == "/props" and double.server == "llama.cpp":
            return self._send(200, {"build_info": f"b{double.version}", "modalities": {"vision": bool(double.vision)}})
        if self.path == "/v1/chat/completions" and body is not None:
            return self._chat(body)
        return self._send(404, {"error": {"message": f"no route {self.command} {self.path}"}})

    def _chat(self, body: dict[str, Any]) -> int:
        double = self.double
        if body.get("model") not in double.models:
            return self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                              "type": "NotFoundError"}})
        schema = requested_schema(body) or {}
        answer = {name: double.values.get(name) for name in schema.get("properties", {}) if name != "_confidence"}
        if "_confidence" in schema.get("properties", {}):
            answer["_confidence"] = {name: "high" for name in answer}
        text = json.dumps(answer)
        reason = "stop"
        images = json.dumps(body.get("messages")).count('"type": "image_url"') if double.vision is not False else 0
        prompt_tokens = 100 + 64 * images  # a vision model spends tokens on each image
        if body.get("max_tokens") is not None and body["max_tokens"] < 8:
            text, reason = text[:1], "length"
        return self._send(200, {
            "id": "chatcmpl-double", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": double.fingerprint,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 20, "total_tokens": prompt_tokens + 20}})

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> int:
        data = json.dumps(payload).encode()
        self._seen.status = status  # before the client can read the answer
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass
        return status

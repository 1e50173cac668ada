"""What an OpenAI-compatible server is and can do, learnt once and cached.

- `/v1/models`: the served model ids (the sidecar names the one edge used);
- which server and version: vLLM answers `GET /version`, SGLang
  `GET /get_server_info`, llama.cpp's llama-server `GET /props` (build_info,
  and whether an mmproj is loaded), Ollama `GET /api/version`; the `owned_by`
  of the model entry says which to ask first;
- the structured-output mode: `response_format` json_schema (the standard),
  else vLLM's own field (`structured_outputs`, or `guided_json` for a vLLM
  older than 0.12), else json_object with the schema in the prompt. A mode is
  tried with a one-token request; a 400/422 answer means "not supported".

Also the rules for where edge may send files: loopback unless allowed, and
https to anything else unless plain http is allowed explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .base import is_loopback

MODES = ("json_schema", "structured_outputs", "guided_json", "json_object")
VLLM_STRUCTURED_OUTPUTS_FROM = (0, 12, 0)  # vLLM 0.12 removed guided_json
PROBE_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
REFUSED = (400, 422)  # what a server answers to a field it does not take


@dataclass
class ServerFacts:
    """What `/v1/models` and the version endpoints said, and the chosen mode."""

    model_id: str
    listed: list[str]
    owned_by: str | None = None
    server: str | None = None  # vllm, sglang, llama.cpp, ollama; None when it does not say
    version: str | None = None
    vision: bool | None = None  # None: the server does not say
    mode: str = "json_schema"
    refused: dict[str, str] = field(default_factory=dict)  # mode -> the server's message

    @property
    def engine_version(self) -> str | None:
        if self.server and self.version:
            return f"{self.server} {self.version}"
        return self.version


# -- where files may go ---------------------------------------------------------------------------


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


def destination_problem(url: str, allow_remote: bool, allow_insecure_http: bool) -> str | None:
    """Why base_url may not be used, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"base_url {url!r} is not an http(s) URL"
    if parts.username or parts.password:
        return "base_url must not carry credentials; use api_key_env or api_key_file"
    if is_loopback(url):
        return None
    if not allow_remote:
        return (f"base_url {url} is not this machine; files would leave it. "
                "Set allow_remote = true to send them there")
    if parts.scheme != "https" and not allow_insecure_http:
        return (f"base_url {url} is plain http to another host: files and the API key would cross the "
                "network unencrypted. Use https://, or set allow_insecure_http = true")
    return None


def server_root(base_url: str) -> str:
    """`http://h:8000/v1` -> `http://h:8000`: where the non-OpenAI endpoints live."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def parse_version(text: str) -> tuple[int, int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", text.split("+")[0])[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))  # type: ignore[return-value]


# -- probing --------------------------------------------------------------------------------------

Get = Callable[[str], "tuple[int, Any]"]  # absolute URL -> (status, JSON or None)

# (path under the server root, server name, how to read the version from the JSON)
IDENTITY: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "vllm": ("/version", "vllm", lambda j: j.get("version")),
    "sglang": ("/get_server_info", "sglang", lambda j: j.get("version")),
    "llamacpp": ("/props", "llama.cpp", lambda j: j.get("build_info")),
    "ollama": ("/api/version", "ollama", lambda j: j.get("version")),
}
OWNERS = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llamacpp", "library": "ollama", "ollama": "ollama"}


def pick_model(wanted: str | None, entries: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
    """The listed entry for `wanted` (exact id, else Ollama's `:latest`), or the only model served."""
    if wanted is None:
        return (entries[0].get("id"), entries[0]) if len(entries) == 1 else (None, None)
    for candidate in (wanted, f"{wanted}:latest"):
        for entry in entries:
            if entry.get("id") == candidate:
                return candidate, entry
    return None, None


def identify(get: Get, root: str, owned_by: str | None) -> tuple[str | None, str | None, Any]:
    """(server, version, the JSON it answered): asks the owner's endpoint first, then the others."""
    first = OWNERS.get((owned_by or "").lower())
    order = [first] if first else []
    order += [key for key in IDENTITY if key != first]
    for key in order:
        path, server, read = IDENTITY[key]
        status, body = get(root + path)
        if status == 200 and isinstance(body, dict) and read(body):
            return server, str(read(body)), body
    return None, None, None


def vision_from(server: str | None, body: Any) -> bool | None:
    """llama-server says whether an mmproj is loaded; other servers do not say here."""
    if server == "llama.cpp" and isinstance(body, dict):
        modalities = body.get("modalities")
        if isinstance(modalities, dict) and "vision" in modalities:
            return bool(modalities["vision"])
    return None


def mode_order(server: str | None, version: str | None) -> list[str]:
    """json_schema first; vLLM's own field only for vLLM (the old name only before 0.12)."""
    order = ["json_schema"]
    if server == "vllm":
        newer = version is None or parse_version(version) >= VLLM_STRUCTURED_OUTPUTS_FROM
        order.append("structured_outputs" if newer else "guided_json")
    order.append("json_object")
    return order


def structured_fields(mode: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The request fields that ask for JSON fitting `schema` in one mode."""
    if mode == "json_schema":
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "edge_result", "schema": schema, "strict": True}}}
    if mode == "structured_outputs":
        return {"structured_outputs": {"json": schema}}
    if mode == "guided_json":
        return {"guided_json": schema}
    # llama.cpp's servers build a grammar from `schema` here; others ignore the key. The prompt says it too.
    return {"response_format": {"type": "json_object", "schema": schema}}


def names_field(message: str, fields: dict[str, Any]) -> bool:
    """Whether an error message is about one of the structured-output fields just sent."""
    words = set(fields) | {"json_schema"} if "response_format" in fields else set(fields)
    return any(word in message for word in words)


def schema_instruction(schema: dict[str, Any]) -> str:
    import json

    return ("\n\nAnswer with one JSON object that follows this JSON Schema:\n"
            + json.dumps(schema, separators=(",", ":")))

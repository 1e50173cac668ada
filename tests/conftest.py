"""Shared test helpers: polling waits, sidecar validation, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edge import sidecar

ROOT = Path(__file__).resolve().parents[1]
_VALIDATOR = jsonschema.Draft202012Validator(sidecar.schema())


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


def validate_sidecar(path_or_doc: Path | dict) -> dict:
    """Load (if a path) and validate one sidecar against the published schema."""
    doc = json.loads(Path(path_or_doc).read_text()) if not isinstance(path_or_doc, dict) else path_or_doc
    _VALIDATOR.validate(doc)
    return doc


def run_pipeline(config: Any, path: Path) -> dict:
    """One file through a fresh Pipeline in-process, its sidecar written and validated."""
    from edge.pipeline import Pipeline, stat_job

    pipeline = Pipeline(config)
    try:
        job = stat_job(path, path.parent)
        pipeline.write(job, pipeline.run(job))
    finally:
        pipeline.engines.close()
    return validate_sidecar(path.with_name(path.name + ".json"))


def edge_env(**extra: str) -> dict[str, str]:
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


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves threads running (watchdog's habit)."""
    before = set(threading.enumerate())
    yield
    def leaked():
        return [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    deadline = time.monotonic() + 5
    while leaked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leaked(), f"test leaked threads: {leaked()}"

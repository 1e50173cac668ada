"""Engines in worker processes (`isolate = true`, edge/engines/worker.py): real child processes, real
signals. A crash in the worker is an EngineCrashed naming the signal; the next call gets a new worker."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from edge.configure import parse_config
from edge.engines.base import EngineSet
from edge.engines.metadata import MetadataEngine
from edge.engines.worker import death
from edge.errors import ConfigError, EngineCrashed, EngineError

CRASHING = "tests.helpers.crashing_engine:CrashingEngine"


def engines(tmp_path: Path, engine: str, **options: str) -> EngineSet:
    return EngineSet(parse_config({"models": {"m": {"engine": engine, "isolate": True, **options}}}))


def test_an_isolated_engine_answers_as_in_process_and_keeps_its_worker(tmp_path):
    page = tmp_path / "a.txt"
    page.write_text("hello\n")
    found = engines(tmp_path, "metadata")
    engine = found.get("m")
    try:
        assert isinstance(engine, MetadataEngine) and type(engine) is not MetadataEngine
        assert engine.describe(page, "other") == MetadataEngine.describe(engine, page, "other")
        first = engine._pool._idle[0].proc.pid
        engine.describe(page, "other")
        assert engine._pool._idle[0].proc.pid == first  # loaded once, kept
        assert engine.provenance()["engine"] == "metadata"  # answered here, without a worker call
    finally:
        found.close()
    assert "_pool" not in engine.__dict__


@pytest.mark.parametrize(("how", "named"), [("segv", "SIGSEGV"), ("abort", "SIGABRT")])
def test_a_crash_in_the_worker_fails_the_call_and_the_next_gets_a_new_worker(tmp_path, how, named):
    bad, good = tmp_path / "bad.txt", tmp_path / "good.txt"
    bad.write_text("x\n"), good.write_text("y\n")
    found = engines(tmp_path, CRASHING, crash_on="bad.txt", how=how)
    engine = found.get("m")
    try:
        with pytest.raises(EngineCrashed, match=f"model m died by {named} \\(a crash in native code\\)") as caught:
            engine.describe(bad, "other")
        assert caught.value.code == "engine_crashed"
        assert engine.describe(good, "other")["engine"] == "crashing"  # this process is still here
    finally:
        found.close()


def test_errors_raised_in_the_worker_arrive_as_themselves(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("x\n")
    refusing, buggy = engines(tmp_path, CRASHING, crash_on="bad.txt", how="refuse"), \
        engines(tmp_path, CRASHING, crash_on="bad.txt", how="defect")
    try:
        with pytest.raises(EngineError) as caught:
            refusing.get("m").describe(bad, "other")
        assert (caught.value.code, caught.value.message, caught.value.hint) == \
            ("refused_here", "the engine refused this file", "a hint from the engine")
        with pytest.raises(RuntimeError, match="in the worker process of model m: ValueError: a bug in the engine"):
            buggy.get("m").describe(bad, "other")  # a defect: the daemon records it as internal_error
        assert buggy.get("m")._pool._idle  # the worker survived both and is kept
    finally:
        refusing.close(), buggy.close()


def test_deaths_in_words():
    assert death(-signal.SIGKILL) == "was killed by SIGKILL (the kernel's OOM killer, or kill -9)"
    assert death(-signal.SIGSEGV) == "died by SIGSEGV (a crash in native code)"
    assert death(-signal.SIGTERM) == "died by SIGTERM"
    assert death(3) == "exited with status 3"


def test_an_engine_without_a_worker_form_is_refused(tmp_path):
    found = engines(tmp_path, "scripted")
    with pytest.raises(ConfigError, match="cannot run isolated"):
        found.get("m")


@pytest.mark.isolation_default
@pytest.mark.parametrize(("engine", "options", "isolated"), [
    ("faster-whisper", {"model": "embedded:tiny.en"}, True),
    ("ocr", {}, True),
    ("llamacpp", {"model": "embedded:gemma3-270m"}, True),
    ("metadata", {}, False),
    ("scripted", {}, False),
])
def test_engines_that_run_native_code_are_isolated_unless_the_model_says_otherwise(engine, options, isolated):
    def built(**isolate: bool) -> type:
        config = parse_config({"models": {"m": {"engine": engine, **options, **isolate}}})
        found = EngineSet(config)
        try:
            return type(found.get("m"))  # nothing is loaded: a model loads, or a worker starts, on its first call
        finally:
            found.close()

    assert built().__name__.startswith("Isolated") is isolated
    assert not built(isolate=False).__name__.startswith("Isolated")
    if isolated:
        assert built(isolate=True).__name__.startswith("Isolated")


def test_a_worker_runs_each_call_under_the_daemons_gpu_lease(tmp_path):
    from edge.gpu import Lease, leased

    page = tmp_path / "a.txt"
    page.write_text("hello\n")
    found = engines(tmp_path, "tests.helpers.gpu_probes:LeaseEcho")
    try:
        engine = found.get("m")
        with leased(Lease("m", "cpu", mb=900, reduced=True)):  # the scheduler's CPU fallback, after an OOM
            assert engine.describe(page, "other") == {"lease": ["m", "cpu", True]}
        assert engine.describe(page, "other") == {"lease": None}
    finally:
        found.close()


@pytest.mark.isolation_default
def test_an_isolated_whisper_model_names_the_device_it_runs_on_without_loading_here():
    found = EngineSet(parse_config({"models": {"asr": {"engine": "faster-whisper", "model": "embedded:tiny.en"}}}))
    try:
        engine = found.get("asr")
        block = engine.provenance()
        assert (block["device"], block["compute_type"]) == ("cpu", "int8")  # no GPU here: auto/auto resolved
        assert "_pool" not in engine.__dict__ and engine._model is None  # nothing loaded, no worker started
    finally:
        found.close()

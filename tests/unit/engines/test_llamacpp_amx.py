"""Intel AMX: llama.cpp gets use_extra_bufts = False (llama.cpp issue 20824); elsewhere nothing changes."""

from __future__ import annotations

from types import SimpleNamespace

import llama_cpp
import llama_cpp.llama
import pytest

from edge.engines import llamacpp
from edge.engines.llamacpp import LlamaCppEngine, LlamaCppOptions, cpu_has_amx
from edge.errors import EngineError
from tests.helpers.gguf_models import write_text_model

AMX_FLAGS = "fpu vme avx512_vnni amx_bf16 avx512_fp16 amx_tile amx_int8"


@pytest.mark.parametrize(("flags", "expected"), [(AMX_FLAGS, True), ("fpu vme avx2 avx512f avx512_vnni", False)])
def test_cpu_has_amx_reads_the_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Xeon\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert cpu_has_amx(str(cpuinfo)) is expected
    assert cpu_has_amx(str(tmp_path / "missing")) is False


@pytest.fixture
def model_params(tmp_path, monkeypatch):
    """Load a tiny GGUF through the engine; return the llama_model_params that reached llama.cpp."""
    current = llama_cpp.llama_cpp.llama_model_default_params  # llama.cpp's own, restored afterwards
    monkeypatch.setattr(llama_cpp.llama_cpp, "llama_model_default_params", getattr(current, "edge_defaults", current))
    seen = []

    def fake_model(*, path_model, params, verbose):
        seen.append(params)
        raise ValueError("stopped before loading")

    monkeypatch.setattr(llama_cpp.llama.internals, "LlamaModel", fake_model)
    model = write_text_model(tmp_path / "tiny.gguf")

    def load(amx: bool):
        monkeypatch.setattr(llamacpp, "cpu_has_amx", lambda: amx)
        engine = LlamaCppEngine("tiny", SimpleNamespace(model=str(model)), LlamaCppOptions(n_ctx=512))
        with pytest.raises(EngineError, match="stopped before loading"):
            engine._construct()
        return seen.pop()

    return load


def test_without_amx_the_defaults_stay(model_params):
    assert model_params(False).use_extra_bufts is True


def test_with_amx_no_extra_buffer_types(model_params):
    assert model_params(True).use_extra_bufts is False
    assert model_params(True).use_extra_bufts is False  # wrapped once, still in effect

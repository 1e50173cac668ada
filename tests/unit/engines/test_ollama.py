"""The ollama engine against the server double, through the real `ollama` client."""

from __future__ import annotations

import base64
import io
import json

import ollama
import pytest
from PIL import Image

from edge.config import ModelSpec
from edge.configure import parse_config
from edge.engines.base import CompletionRequest
from edge.engines.ollama import MLLAMA_ERROR, OllamaEngine, OllamaOptions, is_loopback, mllama_supported
from edge.errors import ConfigError, EngineError, EngineUnavailable, OutOfMemory, TransientError
from edge.extract import schemas
from tests.helpers import documents as docs
from tests.helpers.ollama_double import ONE_IMAGE, FakeModel, OllamaDouble, Reply

TRUTH = {**docs.invoice_truth(), **docs.claim_truth()}
SCHEMA = {"type": "object", "properties": {"total": {"type": ["number", "null"]}}, "required": ["total"]}


@pytest.fixture
def double():
    with OllamaDouble(values={"total": 12.5}) as server:
        yield server


def make_engine(host: str, timeout: float = 10.0, **options) -> OllamaEngine:
    spec = ModelSpec(engine="ollama", model="llama3.2-vision:11b", timeout=timeout, host=host, **options)
    return OllamaEngine("vision", spec, OllamaOptions.model_validate(spec.engine_options()))


def jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "JPEG")
    return buffer.getvalue()


def request(**changes) -> CompletionRequest:
    return CompletionRequest(prompt="Extract.", image=jpeg(), schema=SCHEMA, system="sys", **changes)


def test_complete_sends_one_image_schema_and_fixed_options(double):
    engine = make_engine(double.host)
    completion = engine.complete(request(seed=11, max_tokens=300, num_ctx=2048))
    assert json.loads(completion.text) == {"total": 12.5}
    assert completion.done_reason == "stop"
    assert completion.prompt_tokens == 34 and completion.output_tokens >= 1
    assert completion.timings_ms["load"] == pytest.approx(574.751416)
    assert completion.timings_ms["engine_total"] == pytest.approx(2254.970291)
    [body] = double.chats()
    assert body["model"] == "llama3.2-vision:11b"
    assert body["format"] == SCHEMA
    assert body["options"] == {"temperature": 0, "seed": 11, "num_ctx": 2048, "num_predict": 300}
    assert body["keep_alive"] == "5m" and body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    [image] = body["messages"][1]["images"]
    assert base64.b64decode(image) == jpeg()


def test_streaming_answer_is_joined(double):
    engine = make_engine(double.host, stream=True)
    completion = engine.complete(request())
    assert json.loads(completion.text) == {"total": 12.5}
    assert completion.prompt_tokens == 34
    assert completion.timings_ms["eval"] == pytest.approx(175.0)
    assert double.chats()[0]["stream"] is True


def test_length_cut_is_reported(double):
    double.script(Reply(content='{"total": 1', done_reason="length"))
    assert make_engine(double.host).complete(request()).done_reason == "length"


def test_provenance_takes_the_digest_from_tags(double):
    engine = make_engine(double.host)
    engine.complete(request())
    block = engine.provenance()
    assert block["digest"] == FakeModel().digest
    assert block["engine_version"] == "0.24.0"
    assert (block["quantization"], block["family"], block["parameter_size"]) == ("Q4_K_M", "mllama", "10.7B")
    assert block["options"]["temperature"] == 0 and block["options"]["seed"] == 7
    assert block["options"]["keep_alive"] == "5m"


def test_refused_connection_is_unavailable_not_an_attempt():
    server = OllamaDouble()  # never started: the port refuses
    with pytest.raises(EngineUnavailable) as caught:
        make_engine(server.host).complete(request())
    assert caught.value.code == "unreachable"
    assert "ollama serve" in caught.value.hint


def test_server_going_away_and_coming_back(double):
    engine = make_engine(double.host)
    engine.complete(request())
    double.stop()
    with pytest.raises(EngineUnavailable):
        engine.complete(request())
    double.start()
    assert json.loads(engine.complete(request()).text) == {"total": 12.5}


def test_missing_model_says_pull_and_recovers_once_pulled():
    with OllamaDouble(models=[]) as server:
        engine = make_engine(server.host)
        with pytest.raises(EngineUnavailable) as caught:
            engine.complete(request())
        assert caught.value.hint == "ollama pull llama3.2-vision:11b"
        server.pull()
        assert engine.complete(request()).text


def test_chat_404_is_unavailable_with_pull_hint(double):
    engine = make_engine(double.host)
    engine.complete(request())
    double.remove("llama3.2-vision:11b")  # removed after the engine looked
    with pytest.raises(EngineUnavailable) as caught:
        engine.complete(request())
    assert "not found" in caught.value.message
    assert caught.value.hint == "ollama pull llama3.2-vision:11b"


def test_400_is_permanent_with_ollamas_message(double):
    double.script(Reply(status=400, error=ONE_IMAGE))
    with pytest.raises(EngineError) as caught:
        make_engine(double.host).complete(request())
    assert ONE_IMAGE in caught.value.message


def test_double_refuses_two_images_like_ollama(double):
    client = ollama.Client(host=double.host, timeout=5)
    two = [base64.b64encode(jpeg()).decode()] * 2
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="llama3.2-vision:11b", messages=[{"role": "user", "content": "x", "images": two}])
    assert caught.value.status_code == 400 and caught.value.error == ONE_IMAGE
    client.close()


@pytest.mark.parametrize("status", [500, 502, 429])
def test_server_errors_are_transient(double, status):
    double.script(Reply(status=status, error="llama runner process has terminated: signal: killed"))
    with pytest.raises(TransientError) as caught:
        make_engine(double.host).complete(request())
    assert not isinstance(caught.value, OutOfMemory)


def test_out_of_memory_is_classified(double):
    double.script(Reply(status=500, error="model requires more system memory (11.3 GiB) than is available; out of memory"))
    with pytest.raises(OutOfMemory):
        make_engine(double.host).complete(request())


def test_slow_server_times_out_as_transient(double):
    engine = make_engine(double.host, timeout=0.3)
    engine.facts()
    double.delay = 2.0
    with pytest.raises(TransientError) as caught:
        engine.complete(request())
    assert caught.value.code == "timeout"


def test_dropped_connection_is_transient(double):
    double.script(Reply(drop=True))
    with pytest.raises(TransientError) as caught:
        make_engine(double.host).complete(request())
    assert caught.value.code == "connection_lost"


def test_error_inside_a_stream_is_classified(double):
    double.script(Reply(content='{"tot', stream_error="an error was encountered while running the model: unexpected EOF"))
    with pytest.raises(TransientError):
        make_engine(double.host, stream=True).complete(request())


def test_mllama_on_ollama_0_31_is_refused_with_both_fixes():
    with OllamaDouble(version="0.31.0") as server:
        engine = make_engine(server.host)
        with pytest.raises(EngineUnavailable) as caught:
            engine.complete(request())
        assert "0.31.0" in caught.value.message and "mllama" in caught.value.message
        assert "0.24.0" in caught.value.hint and "qwen2.5vl" in caught.value.hint
        assert server.chats() == []  # detected from the version: no doomed request sent


def test_mllama_error_text_from_the_server_is_recognised():
    # A double claiming 0.24.0 whose runner still fails to load mllama (e.g. a dev build).
    with OllamaDouble() as server:
        server.script(Reply(status=500, error=f"llama runner process has terminated: error loading model: {MLLAMA_ERROR}"))
        with pytest.raises(EngineUnavailable) as caught:
            make_engine(server.host).complete(request())
        assert "0.24.0" in caught.value.hint and "models.toml" in caught.value.hint


def test_double_fails_mllama_from_0_30():
    with OllamaDouble(version="0.30.0") as server:
        client = ollama.Client(host=server.host, timeout=5)
        with pytest.raises(ollama.ResponseError) as caught:
            client.chat(model="llama3.2-vision:11b", messages=[{"role": "user", "content": "hi"}])
        assert MLLAMA_ERROR in caught.value.error
        client.close()


def test_version_window():
    assert mllama_supported("0.24.0") and mllama_supported("0.7.0") and mllama_supported("0.24.3-rc1")
    assert not mllama_supported("0.30.0") and not mllama_supported("0.31.0") and not mllama_supported("0.6.8")


def test_checks_ok_at_0_24():
    with OllamaDouble(version="0.24.0") as server:
        checks = make_engine(server.host).checks()
    assert [c.level for c in checks] == ["ok"]
    assert "0.24.0" in checks[0].message


def test_checks_fail_at_0_31_with_both_fixes():
    with OllamaDouble(version="0.31.0") as server:
        checks = make_engine(server.host).checks()
    [failed] = [c for c in checks if c.level == "fail"]
    assert "0.31.0" in failed.message and MLLAMA_ERROR in failed.message
    assert "pin Ollama 0.24.0" in failed.fix and "qwen2.5vl, gemma3" in failed.fix


def test_checks_report_missing_model_and_missing_vision():
    with OllamaDouble(models=[]) as server:
        [check] = make_engine(server.host).checks()
        assert check.level == "fail" and check.fix == "ollama pull llama3.2-vision:11b"
    text_only = FakeModel(name="llama3.2-vision:11b", family="llama", capabilities=["completion"])
    with OllamaDouble(models=[text_only]) as server:
        checks = make_engine(server.host).checks()
        assert any(c.level == "fail" and "vision" in c.message for c in checks)


def test_checks_report_unreachable_server():
    [check] = make_engine(OllamaDouble().host).checks()
    assert check.level == "fail" and "cannot reach" in check.message


def test_other_vision_model_on_new_ollama_is_fine():
    qwen = FakeModel(name="qwen2.5vl:7b", family="qwen25vl")
    with OllamaDouble(version="0.31.0", models=[qwen], values={"total": 3}) as server:
        spec = ModelSpec(engine="ollama", model="qwen2.5vl:7b", host=server.host)
        engine = OllamaEngine("v", spec, OllamaOptions.model_validate(spec.engine_options()))
        assert [c.level for c in engine.checks()] == ["ok"]
        assert json.loads(engine.complete(request()).text) == {"total": 3}


def test_remote_host_is_refused_unless_allowed():
    assert is_loopback("http://127.0.0.1:11434") and is_loopback("http://localhost:1") and is_loopback("http://[::1]:2")
    assert not is_loopback("http://10.0.0.5:11434")
    models = {"vision": {"engine": "ollama", "host": "http://10.0.0.5:11434"}}
    with pytest.raises(ConfigError) as caught:
        parse_config({"models": models})
    assert "allow_remote" in str(caught.value)
    models["vision"]["allow_remote"] = True
    assert parse_config({"models": models}).models["vision"].engine_options()["allow_remote"] is True


def test_unknown_option_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        parse_config({"models": {"vision": {"engine": "ollama", "kep_alive": "1m"}}})
    assert "kep_alive" in str(caught.value)


def test_evict_unloads_and_ps_reports_vram(double):
    engine = make_engine(double.host)
    assert engine.vram_used_mb() == 0
    engine.complete(request())
    assert engine.vram_used_mb() == FakeModel().size // (1024 * 1024)
    engine.evict()
    assert engine.vram_used_mb() == 0
    engine.close()  # the server keeps its keep_alive policy: close sends nothing
    assert double.requests[-1].path == "/api/ps"


def test_checks_warn_about_the_version_before_the_pull():
    with OllamaDouble(version="0.31.0", models=[]) as server:
        checks = make_engine(server.host).checks()
    assert [c.level for c in checks] == ["fail", "fail"]
    assert checks[0].fix == "ollama pull llama3.2-vision:11b"
    assert "0.31.0" in checks[1].message and "pin Ollama 0.24.0" in checks[1].fix


@pytest.mark.parametrize("name", sorted(schemas.BUILTIN))
def test_double_answers_fit_the_requested_schema(name):
    import jsonschema

    spec = schemas.resolve(name, "extract", None)
    values = {**TRUTH, "objects": ["chart"], "caption": "c", "items": [{"description": "x", "total": 1.0}]}
    with OllamaDouble(values=values) as server:
        request = CompletionRequest(prompt="p", image=jpeg(), schema=spec.format)
        answer = json.loads(make_engine(server.host).complete(request).text)
    jsonschema.validate(answer, spec.format)
    assert {key for key in answer if key != "_confidence"} == set(spec.fields)

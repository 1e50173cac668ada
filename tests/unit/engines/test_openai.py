"""The openai engine against an OpenAI-API double on 127.0.0.1: what llama-cpp-python's
server cannot show (vLLM version probing, json_schema refused, 429/503, fingerprints)."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import httpx
import pytest
from pydantic import ValidationError

from edge.engines.base import CompletionRequest
from edge.engines.openai import OpenAIEngine, OpenAIOptions, error_message, retry_wait
from edge.errors import EngineError, EngineUnavailable, TransientError
from tests.helpers import wait_for
from tests.helpers.openai_double import Fault, OpenAIDouble

SCHEMA = {"type": "object", "properties": {"total": {"type": ["number", "null"]}, "vendor": {"type": ["string", "null"]}},
          "required": ["total", "vendor"]}


def engine_for(double: OpenAIDouble, model: str | None = "test-model", workers: int = 1, timeout: float = 10.0,
               **options) -> OpenAIEngine:
    spec = SimpleNamespace(model=model, workers=workers, timeout=timeout)
    return OpenAIEngine("remote", spec, OpenAIOptions(base_url=double.base_url, **options))


def request(**changes) -> CompletionRequest:
    return CompletionRequest(**{"prompt": "Extract the total.", "schema": SCHEMA, "system": "You extract.", **changes})


@pytest.fixture
def double():
    with OpenAIDouble(values={"total": 12.5, "vendor": "ACME"}) as server:
        yield server


# -- structured output: detected once, in the order ---------------------------------------


@pytest.mark.parametrize("server, version, owned_by, refuse, mode, never_sent", [
    ("vllm", "0.12.0", "vllm", set(), "json_schema", ["structured_outputs", "guided_json"]),
    ("vllm", "0.12.0", "vllm", {"json_schema"}, "structured_outputs", ["guided_json"]),
    ("vllm", "0.11.2", "vllm", {"json_schema"}, "guided_json", ["structured_outputs"]),
    ("llama.cpp", "6000", "llamacpp", {"json_schema"}, "json_object", ["structured_outputs", "guided_json"]),
    (None, "", "organization_owner", {"json_schema"}, "json_object", ["structured_outputs", "guided_json"]),
])
def test_structured_output_mode_falls_back_in_order(server, version, owned_by, refuse, mode, never_sent):
    with OpenAIDouble(server=server, version=version, owned_by=owned_by, values={"total": 3.0}) as double:
        double.refuse = refuse
        engine = engine_for(double)
        answer = engine.complete(request())
        assert engine.facts().mode == mode and set(engine.facts().refused) == refuse
        assert json.loads(answer.text)["total"] == 3.0
        last = double.chats()[-1].body
        sent = json.dumps([seen.body for seen in double.chats()])
        assert all(f'"{name}"' not in sent for name in never_sent)
        if mode == "json_object":  # the schema goes into the prompt too
            assert "follows this JSON Schema" in last["messages"][-1]["content"]
            assert last["response_format"]["type"] == "json_object"
        engine.complete(request())
        probes = [seen for seen in double.chats() if seen.body.get("max_tokens") == 1]
        assert len(probes) == len(refuse) + (mode != "json_object")  # learnt once, then cached


def test_structured_output_can_be_pinned_in_models_toml(double):
    engine = engine_for(double, structured_output="guided_json")
    engine.complete(request())
    [chat] = double.chats()  # no probing at all
    assert chat.body["guided_json"]["properties"]["total"] and "response_format" not in chat.body


def test_request_carries_image_temperature_seed_and_bounded_schema(double):
    engine = engine_for(double)
    engine.complete(request(image=b"\xff\xd8\xff\xe0fake-jpeg", temperature=0.4, seed=11, max_tokens=300))
    body = double.chats()[-1].body
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You extract."}
    image, text = user["content"]
    assert image["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
    assert text == {"type": "text", "text": "Extract the total."}
    assert (body["temperature"], body["seed"], body["max_tokens"], body["stream"]) == (0.4, 11, 300, False)
    schema = body["response_format"]["json_schema"]["schema"]
    assert {"type": "string", "maxLength": 256} in schema["properties"]["vendor"]["anyOf"]


# -- provenance -----------------------------------------------------------------------------------


def test_provenance_names_the_served_id_version_fingerprint_and_host():
    with OpenAIDouble(server="vllm", version="0.12.0", models=("Qwen/Qwen2.5-VL-7B-Instruct",), values={}) as double:
        engine = engine_for(double, model=None)  # the only model served is taken
        engine.complete(request())
        block = engine.provenance()
    assert block["name"] == "Qwen/Qwen2.5-VL-7B-Instruct" and block["engine"] == "openai"
    assert block["engine_version"] == "vllm 0.12.0" and block["server"] == "vllm"
    assert block["system_fingerprint"] == "fp_edge_double"
    assert block["host"] == f"127.0.0.1:{double.port}" and block["structured_output"] == "json_schema"


def test_llama_server_props_say_whether_it_takes_images():
    with OpenAIDouble(server="llama.cpp", owned_by="llamacpp", version="6100", vision=False) as double:
        engine = engine_for(double)
        assert engine.facts().engine_version == "llama.cpp b6100" and engine.facts().vision is False
        with pytest.raises(EngineError) as caught:
            engine.complete(request(image=b"\xff\xd8\xff"))
    assert caught.value.code == "no_vision" and not double.chats("image_url")


def test_a_model_not_served_pauses_with_the_served_ids(double):
    with pytest.raises(EngineUnavailable) as caught:
        engine_for(double, model="qwen2.5-vl").complete(request())
    assert caught.value.code == "model_missing" and "served: test-model" in caught.value.message


# -- failures ---------------------------------------------------------------------------------------


def test_429_with_retry_after_and_503_are_waited_out(double):
    double.script(Fault(429, "Rate limit reached", retry_after="1", match="Extract"),
                  Fault(503, "Service Unavailable: loading", match="Extract"))
    answer = engine_for(double).complete(request())
    assert json.loads(answer.text)["total"] == 12.5
    busy, unavailable, ok = double.chats("Extract")
    assert (busy.status, unavailable.status, ok.status) == (429, 503, 200)
    assert unavailable.at - busy.at >= 1.0  # Retry-After: 1 was honoured


def test_429_beyond_the_retries_is_transient(double):
    double.script(*[Fault(429, "Rate limit reached", retry_after="0", match="Extract")] * 3)
    with pytest.raises(TransientError) as caught:
        engine_for(double, retries=2).complete(request())
    assert "429" in caught.value.message and len(double.chats("Extract")) == 3


def test_retry_wait_honours_retry_after_with_jitter_and_cap():
    import random

    rng = random.Random(1)
    waits = [retry_wait("2", 0, 60, rng) for _ in range(50)]
    assert all(2.0 <= wait <= 2.5 for wait in waits) and len(set(waits)) > 1
    assert 0.5 <= retry_wait(None, 0, 60, rng) <= 0.625 and 4.0 <= retry_wait(None, 3, 60, rng) <= 5.0
    assert retry_wait("3600", 0, 30, rng) <= 30 * 1.25
    assert retry_wait("Wed, 21 Oct 2015 07:28:00 GMT", 0, 60, rng) == 0.0  # a date in the past


def test_400_is_permanent_with_the_servers_message(double):
    message = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens."
    double.script(Fault(400, message, match="Extract"))
    with pytest.raises(EngineError) as caught:
        engine_for(double).complete(request())
    assert message in caught.value.message and caught.value.code == "context_overflow"


def test_refused_connection_pauses_the_lane():
    double = OpenAIDouble()  # never started: the port refuses connections
    with pytest.raises(EngineUnavailable) as caught:
        engine_for(double).complete(request())
    assert caught.value.code == "unreachable" and f"127.0.0.1:{double.port}" in caught.value.message


def test_dns_failure_pauses_the_lane():
    def transport(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=req)

    engine = engine_for(OpenAIDouble())
    engine._client = httpx.Client(transport=httpx.MockTransport(transport))  # no lookup leaves the machine
    with pytest.raises(EngineUnavailable) as caught:
        engine.facts()
    assert caught.value.code == "unreachable" and "Name or service not known" in caught.value.message


def test_server_going_away_and_coming_back(double):
    engine = engine_for(double)
    engine.complete(request())
    double.stop()
    with pytest.raises(EngineUnavailable):
        engine.complete(request())
    double.start()
    assert json.loads(engine.complete(request()).text)["vendor"] == "ACME"


def test_length_cut_is_reported_for_the_repair_path(double):
    assert engine_for(double).complete(request(max_tokens=4)).done_reason == "length"


def test_error_message_reads_openai_fastapi_and_plain_bodies():
    def answer(status, **kwargs):
        return httpx.Response(status, **kwargs)

    assert error_message(answer(400, json={"error": {"message": "bad image", "type": "x"}})) == "bad image"
    assert error_message(answer(422, json={"detail": [{"loc": ["body", "seed"], "msg": "not an int"}]})) \
        == "seed: not an int"
    assert error_message(answer(500, text="boom\n\nTraceback (most recent call last): ...")) == "boom"


# -- concurrency ------------------------------------------------------------------------------------


def test_workers_requests_in_flight_and_never_more(double):
    engine = engine_for(double, workers=4)
    engine.facts()
    double.hold()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(engine.complete(request()).text)) for _ in range(10)]
    for thread in threads:
        thread.start()
    # 4 requests at the server and the other 6 callers queued in edge: nothing else can be in flight
    try:
        wait_for(lambda: double.in_flight == 4 and waiting_on(engine._slots) == 6, 30, what="4 in flight, 6 waiting")
    finally:
        double.release()
        for thread in threads:
            thread.join(timeout=60)
    assert len(results) == 10 and double.peak == 4


def waiting_on(semaphore: threading.Semaphore) -> int:
    """Threads blocked in acquire() (CPython's Semaphore waits on a Condition)."""
    return len(semaphore._cond._waiters)


# -- where files may go, and the key ---------------------------------------------------------------


@pytest.mark.parametrize("url, flags, problem", [
    ("http://10.1.2.3:8000/v1", {}, "Set allow_remote = true"),
    ("http://gpu-box.lan:8000/v1", {"allow_remote": True}, "allow_insecure_http = true"),
    ("https://user:pw@gpu-box.lan/v1", {"allow_remote": True}, "must not carry credentials"),
    ("ftp://127.0.0.1/v1", {}, "not an http(s) URL"),
])
def test_remote_hosts_are_opt_in(url, flags, problem):
    with pytest.raises(ValidationError) as caught:
        OpenAIOptions(base_url=url, **flags)
    assert problem in str(caught.value)


@pytest.mark.parametrize("url, flags", [
    ("http://127.0.0.1:8000/v1", {}), ("http://localhost:1234/v1", {}), ("http://[::1]:8000/v1", {}),
    ("https://gpu-box.lan/v1", {"allow_remote": True}),
    ("http://10.1.2.3:8000/v1", {"allow_remote": True, "allow_insecure_http": True}),
])
def test_loopback_and_explicitly_allowed_hosts_pass(url, flags):
    assert OpenAIOptions(base_url=url, **flags).base_url == url


def test_key_from_env_goes_only_into_the_authorization_header(monkeypatch):
    monkeypatch.setenv("EDGE_TEST_OPENAI_KEY", "sk-edge-test-0123456789")
    with OpenAIDouble(api_key="sk-edge-test-0123456789") as double:
        engine = engine_for(double, api_key_env="EDGE_TEST_OPENAI_KEY")
        engine.complete(request())
        checks = engine.checks()
        visible = json.dumps([engine.provenance(), engine.options.model_dump(), [c.__dict__ for c in checks]])
    assert all(seen.headers["authorization"] == "Bearer sk-edge-test-0123456789" for seen in double.requests)
    assert "sk-edge-test" not in visible and checks[0].level == "ok"


def test_key_file_relative_to_systemd_credentials(tmp_path, monkeypatch):
    (tmp_path / "openai-key").write_text("sk-from-loadcredential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    with OpenAIDouble(api_key="sk-from-loadcredential") as double:
        engine_for(double, api_key_file="openai-key").complete(request())
    assert double.chats()[-1].headers["authorization"] == "Bearer sk-from-loadcredential"


def test_missing_or_wrong_key_pauses_with_a_hint(monkeypatch):
    monkeypatch.delenv("EDGE_TEST_OPENAI_KEY", raising=False)
    with OpenAIDouble(api_key="sk-right") as double:
        with pytest.raises(EngineUnavailable) as missing:
            engine_for(double, api_key_env="EDGE_TEST_OPENAI_KEY").complete(request())
        monkeypatch.setenv("EDGE_TEST_OPENAI_KEY", "sk-wrong")
        with pytest.raises(EngineUnavailable) as wrong:
            engine_for(double, api_key_env="EDGE_TEST_OPENAI_KEY").complete(request())
    assert missing.value.code == "api_key_missing" and "EDGE_TEST_OPENAI_KEY" in missing.value.message
    assert wrong.value.code == "unauthorized" and "sk-wrong" not in str(wrong.value)  # the double echoes it
    assert "Incorrect API key provided: ***" in wrong.value.message


def test_key_env_and_file_together_is_a_config_error():
    with pytest.raises(ValidationError, match="not both"):
        OpenAIOptions(api_key_env="A", api_key_file="b")


def test_doctor_checks_name_reachability_listing_images_and_mode():
    with OpenAIDouble(server="vllm", version="0.12.0") as double:
        double.refuse = {"json_schema"}
        checks = engine_for(double).checks()
    text = "\n".join(f"{c.level} {c.message}" for c in checks)
    assert "ok reachable: vllm 0.12.0; test-model is listed" in text
    assert "structured output: structured_outputs (the server refused json_schema" in text
    assert "ok test-model takes images (a test image added 64 prompt tokens)" in text


def test_doctor_tells_a_model_that_refuses_or_drops_images():
    with OpenAIDouble(server=None, owned_by="organization_owner", vision=False) as double:
        [_, dropped, _] = engine_for(double).checks()  # counts no tokens for the image
        double.refuse = {"image"}
        engine = engine_for(double)
        [_, refused, _] = engine.checks()
        with pytest.raises(EngineError) as caught:
            engine.complete(request(image=b"\xff\xd8\xff"))
    assert dropped.level == "warn" and "counted no prompt tokens for a test image" in dropped.message
    assert refused.level == "warn" and "Image input is not supported for this model" in refused.message
    assert caught.value.code == "no_vision"  # refused up front, not one failing request per page

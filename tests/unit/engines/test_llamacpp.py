"""The llamacpp engine on real llama.cpp: a tiny random vision pair written by the test."""

from __future__ import annotations

import io
import json
import logging
import threading
from types import SimpleNamespace

import gguf
import jsonschema
import llama_cpp
import pytest
from PIL import Image, ImageDraw

from edge.engines import llamacpp_grammar
from edge.engines.base import CompletionRequest
from edge.engines.llamacpp import LlamaCppEngine, LlamaCppOptions, bounded_schema, grammar_for
from edge.errors import ConfigError, EngineError, EngineUnavailable
from edge.extract import schemas
from tests.helpers import wait_for
from tests.helpers.documents import font
from tests.helpers.gguf_models import N_EMBD, write_mmproj, write_text_model, write_vision_pair

CLAIM = schemas.resolve("claim_form", "extract", SimpleNamespace(schemas={}))


def engine_for(model, mmproj=None, **options) -> LlamaCppEngine:
    opts = LlamaCppOptions(mmproj=str(mmproj) if mmproj else None, n_ctx=options.pop("n_ctx", 2048), **options)
    return LlamaCppEngine("tiny", SimpleNamespace(model=str(model)), opts)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return write_vision_pair(tmp_path_factory.mktemp("gguf"))


@pytest.fixture(scope="module")
def vision(pair):
    engine = engine_for(*pair)
    yield engine
    engine.close()


def drawn(index: int) -> bytes:
    image = Image.new("RGB", (320 + 17 * index, 200 + 9 * index), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), f"Claim CLM-{1000 + index}", fill="black", font=font(24))
    draw.text((10, 60), f"Total {index * 13.5:,.2f} EUR", fill="black", font=font(24))
    buffer = io.BytesIO()
    image.save(buffer, "PNG" if index % 2 else "JPEG")
    return buffer.getvalue()


def test_twenty_drawn_images_give_schema_valid_json(vision):
    validator = jsonschema.Draft202012Validator(CLAIM.format)
    for index in range(20):
        request = CompletionRequest(prompt="Extract the claim fields.", image=drawn(index), schema=CLAIM.format,
                                    max_tokens=1536)
        answer = vision.complete(request)
        assert answer.done_reason == "stop", answer.raw
        validator.validate(json.loads(answer.text))
        assert answer.prompt_tokens > 16  # the image's 16 tokens (32 px / 8 px patches) went into the context


def test_same_request_same_answer(vision):
    request = CompletionRequest(prompt="Extract.", image=drawn(3), schema=CLAIM.format, max_tokens=1536)
    assert vision.complete(request).text == vision.complete(request).text


def test_native_log_noise_goes_to_debug_logging_not_stderr(vision, capfd, caplog):
    with caplog.at_level(logging.DEBUG, logger="edge.llamacpp"):
        vision.complete(CompletionRequest(prompt="x", image=drawn(1), schema=CLAIM.format, max_tokens=1536))
    captured = capfd.readouterr()
    assert "clip_encode" not in captured.err and "image slice encoded" not in captured.err
    assert any(r.levelno == logging.DEBUG and r.name == "edge.llamacpp" for r in caplog.records)


def test_text_only_model_structures_text(pair):
    engine = engine_for(pair[0])
    try:
        answer = engine.complete(CompletionRequest(prompt="Total 12.50", schema=CLAIM.format, max_tokens=1536))
        jsonschema.validate(json.loads(answer.text), CLAIM.format)
        with pytest.raises(EngineError, match="text-only"):
            engine.complete(CompletionRequest(prompt="x", image=drawn(0), schema=CLAIM.format))
    finally:
        engine.close()


def test_schema_that_cannot_be_a_grammar_fails_loudly_before_loading(pair):
    engine = engine_for(*pair)
    remote = {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}
    with pytest.raises(ConfigError, match="cannot be turned into a llama.cpp grammar"):
        engine.complete(CompletionRequest(prompt="x", schema=remote))
    assert not engine.loaded()
    with pytest.raises(ConfigError, match="silently fall back"):
        engine.check_schema({"type": "object", "properties": {"a": {"not": {"type": "string"}}}})


def test_grammar_bounds_strings_even_in_type_lists():
    schema = {"type": "object", "properties": {"name": {"type": ["string", "null"]},
                                               "tags": {"type": "array", "items": {"type": "string"}}}}
    bounded = bounded_schema(schema, max_string=7, max_items=3)
    assert bounded["properties"]["name"] == {"anyOf": [{"type": "string", "maxLength": 7}, {"type": "null"}]}
    assert bounded["properties"]["tags"]["maxItems"] == 3
    gbnf = grammar_for(schema, max_string=7, max_items=3)
    assert "char*" not in gbnf  # no unbounded string left for a model to ramble in
    assert "string ::=" not in gbnf or "char*" not in gbnf.split("string ::=")[1].splitlines()[0]


def test_every_builtin_schema_becomes_a_grammar():
    for name in schemas.BUILTIN:
        spec = schemas.resolve(name, "extract", SimpleNamespace(schemas={}))
        assert "root ::=" in grammar_for(spec.format)


def test_missing_model_file_fails_at_start(tmp_path):
    engine = engine_for(tmp_path / "absent.gguf")
    [check] = engine.checks()
    assert check.level == "fail" and "model file not found" in check.message and "absent.gguf" in check.message
    with pytest.raises(EngineUnavailable, match="absent.gguf"):
        engine.complete(CompletionRequest(prompt="x"))


def test_missing_mmproj_fails_at_start(pair, tmp_path):
    [check] = engine_for(pair[0], tmp_path / "nope-mmproj.gguf").checks()
    assert check.level == "fail" and "mmproj file not found" in check.message


def test_mmproj_that_does_not_match_the_model_fails_clearly(pair, tmp_path):
    wrong = write_mmproj(tmp_path / "wrong-mmproj.gguf", text_embd=N_EMBD // 2)
    engine = engine_for(pair[0], wrong)
    [check] = engine.checks()
    assert check.level == "fail"
    assert "does not match" in check.message and str(N_EMBD // 2) in check.message and str(N_EMBD) in check.message
    with pytest.raises(EngineError, match="does not match"):
        engine.load()


def test_mllama_gguf_is_refused_with_the_alternatives(tmp_path):
    path = tmp_path / "llama-3.2-vision.gguf"
    writer = gguf.GGUFWriter(str(path), "mllama")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    [check] = engine_for(path).checks()
    assert check.level == "fail" and "Llama 3.2 Vision" in check.message
    assert "Ollama" in check.fix and "Qwen2.5-VL" in check.fix


def test_not_a_gguf_is_a_clear_error(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"definitely not a model")
    [check] = engine_for(path).checks()
    assert check.level == "fail" and "not a readable GGUF" in check.message


def test_good_pair_passes_checks_and_uses_cpu_layers_on_a_cpu_build(pair):
    engine = engine_for(*pair)
    [check] = engine.checks()
    assert check.level == "ok", check.message
    assert engine.gpu_layers() == (-1 if llama_cpp.llama_supports_gpu_offload() else 0)
    assert engine_for(*pair, n_gpu_layers=5).gpu_layers() == 5
    assert engine.family() == "llava-1.5"


def test_over_budget_image_request_is_refused_with_numbers(pair):
    engine = engine_for(*pair, n_ctx=256)
    try:
        with pytest.raises(EngineError, match=r"16 visual \+ \d+ prompt \+ 250 max output = \d+ tokens; n_ctx 256"):
            engine.complete(CompletionRequest(prompt="Extract.", image=drawn(0), max_tokens=250))
    finally:
        engine.close()


def test_over_budget_text_request_is_refused_with_numbers(pair):
    engine = engine_for(pair[0], n_ctx=256)
    try:
        with pytest.raises(EngineError, match=r"prompt \+ 300 max output = \d+ tokens > n_ctx 256"):
            engine.complete(CompletionRequest(prompt="Total 12.50", max_tokens=300))
    finally:
        engine.close()


def test_loads_lazily_once_and_closes_after_idle(pair):
    engine = engine_for(*pair, idle_s=60)
    assert not engine.loaded()
    first = engine.complete(CompletionRequest(prompt="a", image=drawn(2), schema=CLAIM.format, max_tokens=1536))
    assert engine.loaded() and first.timings_ms["load"] > 0
    second = engine.complete(CompletionRequest(prompt="a", image=drawn(2), schema=CLAIM.format, max_tokens=1536))
    assert second.timings_ms["load"] == 0
    assert not engine.close_if_idle(now=engine.last_used + 30)
    assert engine.close_if_idle(now=engine.last_used + 61) and not engine.loaded()
    third = engine.complete(CompletionRequest(prompt="a", image=drawn(2), schema=CLAIM.format, max_tokens=1536))
    assert third.text == first.text
    engine.close()


def test_provenance_names_engine_version_quantization_and_mmproj(vision, pair):
    block = vision.provenance()
    assert block["engine"] == "llamacpp" and llama_cpp.__version__ in block["engine_version"]
    assert block["quantization"] == "F32" and block["mmproj"] == pair[1].name
    assert block["digest"].startswith("sha256:") and block["options"]["seed"] == 7


def test_text_model_without_chat_template_gets_a_format(tmp_path):
    bare = write_text_model(tmp_path / "bare.gguf", chat_template=None)
    engine = engine_for(bare)
    try:
        answer = engine.complete(CompletionRequest(prompt="Total 1", schema=CLAIM.format, max_tokens=1536))
        jsonschema.validate(json.loads(answer.text), CLAIM.format)
    finally:
        engine.close()


def test_config_with_a_schema_llamacpp_cannot_constrain_fails_at_load(tmp_path, pair):
    from edge.configure import load_config

    schema = tmp_path / "odd.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"},
                                                                   "b": {"not": {"type": "string"}}}}))
    config = tmp_path / "models.toml"
    body = (f'[models.tiny]\nengine = "llamacpp"\nmodel = "{pair[0]}"\n'
            f'[schemas.odd]\nfile = "{schema}"\n'
            '[[routes]]\ntask = "extract"\nschema = "odd"\nmodel = "tiny"\n')
    config.write_text(body)
    with pytest.raises(ConfigError, match="routes route1: schema odd: .*cannot be turned into a llama.cpp grammar"):
        load_config(config)
    config.write_text(body.replace('schema = "odd"', 'schema = "claim_form"'))
    assert load_config(config).routes[0].schema_name == "claim_form"


def test_idle_model_is_freed_by_its_reaper(pair):
    engine = engine_for(pair[0], idle_s=0.2)
    before = set(threading.enumerate())
    try:
        engine.complete(CompletionRequest(prompt="a", schema=CLAIM.format, max_tokens=1536))
        [reaper] = [t for t in threading.enumerate() if t not in before and t.name.startswith("llamacpp-idle")]
        assert engine.loaded() and reaper.daemon
        wait_for(lambda: not engine.loaded(), timeout=10, what="idle unload")
        wait_for(lambda: not reaper.is_alive(), timeout=10, what="reaper to end with the model")
    finally:
        engine.close()


def test_grammar_first_sampling_answers_exactly_like_plain_llama_cpp_python(pair, monkeypatch):
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import MTMDChatHandler

    from edge.engines.llamacpp import _messages

    monkeypatch.setattr(llamacpp_grammar, "GRAMMAR_FIRST_MIN_VOCAB", 0)  # the tiny vocabulary would skip it
    vision = engine_for(*pair)
    sampled = []
    monkeypatch.setattr(llamacpp_grammar.GrammarFirstGreedy, "sample",
                        lambda self, ctx, idx=-1, real=llamacpp_grammar.GrammarFirstGreedy.sample: sampled.append(1)
                        or real(self, ctx, idx))
    plain = Llama(str(pair[0]), n_ctx=2048, seed=7, verbose=False,
                  chat_handler=MTMDChatHandler(clip_model_path=str(pair[1]), verbose=False))
    try:
        schema = bounded_schema(CLAIM.format)
        for index in (0, 5, 11):
            request = CompletionRequest(prompt=f"Extract claim {index}.", image=drawn(index), schema=CLAIM.format,
                                        max_tokens=1536)
            expected = plain.create_chat_completion(
                messages=_messages(request, request.image), temperature=0.0, seed=7, max_tokens=1536,
                repeat_penalty=1.0, response_format={"type": "json_object", "schema": schema})
            assert vision.complete(request).text == expected["choices"][0]["message"]["content"]
        assert sampled  # edge's sampler did the work
    finally:
        plain.close()
        vision.close()


def test_over_budget_image_of_a_scalable_family_is_downscaled_not_cut(pair, caplog):
    big = io.BytesIO()
    Image.new("RGB", (2000, 2000), "white").save(big, "PNG")
    engine = engine_for(*pair, n_ctx=2048, family="qwen2-vl")  # budget as Qwen2-VL would count it
    try:
        with caplog.at_level(logging.INFO, logger="edge.llamacpp"):
            answer = engine.complete(CompletionRequest(prompt="Extract.", image=big.getvalue(), schema=CLAIM.format,
                                                       max_tokens=1024))
        jsonschema.validate(json.loads(answer.text), CLAIM.format)
        [note] = [r.getMessage() for r in caplog.records if "downscaling" in r.getMessage()]
        assert note.startswith("downscaling 2000x2000 to ") and "n_ctx 2048: fits" in note
    finally:
        engine.close()

"""The scripted engine that the eval and pipeline tests lean on: it must answer the right
document, cycle per-entry answers, report tokens only when told, and refuse the unknown."""

import io
import json

import pytest
from PIL import Image, ImageDraw

from edge.configure import parse_config
from edge.engines.base import Completion, CompletionRequest, EngineSet
from edge.errors import ConfigError, EngineError


def _page(text, size=(600, 800), jpeg=False):
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for row in range(12):
        draw.text((40, 40 + row * 50), f"{text} {row}" * (1 + row % 3), fill="black", font_size=28)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if jpeg else "PNG")
    return image, buffer.getvalue()


def _engine(tmp_path, entries):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(entries))
    config = parse_config({"models": {"fake": {"engine": "scripted", "script": str(script)}}})
    return EngineSet(config).get("fake")


def test_answers_the_document_it_is_shown_even_resized_and_reencoded(tmp_path):
    for name in ("alpha", "bravo", "charlie"):
        _page(name)[0].save(tmp_path / f"{name}.png")
    engine = _engine(tmp_path, [{"image": f"{n}.png", "answer": {"who": n}} for n in ("alpha", "bravo", "charlie")])
    for name in ("charlie", "alpha", "bravo"):
        image, _ = _page(name)
        small = io.BytesIO()
        image.resize((300, 400)).save(small, format="JPEG", quality=60)
        answer = engine.complete(CompletionRequest(prompt="extract", image=small.getvalue()))
        assert json.loads(answer.text) == {"who": name}


def test_answers_cycle_per_entry_and_tokens_are_reported_only_when_scripted(tmp_path):
    engine = _engine(tmp_path, [{"prompt_contains": "claim", "answers": [{"n": 1}, {"n": 2}], "tokens": [50, 5]},
                                {"answer": "plain text"}])
    got = [engine.complete(CompletionRequest(prompt="a claim form")) for _ in range(3)]
    assert [json.loads(c.text)["n"] for c in got] == [1, 2, 1]
    assert (got[0].prompt_tokens, got[0].output_tokens) == (50, 5)
    other = engine.complete(CompletionRequest(prompt="an invoice"))
    assert other.text == "plain text" and other.prompt_tokens is None


def test_enqueued_answers_come_first_and_exceptions_are_raised(tmp_path):
    engine = _engine(tmp_path, [{"answer": {"from": "script"}}])
    engine.enqueue({"from": "queue"}, EngineError("refused"), Completion(text="cut", done_reason="length"))
    request = CompletionRequest(prompt="x", seed=11, temperature=0.2)
    assert json.loads(engine.complete(request).text) == {"from": "queue"}
    with pytest.raises(EngineError, match="refused"):
        engine.complete(request)
    assert engine.complete(request).done_reason == "length"
    assert json.loads(engine.complete(request).text) == {"from": "script"}
    assert [(r.seed, r.temperature) for r in engine.requests] == [(11, 0.2)] * 4


def test_no_matching_answer_is_an_engine_error_and_a_bad_script_a_config_error(tmp_path):
    _page("alpha")[0].save(tmp_path / "alpha.png")
    engine = _engine(tmp_path, [{"image": "alpha.png", "answer": {}}])
    blank = io.BytesIO()
    Image.new("RGB", (600, 800), "black").save(blank, format="PNG")
    with pytest.raises(EngineError, match="no answer"):
        engine.complete(CompletionRequest(prompt="x", image=blank.getvalue()))
    (tmp_path / "bad.json").write_text("{}")
    config = parse_config({"models": {"bad": {"engine": "scripted", "script": str(tmp_path / "bad.json")}}})
    with pytest.raises(ConfigError, match="JSON list"):
        EngineSet(config).get("bad")

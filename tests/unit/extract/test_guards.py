"""What a model writes that cannot be a value: its field's description, a runaway number.

The vision tier gets a scripted model that answers every field with its own
description; the ocr-small tier gets its real text model replaced by one that
does the same; a real Gemma 3 270M is asked to copy a 20-digit number under
the grammar. None of it may come out as a value.
"""

from __future__ import annotations

import json

import pytest

from edge.configure import parse_config
from edge.engines.base import Completion, CompletionRequest
from edge.engines.llamacpp import LlamaCppEngine, LlamaCppOptions
from edge.extract import choose, schemas, validate
from edge.pipeline import Pipeline, stat_job
from tests.helpers import documents as docs
from tests.helpers import read_sidecar, run_pipeline

BUILTIN = sorted(schemas.BUILTIN)


def descriptions(name: str) -> dict[str, str]:
    spec = schemas.resolve(name, "extract", None)
    return {field: prop["description"] for field, prop in spec.json_schema["properties"].items()
            if prop.get("description")}


@pytest.mark.parametrize("schema", BUILTIN)
def test_a_vision_model_answering_with_descriptions_gets_nulls_and_reasons(schema, tmp_path):
    page = tmp_path / "page.png"
    docs.draw_invoice().save(page)
    properties = schemas.resolve(schema, "extract", None).json_schema["properties"]
    copied = {field: text for field, text in descriptions(schema).items()
              if '"string"' in json.dumps(properties[field]) and '"array"' not in json.dumps(properties[field])}
    strings = list(copied)
    assert strings, schema  # every built-in schema has text fields a model could fill with their description
    script = tmp_path / "answers.json"
    script.write_text(json.dumps([{"answer": copied}]))
    config = parse_config({"models": {"vision": {"engine": "scripted", "script": str(script)}},
                           "routes": [{"media": ["image"], "task": "extract", "schema": schema, "model": "vision"}]})
    doc = run_pipeline(config, page)
    for field in strings:
        assert doc["result"][field] is None, (field, doc["result"][field])
    flagged = {r["field"] for r in doc["review"]["reasons"] if r["code"] == "description_copied"}
    assert flagged == set(strings) and doc["review"]["needs_review"]


class DescriptionWriter:
    """Stands in for the ocr engine's text model: answers every field with its description."""

    def __init__(self, schema: str):
        self.answer = descriptions(schema)
        self.calls = 0

    def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        fields = list(json.loads(json.dumps(request.schema))["properties"]) if request.schema else []
        return Completion(json.dumps({name: self.answer.get(name, name) for name in fields}))


@pytest.mark.parametrize("schema", BUILTIN)
def test_ocr_small_never_returns_a_description_even_when_its_model_writes_one(schema, tmp_path, monkeypatch):
    page = tmp_path / "page.png"
    (docs.draw_claim_form() if schema == "claim_form" else docs.draw_invoice()).save(page)
    monkeypatch.setattr(choose, "MARGIN", 1000.0)  # every field with two candidates goes to the model
    writer = DescriptionWriter(schema)
    config = parse_config({"models": {"ocr-small": {"engine": "ocr"}},
                           "routes": [{"media": ["image"], "task": "extract", "schema": schema,
                                       "tiers": ["ocr-small"]}]})
    pipeline = Pipeline(config)
    try:
        pipeline.engines.get("ocr-small-text").complete = writer.complete  # the text model the ocr model implies
        job = stat_job(page, page.parent)
        outcome = pipeline.run(job)
        pipeline.write(job, outcome)
    finally:
        pipeline.engines.close()
    doc = read_sidecar(page)
    copied = {validate._squash(text) for text in descriptions(schema).values()}
    for field, value in doc["result"].items():
        assert not (isinstance(value, str) and validate._squash(value) in copied), (field, value)
    asked = doc["tiers"][0]["evidence"]["model_asked"]
    unusable = {r["field"] for r in doc["review"]["reasons"] if r["code"] == "invalid_choice"}
    assert unusable == set(asked) and all(doc["result"][field] is None for field in asked)
    assert writer.calls == (1 if asked else 0)


def test_a_runaway_number_from_any_engine_is_nulled_and_flagged(tmp_path):
    page = tmp_path / "page.png"
    docs.draw_invoice().save(page)
    script = tmp_path / "answers.json"
    script.write_text('[{"answer": "{\\"total_amount\\": 12345678901234567890, \\"invoice_number\\": \\"INV-1\\"}"}]')
    config = parse_config({"models": {"vision": {"engine": "scripted", "script": str(script)}},
                           "routes": [{"media": ["image"], "task": "extract", "schema": "invoice", "model": "vision"}]})
    doc = run_pipeline(config, page)
    assert doc["result"]["total_amount"] is None and doc["result"]["invoice_number"] == "INV-1"
    assert [r["field"] for r in doc["review"]["reasons"] if r["code"] == "runaway_number"] == ["total_amount"]


@pytest.mark.slow
def test_gemma_cannot_write_twenty_digits_under_the_grammar():
    from types import SimpleNamespace

    engine = LlamaCppEngine("gemma", SimpleNamespace(model="embedded:gemma3-270m"), LlamaCppOptions(n_ctx=1024))
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    try:
        completion = engine.complete(CompletionRequest(
            prompt='Reply with this JSON object exactly: {"total": 12345678901234567890.123456789}',
            schema=schema, max_tokens=48))
    finally:
        engine.close()
    total = json.loads(completion.text)["total"]
    integer, _, decimals = completion.text.split(":", 1)[1].strip(" }").partition(".")
    print("Gemma wrote", completion.text)
    assert len(integer.lstrip("-")) <= 12 and len(decimals) <= 4
    assert abs(total) < 10**12

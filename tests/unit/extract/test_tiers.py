"""The ocr-small tier and escalation between tiers, driven through the pipeline in-process.

Real RapidOCR and the embedded models (a tiny GGUF vision pair, Whisper tiny.en where a test
needs them) on Pillow-drawn pages. The tests assert pipeline behaviour (OCR text, grounding,
tiers and why they escalated), not a model's accuracy. The same tier through `edge process`
and the daemon: tests/e2e/extract/test_ocr_small.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from edge.configure import parse_config
from edge.extract import schemas
from tests.helpers import documents as docs
from tests.helpers import run_pipeline
from tests.helpers.gguf_models import write_vision_pair


def tiered_config(vision: dict, route_options: dict | None = None, tiers=("ocr-small", "vision")) -> object:
    return parse_config({
        "models": {"ocr-small": {"engine": "ocr"}, "vision": vision},
        "routes": [{"media": ["image"], "task": "extract", "schema": "claim_form", "tiers": list(tiers),
                    "options": route_options or {}}],
    })


@pytest.fixture()
def blank_page(tmp_path) -> Path:
    """A page with no text: OCR finds nothing, so every required field is null."""
    path = tmp_path / "blank.png"
    Image.new("RGB", (1240, 1754), "white").save(path)
    return path


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    return write_vision_pair(tmp_path_factory.mktemp("pair"))


def test_null_required_field_escalates_to_a_llamacpp_vision_tier(blank_page, tiny_pair):
    model, mmproj = tiny_pair
    doc = run_pipeline(tiered_config({"engine": "llamacpp", "model": str(model), "mmproj": str(mmproj),
                                      "n_ctx": 4096}), blank_page)
    first, second = doc["tiers"]
    assert first["tier"] == "ocr-small" and first["status"] == "ok"
    codes = {reason["code"] for reason in first["escalated"]}
    assert "required_missing" in codes and "low_confidence" in codes  # nulls, and OCR found no text
    assert second["tier"] == "vision" and second["status"] == "ok"  # the tiny pair answers schema-valid JSON
    assert doc["model"]["engine"] == "llamacpp" and doc["model"]["mmproj"] == mmproj.name


def test_unavailable_next_tier_is_recorded_and_needs_review(blank_page, tmp_path):
    doc = run_pipeline(tiered_config({"engine": "llamacpp", "model": str(tmp_path / "missing.gguf"),
                                      "mmproj": str(tmp_path / "missing-mmproj.gguf")}), blank_page)
    first, second = doc["tiers"]
    assert first["escalated"] and second == {**second, "tier": "vision", "status": "unavailable"}
    assert "model file not found" in second["reasons"][0]["message"]
    assert doc["review"]["needs_review"] is True
    assert any(r["code"] == "tier_unavailable" for r in doc["review"]["reasons"])
    assert doc["model"]["engine"] == "ocr"  # the answer kept is the ocr-small one


def test_ocr_hint_reaches_the_vision_tier_and_its_answer_is_grounded(tmp_path):
    page = tmp_path / "claim.png"
    docs.draw_claim_form().save(page)
    script = tmp_path / "answers.json"
    answer = {"claim_number": "CLM-DOES-NOT-EXIST", "total_amount": 1247.5, "claimant_name": "Maria Jensen"}
    script.write_text(json.dumps([{"prompt_contains": "OCR text of this page", "answer": answer}]))
    config = tiered_config({"engine": "scripted", "script": str(script)},
                           {"ocr_hint": True, "keep_ocr": True}, tiers=("vision",))
    doc = run_pipeline(config, page)
    assert doc["status"] == "ok" and doc["result"]["total_amount"] == 1247.5  # the scripted answer was given
    assert "CLAIM" in doc["ocr"]["text"].upper() and doc["timings_ms"]["ocr"] > 0
    assert doc["tiers"][0]["grounding"]["unfound"] == ["claim_number"]
    [reason] = [r for r in doc["review"]["reasons"] if r["code"] == "ungrounded"]
    assert reason["field"] == "claim_number" and doc["review"]["needs_review"]


def test_without_keep_ocr_the_sidecar_keeps_the_text_but_not_the_boxes(tmp_path):
    page = tmp_path / "claim.png"
    docs.draw_claim_form().save(page)
    script = tmp_path / "answers.json"
    script.write_text(json.dumps([{"answer": {"total_amount": 1247.5}}]))
    doc = run_pipeline(tiered_config({"engine": "scripted", "script": str(script)}, {"ocr_hint": True},
                                     tiers=("vision",)), page)
    assert doc["tiers"][0]["grounding"] == {"checked": True, "unfound": []}
    assert "CLAIM" in doc["ocr"]["text"].upper() and "grounding" not in doc["ocr"]  # searchable, nothing more
    lines = doc["ocr"]["pages"][0]["lines"]
    assert lines and all(set(line) == {"text"} for line in lines)


@pytest.mark.slow
def test_audio_route_with_extract_turns_a_transcript_into_fields(tmp_path):
    from tests.helpers import audio

    if audio.have_tools():
        pytest.skip(audio.have_tools())
    recording = audio.speak("Claim number four five seven two. The total amount is twelve dollars.",
                                    tmp_path / "voicemail.wav")
    config = parse_config({
        "models": {"ocr-small": {"engine": "ocr", "keep_ocr": True},
                   "asr": {"engine": "faster-whisper", "model": "embedded:tiny.en"}},
        "routes": [{"media": ["audio"], "task": "extract", "schema": "claim_form", "tiers": ["ocr-small"],
                    "options": {"asr": "asr", "language": "en"}}],
    })
    doc = run_pipeline(config, recording)
    spec = schemas.resolve("claim_form", "extract", config)
    assert set(doc["result"]) == set(spec.fields) and doc["tiers"][0]["tier"] == "ocr-small"
    assert doc["ocr"]["engine"] == "transcript" and "claim" in doc["ocr"]["text"].lower()
    assert doc["tiers"][0]["grounding"]["checked"] and doc["timings_ms"]["transcribe"] > 0


def test_a_two_page_pdf_is_read_page_by_page_and_merged(tmp_path):
    pdf = docs.save_pdf([docs.draw_claim_form(), docs.draw_text_page(["Notes: none."], "NOTES")],
                        tmp_path / "claim.pdf")
    config = parse_config({"models": {"ocr-small": {"engine": "ocr", "keep_ocr": True}},
                           "routes": [{"media": ["pdf"], "task": "extract", "schema": "claim_form",
                                       "tiers": ["ocr-small"]}]})
    doc = run_pipeline(config, pdf)
    assert [page["page"] for page in doc["pages"]] == [1, 2]
    assert [page["page"] for page in doc["ocr"]["pages"]] == [1, 2]
    assert "CLAIM FORM" in doc["ocr"]["text"].upper() and "NOTES" in doc["ocr"]["text"].upper()
    assert set(doc["result"]) == set(schemas.resolve("claim_form", "extract", config).fields)

"""The ocr engine's text model is a configured model: listed, checked, and called under admission.

Issue 11: the text model that settles the `ocr-small` tier's close calls used to be built inside
the ocr engine from a private spec, invisible to `edge models`, `edge doctor` and the GPU
scheduler. Now `text_model` names a [models] entry; the older form (a path or `embedded:` name)
implies one called NAME-text.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edge import routing
from edge.configure import load_config, parse_config
from edge.errors import ConfigError
from edge.gpu import DeclaredDevice, Scheduler
from edge.pipeline import Pipeline, stat_job
from tests.helpers import ROOT
from tests.helpers.documents import draw_text_page
from tests.helpers.gpu_probes import TierProbe

PROBE = "tests.helpers.gpu_probes:TierProbe"


def test_the_older_form_implies_a_model_named_after_the_ocr_model():
    config = parse_config({"models": {"reader": {"engine": "ocr", "text_model": "embedded:gemma3-270m",
                                                 "text_n_ctx": 2048, "max_items": 7},
                                      "vision": {"engine": "ollama", "model": "llama3.2-vision:11b"}}})
    assert list(config.models) == ["reader", "reader-text", "vision"]  # listed beside its ocr model
    implied = config.models["reader-text"]
    assert implied.engine == "llamacpp" and implied.model == "embedded:gemma3-270m"
    assert implied.engine_options()["n_ctx"] == 2048 and implied.engine_options()["max_items"] == 7
    assert config.models["reader"].engine_options()["text_model"] == "reader-text"


def test_an_ocr_model_without_text_model_gets_the_embedded_one():
    config = parse_config({"models": {"ocr-small": {"engine": "ocr"}}})
    assert config.models["ocr-small-text"].model == "embedded:gemma3-270m"


@pytest.mark.parametrize("models, key", [
    ({"reader": {"engine": "ocr", "text_model": "asr"},
      "asr": {"engine": "faster-whisper", "model": "embedded:tiny.en"}}, "models.reader.text_model"),
    ({"reader": {"engine": "ocr", "text_model": "small", "text_n_ctx": 2048},
      "small": {"engine": "llamacpp", "model": "embedded:gemma3-270m"}}, "models.reader.text_n_ctx"),
    ({"reader": {"engine": "ocr", "text_model": "/models/x.gguf"},
      "reader-text": {"engine": "llamacpp", "model": "embedded:gemma3-270m"}}, "models.reader.text_model"),
])
def test_a_text_model_that_cannot_be_one_stops_the_start(models, key):
    with pytest.raises(ConfigError) as caught:
        parse_config({"models": models})
    assert key in caught.value.message


def _receipt_with_two_dates(path: Path) -> Path:
    """Two unlabelled dates: the finders cannot tell them apart, so the text model is asked."""
    page = draw_text_page(["CORNER SHOP", "03/04/2024", "05/04/2024", "TOTAL 12.50"], title="RECEIPT")
    out = io.BytesIO()
    page.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def test_the_text_model_is_called_under_its_own_gpu_lease(tmp_path):
    TierProbe.reset()
    config = parse_config({
        "models": {"ocr-small": {"engine": "ocr", "text_model": "picker"},
                   "picker": {"engine": PROBE, "vram_mb": 600}},
        "routes": [{"media": ["image"], "task": "extract", "schema": "receipt", "tiers": ["ocr-small"]}],
    })
    scheduler = Scheduler(DeclaredDevice(16_000), reserve_mb=1024)
    TierProbe.scheduler = scheduler
    pipeline = Pipeline(config, admit=scheduler.run)
    try:
        path = _receipt_with_two_dates(tmp_path / "receipt.png")
        doc = pipeline.run(stat_job(path, path.parent)).doc
    finally:
        pipeline.engines.close()
    assert TierProbe.leases == [("picker", "cuda", 600)]  # placed on the GPU, counted while it ran
    assert scheduler.resident() == {"picker": 600}
    assert doc["model"]["engine"] == "ocr" and doc["model"]["text_model"]["name"] == "picker"
    assert "date" in doc["tiers"][0]["evidence"]["model_asked"]


def test_a_picture_of_text_needs_no_text_model_call(tmp_path):
    """A clear page (one candidate per field) settles everything in code: no call, no lease."""
    TierProbe.reset()
    config = parse_config({
        "models": {"ocr-small": {"engine": "ocr", "text_model": "picker"},
                   "picker": {"engine": PROBE, "vram_mb": 600}},
        "routes": [{"media": ["image"], "task": "extract", "schema": "receipt", "tiers": ["ocr-small"]}],
    })
    pipeline = Pipeline(config, admit=Scheduler(DeclaredDevice(16_000), reserve_mb=1024).run)
    page = draw_text_page(["CORNER SHOP", "Date 03/04/2024", "TOTAL 12.50"], title="RECEIPT")
    path = tmp_path / "clear.png"
    page.save(path, "PNG")
    try:
        doc = pipeline.run(stat_job(path, path.parent)).doc
    finally:
        pipeline.engines.close()
    assert TierProbe.leases == [] and doc["tiers"][0]["evidence"]["model_asked"] == []
    assert doc["model"]["text_model"]["name"] == "picker"


def test_the_daemon_checks_the_text_model_of_every_ocr_model_a_route_uses():
    config = load_config(ROOT / "models.toml")
    assert routing.models_used(config) == ["ocr-small", "vision", "asr", "small-text"]

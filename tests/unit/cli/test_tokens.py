"""`edge tokens FILE`: the visual-token budget of one image, by family or by model (edge/cli/tokens.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from edge.cli.tokens import tokens


@pytest.fixture()
def square(tmp_path):
    path = tmp_path / "square.png"
    Image.new("RGB", (1024, 1024), "white").save(path)
    return path


def run(*args):
    return CliRunner().invoke(tokens, [str(a) for a in args])


def test_cli_prints_the_seed_figures(square, tmp_path):
    qwen = run(square, "--family", "qwen2-vl")
    assert qwen.exit_code == 0, qwen.output
    assert "1337" in qwen.output and "1369" in qwen.output and "fits" in qwen.output
    assert "visual tokens: 576" in run(square, "--family", "llava-1.5").output
    small = tmp_path / "small.png"
    Image.new("RGB", (672, 672)).save(small)
    next_ = json.loads(run(small, "--family", "llava-next", "--json", "--n-ctx", "8192").output)
    assert next_["visual_tokens"] == 2880 and next_["verdict"] == "fits"


def test_cli_downscales_or_refuses(square):
    down = json.loads(run(square, "--family", "qwen2-vl", "--n-ctx", "2048", "--json").output)
    assert down["verdict"] == "downscale" and down["downscaled_total"] <= 2048
    refused = run(square, "--family", "gemma3", "--n-ctx", "1024")
    assert refused.exit_code == 1 and "refused" in refused.output and "n_ctx 1024" in refused.output


def test_cli_by_model_name(square, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text('[models.vision]\nengine = "ollama"\nmodel = "llama3.2-vision:11b"\n'
                      '[models.ocr-small]\nengine = "ocr"\n')
    result = run(square, "--model", "vision", "--config", config)
    assert result.exit_code == 0 and "family: mllama" in result.output and "visual tokens: 0" in result.output
    ocr = run(square, "--model", "ocr-small", "--config", config)
    assert ocr.exit_code != 0 and "OCR engine" in ocr.output
    assert run(square, "--model", "nope", "--config", config).exit_code == 2


def test_cli_needs_exactly_one_of_model_or_family(square):
    assert run(square).exit_code == 2
    assert run(square, "--family", "qwen2-vl", "--model", "x").exit_code == 2
    assert "unknown model family" in run(square, "--family", "resnet").output


def test_cli_reads_a_llamacpp_models_family_from_its_mmproj(square, tmp_path):
    from tests.helpers.gguf_models import write_vision_pair

    model, mmproj = write_vision_pair(tmp_path / "pair")
    config = tmp_path / "models.toml"
    config.write_text(f'[models.tiny]\nengine = "llamacpp"\nmodel = "{model}"\nmmproj = "{mmproj}"\nn_ctx = 512\n')
    report = json.loads(run(square, "--model", "tiny", "--config", config, "--json").output)
    # LLaVA-style projector at 32 px with 8 px patches: 16 tokens per tile, n_ctx from the model
    assert report["family"] == "llava-1.5" and report["visual_tokens"] == 16 and report["n_ctx"] == 512

"""Acceptance 4 of the vision issue: `edge doctor` on the mllama version window."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import edge_env, run_edge
from tests.helpers.ollama_double import FakeModel, OllamaDouble


def doctor(tmp_path: Path, host: str, model: str = "llama3.2-vision:11b"):
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "watches").write_text("65536\n")
    config = tmp_path / "models.toml"
    config.write_text(f'[models.vision]\nengine = "ollama"\nmodel = "{model}"\nhost = "{host}"\n')
    env = edge_env(EDGE_INOTIFY_WATCHES_FILE=str(tmp_path / "watches"))
    return run_edge("doctor", str(tmp_path / "inbox"), "--config", str(config), "--state-dir", str(tmp_path / "state"),
                    env=env, timeout=120)


def model_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "model vision" in line]


def test_doctor_names_the_version_problem_and_both_fixes(tmp_path):
    with OllamaDouble(version="0.31.0") as server:
        result = doctor(tmp_path, server.host)
    assert result.returncode == 1, result.stdout
    [fail] = [line for line in model_lines(result.stdout) if line.startswith("FAIL")]
    assert "Ollama 0.31.0 cannot run llama3.2-vision:11b" in fail
    assert "unknown model architecture: 'mllama'" in fail
    assert "pin Ollama 0.24.0" in fail
    assert "choose a supported vision model (qwen2.5vl, gemma3, ...) in models.toml" in fail


def test_doctor_is_ok_at_0_24(tmp_path):
    with OllamaDouble(version="0.24.0") as server:
        result = doctor(tmp_path, server.host)
    lines = model_lines(result.stdout)
    assert lines and all(line.startswith("OK") for line in lines), result.stdout
    assert "Ollama 0.24.0" in lines[0] and FakeModel().digest in lines[0]
    assert result.returncode == 0, result.stdout


def test_doctor_says_how_to_pull_a_missing_model(tmp_path):
    with OllamaDouble(models=[]) as server:
        result = doctor(tmp_path, server.host)
    assert result.returncode == 1
    [fail] = [line for line in model_lines(result.stdout) if line.startswith("FAIL")]
    assert "not pulled" in fail and "ollama pull llama3.2-vision:11b" in fail

"""`edge models` and `edge doctor` show the ocr model's text model as a model of its own (issue 11).

The configuration side and the admission of its calls: tests/unit/test_text_model.py.
"""

from __future__ import annotations

from tests.helpers import ROOT, run_edge


def test_the_shipped_text_model_is_listed_as_a_model_of_its_own():
    listed = run_edge("models", "--config", str(ROOT / "models.toml"))
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "small-text" in line)
    assert "llamacpp" in row and "text model of" in row


def test_the_doctor_checks_the_text_model_on_its_own_line(tmp_path):
    config = tmp_path / "models.toml"
    config.write_text('[models.reader]\nengine = "ocr"\ntext_model = "picker"\n\n'
                      '[models.picker]\nengine = "llamacpp"\nmodel = "/nowhere/picker.gguf"\n')
    doctor = run_edge("doctor", "--config", str(config), "--state-dir", str(tmp_path / "state"))
    out = doctor.stdout + doctor.stderr
    assert "model picker" in out and "/nowhere/picker.gguf" in out
    assert "close calls go to model picker" in out

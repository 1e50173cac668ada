"""The ocr-small tier through the real commands: `edge process` and the `edge watch` daemon.

Real RapidOCR and the real embedded Gemma 3 270M on Pillow-drawn invoices and claim forms.
The tests assert pipeline behaviour (schema-valid sidecars, OCR text, grounding, tiers),
not the small model's accuracy. Escalation between tiers, in-process, is in
tests/unit/extract/test_tiers.py.
"""

from __future__ import annotations

import pytest

from edge.extract import schemas
from tests.helpers import documents as docs
from tests.helpers import read_sidecar, run_edge, sidecar_of, wait_for, write_config
from tests.helpers.daemon import DaemonProcess

ROUTES = """
[models.ocr-small]
engine = "ocr"
keep_ocr = true

[[routes]]
match = ["invoices/**"]
media = ["image", "pdf"]
task = "extract"
schema = "invoice"
tiers = ["ocr-small"]

[[routes]]
match = ["claims/**"]
media = ["image", "pdf"]
task = "extract"
schema = "claim_form"
tiers = ["ocr-small"]
"""


def assert_ocr_small_sidecar(doc: dict, schema: str, heading: str) -> None:
    assert doc["status"] in ("ok", "invalid") and doc["task"]["schema"] == schema
    spec = schemas.resolve(schema, "extract", type("C", (), {"schemas": {}})())
    assert set(doc["result"]) == set(spec.fields)
    assert doc["model"]["engine"] == "ocr" and doc["model"]["text_model"]["engine"] == "llamacpp"
    assert heading in doc["ocr"]["text"].upper()
    lines = doc["ocr"]["pages"][0]["lines"]
    assert lines and all(len(line["box"]) == 4 and 0 < line["score"] <= 1 for line in lines)
    [tier] = doc["tiers"]
    assert tier["tier"] == "ocr-small"
    if doc["status"] == "ok":
        # every value the model gave was looked up; whatever was not found is listed by field
        unfound = tier["grounding"]["unfound"]
        assert doc["ocr"]["grounding"]["ocr-small"]["unfound"] == unfound
        listed = {r["field"] for r in doc["review"]["reasons"] if r["code"] == "ungrounded"}
        assert listed == set(unfound) and (doc["review"]["needs_review"] or not unfound)
    assert doc["timings_ms"]["ocr"] > 0
    asked = tier["evidence"]["model_asked"]  # the text model runs only where two candidates are close
    assert (doc["timings_ms"]["inference"] > 0) == bool(asked)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    (root / "invoices").mkdir()
    (root / "claims").mkdir()
    docs.draw_invoice().save(root / "invoices" / "inv-001.png")
    docs.draw_claim_form().save(root / "claims" / "claim-001.jpg", quality=92)
    return root


def test_edge_process_on_an_invoice_and_a_claim_form(drawn, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text(ROUTES)
    done = run_edge("process", str(drawn), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    assert_ocr_small_sidecar(read_sidecar(drawn / "invoices" / "inv-001.png"), "invoice", "INVOICE")
    assert_ocr_small_sidecar(read_sidecar(drawn / "claims" / "claim-001.jpg"), "claim_form", "CLAIM FORM")


def test_daemon_extracts_a_dropped_claim_form(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "claims").mkdir(parents=True)
    config = write_config(tmp_path / "models.toml", ROUTES, edge={"settle": 0.3})
    daemon = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    try:
        target = inbox / "claims" / "scan.png"
        docs.draw_claim_form().save(tmp_path / "scan.png")
        (tmp_path / "scan.png").rename(target)
        wait_for(lambda: sidecar_of(target).exists(), 180, what=f"sidecar\n{daemon.log()}")
        assert_ocr_small_sidecar(read_sidecar(target), "claim_form", "CLAIM FORM")
    finally:
        assert daemon.terminate() == 0, daemon.log()

"""End to end with the real embedded models: every value comes from the page.

Drawn receipts and invoices (`edge eval make-set`: day-first dates, EU
amounts, eight fonts, hard cases) go through `edge process`; every string
value must be printed on the page, every number and date must parse from a
printed token. The shipped `models.toml` must answer drawn claim forms and
invoices, straight and rotated 4 degrees, with `ok` or `partial` and the OCR
text in the sidecar.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from edge.eval.makeset import make_set
from edge.extract import amounts, dates
from edge.extract.grounding import SKIP_KEYS, leaves
from tests.helpers import ROOT, read_sidecar, run_edge, validate_sidecar
from tests.helpers import documents as docs

ROUTES = """
[models.ocr-small]
engine = "ocr"

[[routes]]
match = ["*receipt*"]
media = ["image"]
task = "extract"
schema = "receipt"
tiers = ["ocr-small"]
options = { lists = true }

[[routes]]
match = ["*invoice*"]
media = ["image"]
task = "extract"
schema = "invoice"
tiers = ["ocr-small"]
options = { lists = true }
"""


def squashed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def printed_numbers(text: str) -> set[float]:
    return {float(token.value) for token in amounts.find(text)} | \
        {float(token.value) for token in amounts.find(text.replace(",", " , "))}


def printed_dates(text: str) -> set[str]:
    return {value.isoformat() for token in dates.find(text) for value in token.values}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    """Receipts and invoices in `drawn/`, their truth files apart in `truth/`."""
    root = tmp_path_factory.mktemp("set")
    (root / "drawn").mkdir()
    (root / "truth").mkdir()
    for path in make_set(root / "all", 18, seed=11):
        if path.name.endswith(("receipt.png", "receipt.jpg", "invoice.png", "invoice.jpg")):
            shutil.move(str(path), root / "drawn" / path.name)
            shutil.move(str(path) + ".truth.json", root / "truth" / (path.name + ".truth.json"))
    shutil.rmtree(root / "all")
    return root / "drawn"


def test_the_drawn_set_has_day_first_dates_and_eu_amounts(drawn):
    truths = [json.loads(p.read_text()) for p in (drawn.parent / "truth").glob("*.truth.json")]
    assert any(t["date_format"] in ("%d.%m.%Y", "%d/%m/%Y") and t["fields"].get("date") for t in truths)
    assert any(t["currency"] == "EUR" for t in truths)
    assert {t["schema"] for t in truths} == {"receipt", "invoice"}


def test_every_value_is_printed_on_the_page(drawn, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text(ROUTES)
    out = tmp_path / "out"
    done = run_edge("process", str(drawn), "--config", str(config), "--state-dir", str(tmp_path / "state"),
                    "--output-dir", str(out), timeout=900)
    assert done.returncode == 0, done.stderr
    sidecars = sorted(out.glob("*.json"))
    assert len(sidecars) == len(list(drawn.iterdir()))
    checked = 0
    for path in sidecars:
        doc = validate_sidecar(path)
        text = doc["ocr"]["text"]
        flat, numbers, days = squashed(text), printed_numbers(text), printed_dates(text)
        for field, value in leaves(doc["result"], skip=SKIP_KEYS):
            if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                assert value in days, (path.name, field, value)
            elif isinstance(value, str):
                assert squashed(value) in flat, (path.name, field, value)
            else:
                assert float(value) in numbers, (path.name, field, value)
            checked += 1
    print(f"{checked} values over {len(sidecars)} documents, all printed on their page")
    assert checked >= 3 * len(sidecars)
    for path in sidecars:
        assert_boxed(json.loads(path.read_text()))


def assert_boxed(doc: dict) -> None:
    """Every non-null field has the box it was read from, inside the page, over text that holds it."""
    fields = doc["evidence"]["fields"]
    for name, value in doc["result"].items():
        if value in (None, []):
            continue
        entry = fields[name]
        assert entry["source"] == "ocr" and entry["units"] == "px", (name, entry)
        x0, y0, x1, y1 = entry["bbox"]
        width, height = entry["page_size"]
        assert -2 <= x0 < x1 <= width + 2 and -2 <= y0 < y1 <= height + 2, (name, entry)
        text = "\n".join([entry["text"], *(more["text"] for more in entry.get("more", []))])
        if name == "currency":
            assert value in amounts.currencies(text), (name, text)
            continue
        flat, numbers, days = squashed(text), printed_numbers(text), printed_dates(text)
        for _field, leaf in leaves(value):
            if isinstance(leaf, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", leaf):
                assert leaf in days, (name, leaf, text)
            elif isinstance(leaf, str):
                assert all(word.casefold() in flat for word in leaf.split()), (name, leaf, text)
            elif leaf != int(leaf):
                assert float(leaf) in numbers, (name, leaf, text)


SHIPPED = ROOT / "models.toml"


def test_the_shipped_route_answers_claim_forms_and_invoices_straight_and_rotated(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, page in (("claim", docs.draw_claim_form()), ("invoice", docs.draw_invoice())):
        page.save(inbox / f"{name}.png")
        docs.rotated(page, 4.0).save(inbox / f"{name}_rot4.jpg", quality=90)
    done = run_edge("process", str(inbox), "--config", str(SHIPPED), "--state-dir", str(tmp_path / "state"),
                    timeout=900)
    assert done.returncode == 0, done.stderr
    for path in sorted(inbox.glob("*.png")) + sorted(inbox.glob("*.jpg")):
        doc = read_sidecar(path)
        assert doc["task"]["route"] == "documents" and doc["task"]["schema"] == "document"
        assert doc["status"] in ("ok", "partial"), (path.name, doc["status"], doc["review"])
        heading = "CLAIM" if path.name.startswith("claim") else "INVOICE"
        assert heading in doc["ocr"]["text"].upper()
        assert doc["result"]["document_type"] in ("claim form", "invoice")
        seconds = doc["timings_ms"]["total"] / 1000
        print(f"{path.name}: {doc['status']} in {seconds:.1f} s per page, "
              f"document_type {doc['result']['document_type']!r}, {len(doc['result']['key_values'] or [])} key/values")

"""Acceptance 3 of review routing, through the real commands: the `edge watch` daemon puts a flagged
file in review_dir, `edge review list` shows it, `edge review accept` writes the corrected sidecar.

The same steps in-process, and their refusals, are in tests/unit/test_review.py.
"""

import json
import os
import shutil

from edge.eval.makeset import make_set
from tests.helpers import read_sidecar, run_edge, sidecar_of, wait_for, write_config
from tests.helpers.daemon import DaemonProcess

GOOD = {"invoice_number": "INV-7", "date": "2024-03-03", "vendor_name": "Acme Corp", "total_amount": 99.5,
        "currency": "EUR", "line_items": []}
UNSURE = {**GOOD, "invoice_number": None}  # a required field left null: the file is flagged


def test_review_routing_end_to_end_through_the_daemon(tmp_path):
    inbox, state, folder = tmp_path / "inbox", tmp_path / "state", tmp_path / "review"
    inbox.mkdir()
    source = make_set(tmp_path / "drawn", 1, seed=11)[0]
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"answer": UNSURE}]))
    cfg = write_config(tmp_path / "models.toml", f'review_dir = "{folder}"\n[models.fake]\nengine = "scripted"\n'
                       f'script = "{script}"\n[[routes]]\nname = "docs"\nmedia = ["image"]\ntask = "extract"\n'
                       'schema = "invoice"\nmodel = "fake"\n')
    daemon = DaemonProcess(inbox, cfg, state).wait_ready()
    try:
        shutil.copy(source, inbox / source.name)
        wait_for(lambda: sidecar_of(folder / source.name).exists(), 60, what="the file in review_dir")
    finally:
        assert daemon.terminate() == 0, daemon.log()
    dropped = inbox / source.name
    assert os.path.samefile(folder / source.name, dropped)
    listed = run_edge("review", "list", "--config", str(cfg), "--state-dir", str(state))
    assert listed.returncode == 0 and source.name in listed.stdout, listed.stderr
    corrected = tmp_path / "corrected.json"
    corrected.write_text(json.dumps({"invoice_number": "INV-1", "total_amount": 12.5}))
    accepted = run_edge("review", "accept", str(folder / source.name), str(corrected), "--config", str(cfg),
                        "--state-dir", str(state))
    assert accepted.returncode == 0, accepted.stderr
    doc = read_sidecar(dropped)
    assert (doc["result"]["invoice_number"], doc["result"]["total_amount"]) == ("INV-1", 12.5)
    assert doc["review"]["history"][0]["result"]["total_amount"] == 99.5
    assert doc["review"]["reviewed_at"] and not doc["review"]["needs_review"]
    assert not (folder / source.name).exists() and not sidecar_of(folder / source.name).exists()

"""Acceptance 3: review routing. A flagged file lands in review_dir with its sidecar;
`edge review list` shows it; `edge review accept FILE CORRECTED.json` writes a sidecar
that validates, carries reviewed_at and keeps the model's own answer in history.
Here in-process; through the daemon and the commands in tests/e2e/daemon/test_review.py."""

import errno
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from edge import review
from edge.cli import main
from edge.configure import parse_config
from edge.eval.makeset import make_set
from edge.pipeline import Pipeline, stat_job
from tests.helpers import sidecar_of, validate_sidecar

GOOD = {"invoice_number": "INV-7", "date": "2024-03-03", "vendor_name": "Acme Corp", "total_amount": 99.5,
        "currency": "EUR", "line_items": []}
UNSURE = {**GOOD, "invoice_number": None}  # a required field left null: the file is flagged


def _config(review_dir):
    return parse_config({
        "edge": {"review_dir": str(review_dir)},
        "models": {"fake": {"engine": "scripted"}},
        "routes": [{"name": "docs", "media": ["image"], "task": "extract", "schema": "invoice", "model": "fake"}],
    })


@pytest.fixture
def docs(tmp_path):
    return make_set(tmp_path / "inbox", 2, seed=5)


def _process(config, path, answer):
    pipeline = Pipeline(config)
    pipeline.engines.get("fake").enqueue(answer)
    job = stat_job(path, path.parent)
    return pipeline.write(job, pipeline.run(job))


def test_flagged_file_is_hard_linked_into_review_dir_with_its_sidecar(tmp_path, docs):
    config = _config(tmp_path / "review")
    _process(config, docs[0], UNSURE)
    _process(config, docs[1], GOOD)
    waiting = tmp_path / "review" / docs[0].name
    assert os.path.samefile(waiting, docs[0])  # a hard link, not a second copy
    assert not (tmp_path / "review" / docs[1].name).exists()  # not flagged, not routed
    copy = validate_sidecar(sidecar_of(waiting))
    assert copy["review"]["origin"]["path"] == str(docs[0])
    assert [r["code"] for r in copy["review"]["reasons"]] == ["required_missing"]
    assert [item.origin for item in review.list_pending(config)] == [docs[0]]


def test_across_filesystems_the_file_is_copied(tmp_path, docs, monkeypatch):
    def no_link(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(review.os, "link", no_link)
    _process(_config(tmp_path / "review"), docs[0], UNSURE)
    waiting = tmp_path / "review" / docs[0].name
    assert not os.path.samefile(waiting, docs[0])
    assert waiting.read_bytes() == docs[0].read_bytes()


def test_accept_with_corrections_keeps_history_and_clears_the_folder(tmp_path, docs):
    config = _config(tmp_path / "review")
    target = _process(config, docs[0], UNSURE)
    cfg = tmp_path / "models.toml"
    cfg.write_text(f'[edge]\nreview_dir = "{tmp_path / "review"}"\n[models.fake]\nengine = "scripted"\n'
                   '[[routes]]\nname = "docs"\ntask = "extract"\nschema = "invoice"\nmodel = "fake"\n')
    runner = CliRunner()
    listed = runner.invoke(main, ["review", "list", "--json", "--config", str(cfg)])
    assert listed.exit_code == 0 and docs[0].name in listed.output
    corrected = tmp_path / "fix.json"
    corrected.write_text(json.dumps({"invoice_number": "INV-2024-0892"}))
    done = runner.invoke(main, ["review", "accept", str(tmp_path / "review" / docs[0].name), str(corrected),
                                "--config", str(cfg)])
    assert done.exit_code == 0, done.output
    doc = validate_sidecar(target)
    assert doc["result"]["invoice_number"] == "INV-2024-0892"
    assert doc["result"]["total_amount"] == 99.5  # untouched fields stay the model's
    assert doc["review"]["needs_review"] is False and doc["review"]["reviewed_at"]
    assert doc["review"]["corrected"] == ["invoice_number"]
    assert doc["review"]["history"][0]["result"]["invoice_number"] is None  # the model's own answer
    assert doc["review"]["history"][0]["model"]["engine"] == "scripted"
    assert not (tmp_path / "review" / docs[0].name).exists()
    assert review.list_pending(config) == []
    assert docs[0].exists()  # the original stays where it was


def test_a_correction_that_breaks_the_schema_is_refused_and_nothing_changes(tmp_path, docs):
    config = _config(tmp_path / "review")
    target = _process(config, docs[0], UNSURE)
    before = target.read_bytes()
    bad = tmp_path / "bad.json"
    for body, words in (({"total_amount": "lots"}, "invoice schema"), ({"colour": "red"}, "colour")):
        bad.write_text(json.dumps(body))
        with pytest.raises(review.InputError, match=words):
            review.accept(config, docs[0], bad)
    assert target.read_bytes() == before
    assert len(review.list_pending(config)) == 1


def test_accept_of_a_file_that_does_not_wait_says_so(tmp_path, docs):
    with pytest.raises(review.InputError, match="not waiting for review"):
        review.accept(_config(tmp_path / "review"), docs[1])


def test_a_review_folder_that_cannot_take_the_file_does_not_fail_it(tmp_path, docs):
    blocked = tmp_path / "review"
    blocked.write_text("a file where the folder should be")
    target = _process(_config(blocked), docs[0], UNSURE)
    assert validate_sidecar(target)["review"]["needs_review"] is True


def test_accept_refuses_when_the_file_changed_since_it_was_flagged(tmp_path, docs):
    config = _config(tmp_path / "review")
    target = _process(config, docs[0], UNSURE)
    waiting = tmp_path / "review" / docs[0].name
    docs[0].unlink()  # the link in review_dir keeps the old bytes
    shutil.copy(docs[1], docs[0])  # new content under the same name, processed again
    _process(config, docs[0], GOOD)
    with pytest.raises(review.InputError, match="changed since it was flagged"):
        review.accept(config, waiting)
    assert validate_sidecar(target)["result"]["invoice_number"] == "INV-7"


def test_review_follows_a_file_that_after_move_took_away(tmp_path, docs):
    config = _config(tmp_path / "review")
    config.edge.after = f"move:{tmp_path / 'done'}"
    _process(config, docs[0], UNSURE)
    moved = tmp_path / "done" / docs[0].name
    assert moved.exists() and not docs[0].exists()
    assert os.path.samefile(tmp_path / "review" / docs[0].name, moved)
    corrected = tmp_path / "fix.json"
    corrected.write_text(json.dumps({"invoice_number": "INV-9"}))
    assert review.accept(config, tmp_path / "review" / docs[0].name, corrected) == sidecar_of(moved)
    assert validate_sidecar(sidecar_of(moved))["result"]["invoice_number"] == "INV-9"

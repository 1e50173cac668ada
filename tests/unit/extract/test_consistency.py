"""Acceptance 4: multi-sample consistency. A scripted engine that disagrees on one
field flags exactly that field; agreeing fields stand; one sample stays the default."""

import pytest

from edge.configure import parse_config
from edge.eval.makeset import make_set
from edge.extract.consistency import canonical, vote
from edge.pipeline import Pipeline, stat_job
from tests.helpers import read_sidecar

ANSWER = {"invoice_number": "INV-7", "date": "2024-03-03", "vendor_name": "Acme Corp", "total_amount": 1247.5,
          "currency": "EUR", "line_items": [{"description": "Widget", "quantity": 1, "unit_price": 1247.5,
                                              "total": 1247.5}]}


def test_vote_keeps_agreement_and_takes_the_majority():
    samples = [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1.0, "b": "y"}]
    result = vote(samples)
    assert result.result == {"a": 1, "b": "y"}
    assert result.fields == ["b"]
    assert result.disagreements[0]["values"] == ["x", "y", "y"]
    assert result.disagreements[0]["votes"] == 2


def test_vote_ties_go_to_the_first_sample_and_text_case_does_not_disagree():
    assert vote([{"a": "x"}, {"a": "y"}]).result == {"a": "x"}
    assert vote([{"n": "Acme  Corp"}, {"n": "acme corp"}]).disagreements == []
    assert canonical([{"q": 1}]) == canonical([{"q": 1.0}])
    assert vote([{"a": 1, "_c": {"a": "high"}}, {"a": 1, "_c": {"a": "low"}}], ignore=["_c"]).disagreements == []


def _config(tmp_path, samples):
    return parse_config({
        "models": {"fake": {"engine": "scripted"}},
        "routes": [{"name": "docs", "media": ["image"], "task": "extract", "schema": "invoice",
                    "model": "fake", "samples": samples}],
    })


@pytest.fixture
def invoice(tmp_path):
    return make_set(tmp_path / "in", 1, seed=3)[0]


def _run(config, path):
    pipeline = Pipeline(config)
    engine = pipeline.engines.get("fake")
    return pipeline, engine


def test_samples_that_disagree_on_one_field_flag_exactly_that_field(tmp_path, invoice):
    pipeline, engine = _run(_config(tmp_path, 3), invoice)
    engine.enqueue(ANSWER, {**ANSWER, "total_amount": 1274.5}, ANSWER)
    job = stat_job(invoice, invoice.parent)
    outcome = pipeline.run(job)
    pipeline.write(job, outcome)
    doc = read_sidecar(invoice)
    review = doc["review"]
    assert review["needs_review"] is True
    assert [d["field"] for d in review["disagreements"]] == ["total_amount"]
    assert review["disagreements"][0]["values"] == [1247.5, 1274.5, 1247.5]
    assert doc["result"]["total_amount"] == 1247.5  # the majority
    assert doc["result"]["invoice_number"] == "INV-7"  # agreed, kept
    flagged = [r for r in review["reasons"] if r["code"] == "samples_disagree"]
    assert len(flagged) == 1 and flagged[0]["fields"] == ["total_amount"]
    assert [(r.seed, r.temperature) for r in engine.requests] == [(7, 0.2), (8, 0.2), (9, 0.2)]
    assert doc["model"]["samples"]["n"] == 3


def test_samples_that_agree_do_not_flag(tmp_path, invoice):
    pipeline, engine = _run(_config(tmp_path, 3), invoice)
    engine.enqueue(ANSWER, dict(ANSWER), {**ANSWER, "vendor_name": "ACME CORP"})
    doc = pipeline.run(stat_job(invoice, invoice.parent)).doc
    assert "disagreements" not in doc["review"]
    assert not [r for r in doc["review"]["reasons"] if r["code"].startswith("samples")]


def test_one_sample_is_the_default_at_temperature_zero(tmp_path, invoice):
    pipeline, engine = _run(_config(tmp_path, 1), invoice)
    engine.enqueue(ANSWER)
    doc = pipeline.run(stat_job(invoice, invoice.parent)).doc
    assert [(r.seed, r.temperature) for r in engine.requests] == [(7, 0.0)]
    assert doc["result"]["total_amount"] == 1247.5 and "samples" not in doc["model"]


def test_an_invalid_sample_is_left_out_of_the_vote_and_said(tmp_path, invoice):
    pipeline, engine = _run(_config(tmp_path, 3), invoice)
    engine.enqueue(ANSWER, "not json", "still not json", {**ANSWER, "date": "2024-03-04"}, ANSWER)
    doc = pipeline.run(stat_job(invoice, invoice.parent)).doc
    codes = [r["code"] for r in doc["review"]["reasons"]]
    assert "samples_invalid" in codes and "samples_disagree" in codes
    assert [d["field"] for d in doc["review"]["disagreements"]] == ["date"]

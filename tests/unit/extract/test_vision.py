"""Extraction through the pipeline in-process (the vision tier, tiers, pages), against the Ollama double.

Drawn documents go through the real pipeline (detect, route, prepare, the
real `ollama` client, validation, sidecar); the double answers the values
the test configured and records what it received.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from edge.configure import parse_config
from edge.extract import schemas
from edge.pipeline import Pipeline, stat_job
from edge.runner import execute
from tests.helpers import documents as docs
from tests.helpers import error_of, read_sidecar, validate_sidecar
from tests.helpers.ollama_double import FakeModel, OllamaDouble, Reply

TRUTH = {**docs.invoice_truth(), **docs.claim_truth()}  # each schema takes its own keys


def config(host: str, extra_models: dict | None = None, **route) -> object:
    models = {"vision": {"engine": "ollama", "host": host, "timeout": 20}, **(extra_models or {})}
    routes = route.pop("routes", None) or [{"media": ["image", "pdf"], "task": "extract", "model": "vision", **route}]
    return parse_config({"edge": {"max_attempts": 3}, "models": models, "routes": routes})


def process(pipeline: Pipeline, path: Path):
    verdict = execute(pipeline, stat_job(path, path.parent), max_attempts=3)
    return verdict


def sent_image(body: dict) -> Image.Image:
    [message] = [m for m in body["messages"] if m["role"] == "user"]
    [image] = message["images"]  # one image per message: mllama refuses more
    picture = Image.open(io.BytesIO(base64.b64decode(image)))
    assert picture.format == "JPEG"
    return picture


@pytest.fixture
def double():
    with OllamaDouble(values=TRUTH) as server:
        yield server


def test_drawn_documents_end_to_end(tmp_path, double):
    files = docs.make_document_set(tmp_path)
    routes = [{"match": ["invoice*"], "task": "extract", "model": "vision", "schema": "invoice"},
              {"match": ["claim*"], "task": "extract", "model": "vision", "schema": "claim_form"}]
    pipeline = Pipeline(config(double.host, routes=routes))
    for name, path in files.items():
        blank_pages = [{}, {}] if name.endswith(".pdf") else []
        double.queue_values(TRUTH, *blank_pages)  # only the first page of a PDF carries fields
        sent_before = len(double.chats())
        assert process(pipeline, path).kind == "done", name
        doc = read_sidecar(path)
        schema = "invoice" if name.startswith("invoice") else "claim_form"
        truth = docs.invoice_truth() if schema == "invoice" else docs.claim_truth()
        spec = schemas.resolve(schema, "extract", None)
        assert doc["status"] == "ok" and doc["review"]["needs_review"] is False, name
        assert {k: doc["result"][k] for k in truth} == truth, name
        assert doc["task"]["schema"] == schema and doc["task"]["schema_sha256"] == spec.sha256
        assert len(doc["task"]["prompt_sha256"]) == 64
        model = doc["model"]
        assert model["name"] == "llama3.2-vision:11b" and model["engine"] == "ollama"
        assert model["digest"] == FakeModel().digest and model["engine_version"] == "0.24.0"
        assert model["quantization"] == "Q4_K_M" and model["family"] == "mllama"
        assert model["options"]["temperature"] == 0 and model["options"]["seed"] == 7
        timings = doc["timings_ms"]
        assert {"load", "prompt_eval", "eval", "engine_total", "prepare", "inference"} <= set(timings)
        assert doc["tiers"][0]["usage"]["prompt_tokens"] > 0
        bodies = double.chats()[sent_before:]
        assert len(bodies) == len(doc["pages"]) == (3 if name.endswith(".pdf") else 1)
        for body in bodies:
            assert max(sent_image(body).size) <= 1120
            assert body["format"] == spec.format
            assert body["options"]["temperature"] == 0 and body["options"]["seed"] == 7
            assert body["keep_alive"] == "5m"


def test_exif_rotated_photo_reaches_the_model_upright(tmp_path, double):
    path = docs.save_exif_rotated(docs.draw_invoice(), tmp_path / "phone.jpg")
    assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    picture = sent_image(double.chats()[-1])
    assert picture.height > picture.width and docs.top_is_dark(picture)


@pytest.mark.parametrize("maker,code,words", [
    (lambda d: docs.write_bomb(d / "bomb.png"), "too_large", "decompression bomb"),
    (lambda d: docs.write_text_as_jpg(d / "notes.jpg"), "mislabelled", "text/plain"),
    (lambda d: docs.write_truncated_jpeg(d / "cut.jpg"), "corrupt", "truncated"),
])
def test_bad_inputs_get_a_clear_error_sidecar(tmp_path, double, maker, code, words):
    path = maker(tmp_path)
    verdict = process(Pipeline(config(double.host)), path)
    assert verdict.kind == "failed"
    doc = validate_sidecar(error_of(path))
    assert doc["status"] == "failed" and doc["error"]["code"] == code
    assert words in doc["error"]["message"] and doc["error"]["transient"] is False
    assert double.chats() == []


def test_invalid_json_then_valid_on_repair_is_ok(tmp_path, double):
    path = tmp_path / "inv.png"
    docs.draw_invoice().save(path)
    double.script(Reply(content="Sure! Here is the invoice: {invoice_number: INV"))
    assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    doc = read_sidecar(path)
    assert doc["status"] == "ok" and doc["result"]["invoice_number"] == "INV-2024-0892"
    assert doc["pages"][0]["attempts"] == 2
    first, second = double.chats()
    repair_prompt = second["messages"][-1]["content"]
    assert "not valid JSON" in repair_prompt and "{invoice_number: INV" in repair_prompt
    assert second["messages"][-1]["images"] == first["messages"][-1]["images"]


def test_cut_answer_is_repaired_with_more_room(tmp_path, double):
    path = tmp_path / "inv.png"
    docs.draw_invoice().save(path)
    double.script(Reply(content='{"invoice_number": "INV-20', done_reason="length"))
    assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    assert read_sidecar(path)["status"] == "ok"
    first, second = double.chats()
    assert second["options"]["num_predict"] == 2 * first["options"]["num_predict"]


def test_invalid_twice_is_status_invalid_with_review_and_raw(tmp_path, double):
    path = tmp_path / "inv.png"
    docs.draw_invoice().save(path)
    double.script(Reply(content="not json"), Reply(content='{"invoice_number": 5, "total_amount": "a lot"}'))
    assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    doc = read_sidecar(path)
    assert doc["status"] == "invalid"
    assert doc["review"]["needs_review"] is True
    assert any(r["code"] == "invalid_output" for r in doc["review"]["reasons"])
    assert doc["pages"][0]["raw"] == '{"invoice_number": 5, "total_amount": "a lot"}'
    assert "total_amount" in doc["pages"][0]["problem"]
    assert doc["tiers"][0]["raw"] == doc["pages"][0]["raw"]
    assert all(value is None for value in doc["result"].values())
    assert len(double.chats()) == 2  # one repair, not more


def test_ollama_down_then_up_pauses_then_completes(tmp_path, double):
    path = tmp_path / "claim.png"
    docs.draw_claim_form().save(path)
    pipeline = Pipeline(config(double.host, schema="claim_form"))
    double.stop()
    verdict = process(pipeline, path)
    assert verdict.kind == "paused" and verdict.attempts == 0
    assert not error_of(path).exists()
    double.start()
    assert process(pipeline, path).kind == "done"
    assert read_sidecar(path)["result"]["claim_number"] == "CLM-4572"


def test_model_missing_then_pulled_waits_then_completes(tmp_path):
    path = tmp_path / "claim.png"
    docs.draw_claim_form().save(path)
    with OllamaDouble(models=[], values=TRUTH) as server:
        pipeline = Pipeline(config(server.host, schema="claim_form"))
        verdict = process(pipeline, path)
        assert verdict.kind == "paused" and verdict.error.hint == "ollama pull llama3.2-vision:11b"
        server.pull()
        assert process(pipeline, path).kind == "done"
        assert read_sidecar(path)["status"] == "ok"


def test_pages_that_disagree_are_listed(tmp_path, double):
    path = docs.save_pdf(docs.invoice_pdf_pages(), tmp_path / "three.pdf")
    other = {**TRUTH, "invoice_number": "INV-9999", "line_items": None}
    double.queue_values(TRUTH, other, {"vendor_name": "Acme Corp"})
    assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    doc = read_sidecar(path)
    assert doc["result"]["invoice_number"] == "INV-2024-0892"  # the first non-null value
    [conflict] = [r for r in doc["review"]["reasons"] if r["code"] == "page_conflict"]
    assert conflict["field"] == "invoice_number"
    assert [v["page"] for v in conflict["values"]] == [1, 2]
    assert doc["review"]["needs_review"] is True
    assert [p["page"] for p in doc["pages"]] == [1, 2, 3]


def test_line_items_continue_over_pages(tmp_path, double):
    path = docs.save_pdf(docs.invoice_pdf_pages()[:2], tmp_path / "two.pdf")
    items = docs.invoice_truth()["line_items"]
    double.queue_values({**TRUTH, "line_items": items[:2]}, {"line_items": items[2:]})
    assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    assert read_sidecar(path)["result"]["line_items"] == items


def test_max_pages_is_honoured_and_flagged(tmp_path, double):
    path = docs.save_pdf(docs.invoice_pdf_pages(), tmp_path / "three.pdf")
    cfg = parse_config({"models": {"vision": {"engine": "ollama", "host": double.host, "max_pages": 2}},
                        "routes": [{"task": "extract", "model": "vision", "schema": "invoice"}]})
    assert process(Pipeline(cfg), path).kind == "done"
    doc = read_sidecar(path)
    assert len(doc["pages"]) == 2 and len(double.chats()) == 2
    assert any(r["code"] == "pages_truncated" for r in doc["review"]["reasons"])


def test_required_null_escalates_to_the_next_tier(tmp_path):
    qwen = FakeModel(name="qwen2.5vl:7b", family="qwen25vl")
    with OllamaDouble(models=[FakeModel(), qwen], values=TRUTH) as server:
        path = tmp_path / "claim.png"
        docs.draw_claim_form().save(path)
        server.queue_values({**TRUTH, "claim_number": None})  # the first tier misses a required field
        extra = {"big": {"engine": "ollama", "host": server.host, "model": "qwen2.5vl:7b"}}
        cfg = config(server.host, extra, schema="claim_form", model=None, tiers=["vision", "big"])
        assert process(Pipeline(cfg), path).kind == "done"
        doc = read_sidecar(path)
    assert [t["tier"] for t in doc["tiers"]] == ["vision", "big"]
    assert doc["tiers"][0]["escalated"][0]["code"] == "required_missing"
    assert "escalated" not in doc["tiers"][1]
    assert doc["result"]["claim_number"] == "CLM-4572" and doc["model"]["name"] == "qwen2.5vl:7b"
    assert doc["review"]["needs_review"] is False


def test_unavailable_next_tier_keeps_the_result_and_asks_for_review(tmp_path, double):
    path = tmp_path / "claim.png"
    docs.draw_claim_form().save(path)
    double.queue_values({**TRUTH, "claim_number": None})
    extra = {"big": {"engine": "ollama", "host": double.host, "model": "qwen2.5vl:7b"}}  # not pulled
    cfg = config(double.host, extra, schema="claim_form", model=None, tiers=["vision", "big"])
    assert process(Pipeline(cfg), path).kind == "done"
    doc = read_sidecar(path)
    assert [t["status"] for t in doc["tiers"]] == ["ok", "unavailable"]
    codes = {r["code"] for r in doc["review"]["reasons"]}
    assert {"tier_unavailable", "required_missing"} <= codes
    assert doc["result"]["policy_number"] == "POL-88-1932" and doc["result"]["claim_number"] is None


def test_low_confidence_asks_for_review(tmp_path):
    with OllamaDouble(values=TRUTH, confidence="low") as server:
        path = tmp_path / "claim.png"
        docs.draw_claim_form().save(path)
        assert process(Pipeline(config(server.host, schema="claim_form")), path).kind == "done"
        doc = read_sidecar(path)
    assert doc["status"] == "ok"
    [low] = [r for r in doc["review"]["reasons"] if r["code"] == "low_confidence"]
    assert "claim_number" in low["fields"]
    assert doc["tiers"][0]["confidence"]["claim_number"] == pytest.approx(0.3)


def test_describe_uses_the_photo_schema(tmp_path):
    with OllamaDouble(values={"caption": "A bar chart", "objects": ["chart"], "visible_text": None}) as server:
        path = tmp_path / "pic.jpg"
        docs.photo(800, 600).save(path)
        cfg = parse_config({"models": {"vision": {"engine": "ollama", "host": server.host}},
                            "routes": [{"task": "describe", "model": "vision"}]})
        assert process(Pipeline(cfg), path).kind == "done"
        doc = read_sidecar(path)
        assert doc["task"]["kind"] == "describe" and doc["task"]["schema"] == "photo"
        assert doc["result"] == {"caption": "A bar chart", "objects": ["chart"], "visible_text": None}
        assert set(server.chats()[0]["format"]["properties"]) == {"caption", "objects", "visible_text", "_confidence"}


def test_user_schema_from_toml_fields(tmp_path):
    values = {"company_name": "Acme Corp", "registration_number": "HRB 1234", "directors": ["A. Smith"]}
    with OllamaDouble(values=values) as server:
        path = tmp_path / "reg.png"
        docs.draw_text_page(["Acme Corp", "HRB 1234"]).save(path)
        cfg = parse_config({
            "models": {"vision": {"engine": "ollama", "host": server.host}},
            "schemas": {"registration": {"fields": {"company_name": "Legal name of the company",
                                                    "registration_number": "Registration number",
                                                    "directors": "List of director names"},
                                         "required": ["company_name"]}},
            "routes": [{"task": "extract", "model": "vision", "schema": "registration"}]})
        assert process(Pipeline(cfg), path).kind == "done"
        doc = read_sidecar(path)
        assert doc["result"] == values and doc["task"]["schema"] == "registration"
        prompt = server.chats()[0]["messages"][-1]["content"]
        assert "- company_name: Legal name of the company" in prompt


def test_retry_after_out_of_memory_sends_a_smaller_picture(tmp_path, double):
    from edge import gpu

    path = tmp_path / "inv.png"
    docs.draw_invoice().save(path)
    token = gpu._lease.set(gpu.Lease("vision", "cuda", 11600, reduced=True))  # the scheduler's OOM retry
    try:
        assert process(Pipeline(config(double.host, schema="invoice")), path).kind == "done"
    finally:
        gpu._lease.reset(token)
    assert max(sent_image(double.chats()[-1]).size) == 560
    assert read_sidecar(path)["pages"][0]["image"]["height"] == 560

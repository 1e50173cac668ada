"""Extraction through the real commands: `edge process` and the `edge watch` daemon,
talking to the Ollama double over HTTP from a child process."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import documents as docs
from tests.helpers import error_of, run_edge, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers.daemon import DaemonProcess
from tests.helpers.ollama_double import OllamaDouble, Reply

TRUTH = {**docs.invoice_truth(), **docs.claim_truth()}


def vision_config(path: Path, host: str) -> Path:
    return write_config(path, f"""
[models.vision]
engine = "ollama"
host = "{host}"
timeout = 20

[[routes]]
match = ["invoice*", "fresh*"]
media = ["image", "pdf"]
task = "extract"
schema = "invoice"
model = "vision"

[[routes]]
match = ["claim*"]
media = ["image", "pdf"]
task = "extract"
schema = "claim_form"
model = "vision"
""")


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[str, Path]:
    return docs.make_document_set(tmp_path_factory.mktemp("drawn"))


def drop(documents: dict[str, Path], names: list[str], inbox: Path) -> list[Path]:
    """Copy finished files into the watched folder (write elsewhere, then rename in)."""
    landed = []
    for name in names:
        staging = inbox.parent / f".staging-{name}"
        shutil.copyfile(documents[name], staging)
        staging.rename(inbox / name)
        landed.append(inbox / name)
    return landed


def check_ok(path: Path) -> dict:
    doc = validate_sidecar(sidecar_of(path))
    truth = docs.invoice_truth() if path.name.startswith("invoice") else docs.claim_truth()
    assert doc["status"] == "ok", doc
    assert {key: doc["result"][key] for key in truth} == truth
    assert doc["model"]["digest"] and doc["model"]["engine_version"] == "0.24.0"
    assert not error_of(path).exists()
    return doc


def check_requests(server: OllamaDouble, count: int) -> None:
    """What the model was sent: one JPEG within 1120 px per message, the schema, temperature 0, the seed."""
    bodies = server.chats()
    assert len(bodies) == count
    for body in bodies:
        [user] = [m for m in body["messages"] if m["role"] == "user"]
        [image] = user["images"]
        picture = Image.open(io.BytesIO(base64.b64decode(image)))
        assert picture.format == "JPEG" and max(picture.size) <= 1120
        assert "_confidence" in body["format"]["properties"] and body["format"]["type"] == "object"
        assert body["options"]["temperature"] == 0 and body["options"]["seed"] == 7


def test_edge_process_on_the_drawn_documents(tmp_path, documents):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ["invoice.png", "invoice_rot5.jpg", "claim_noisy.jpg", "claim_3page.pdf"]:
        shutil.copyfile(documents[name], folder / name)
    with OllamaDouble(values=TRUTH) as server:
        config = vision_config(tmp_path / "models.toml", server.host)
        done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
        assert done.returncode == 0, done.stderr
        for path in folder.iterdir():
            if path.suffix != ".json":
                check_ok(path)
        check_requests(server, 1 + 1 + 1 + 3)  # one request per image, one per PDF page
        fresh = tmp_path / "fresh.png"  # no sidecar yet (a recorded one would make it "up to date")
        shutil.copyfile(documents["invoice.png"], fresh)
        streamed = run_edge("process", str(fresh), "--stdout", "--config", str(config),
                            "--state-dir", str(tmp_path / "state2"))
        assert streamed.returncode == 0, streamed.stderr
        doc = validate_sidecar(json.loads(streamed.stdout.strip().splitlines()[-1]))
        assert doc["result"]["invoice_number"] == "INV-2024-0892"
        assert not sidecar_of(fresh).exists()


def test_edge_process_invalid_twice_is_invalid_not_failed(tmp_path, documents):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copyfile(documents["claim.png"], folder / "claim.png")
    with OllamaDouble(values=TRUTH) as server:
        server.script(Reply(content="I cannot read this."), Reply(content="[1, 2, 3]"))
        config = vision_config(tmp_path / "models.toml", server.host)
        done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    doc = validate_sidecar(sidecar_of(folder / "claim.png"))
    assert doc["status"] == "invalid" and doc["review"]["needs_review"] is True
    assert doc["pages"][0]["raw"] == "[1, 2, 3]"


def test_daemon_waits_while_ollama_is_down_then_completes(tmp_path, documents):
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    server = OllamaDouble(values=TRUTH)  # not started: connections are refused
    daemon = DaemonProcess(inbox, vision_config(tmp_path / "models.toml", server.host), state).wait_ready()
    try:
        files = drop(documents, ["invoice.png", "claim_rot5.jpg", "invoice_3page.pdf"], inbox)
        wait_for(lambda: daemon.count("event=engine_unavailable"), 60, what="the lane to pause")
        assert not any(error_of(p).exists() for p in files)
        server.start()
        wait_for(lambda: all(sidecar_of(p).exists() for p in files), 120, what="all sidecars after Ollama came back")
        for path in files:
            check_ok(path)
        check_requests(server, 1 + 1 + 3)
        assert daemon.count("event=failed") == 0 and daemon.count("event=dead") == 0
    finally:
        code = daemon.terminate()
        server.stop()
    assert code == 0, daemon.log()


def test_daemon_waits_for_a_missing_model_then_completes(tmp_path, documents):
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    with OllamaDouble(models=[], values=TRUTH) as server:
        daemon = DaemonProcess(inbox, vision_config(tmp_path / "models.toml", server.host), state).wait_ready()
        try:
            assert "ollama pull llama3.2-vision:11b" in daemon.log()  # the start-up check says what to do
            files = drop(documents, ["claim.png", "invoice_noisy.jpg"], inbox)
            wait_for(lambda: daemon.count("event=engine_unavailable"), 60, what="the lane to pause")
            assert not any(error_of(p).exists() or sidecar_of(p).exists() for p in files)
            server.pull()
            wait_for(lambda: all(sidecar_of(p).exists() for p in files), 120, what="sidecars after the pull")
            for path in files:
                check_ok(path)
        finally:
            code = daemon.terminate()
    assert code == 0, daemon.log()

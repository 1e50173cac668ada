"""The openai engine end to end: `edge process` and `edge watch` against llama-cpp-python's
real OpenAI-compatible server (embedded Gemma 3 270M for text, the tiny GGUF vision pair for
images), with the test proxy in front where a behaviour must be injected or counted."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.helpers import ROOT, edge_env, error_of, run_edge, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers import documents as docs
from tests.helpers.daemon import DaemonProcess, status_json
from tests.helpers.gguf_models import write_vision_pair
from tests.helpers.openai_double import Fault, OpenAIDouble
from tests.helpers.openai_server import GEMMA, VISION, LlamaServer

KEY = "sk-edge-e2e-5f1c2a9d7b3e4c60"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llama-server")
    with LlamaServer(folder, write_vision_pair(folder)) as running:
        yield running


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """Eight small photos-of-pages (PNG and JPEG): the vision fixture reads 32 px anyway."""
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for index in range(8):
        page = Image.new("RGB", (320, 240), (255, 255 - index * 20, 255))
        ImageDraw.Draw(page).text((20, 100), f"RECEIPT {index} TOTAL {10 + index}.50", fill="black")
        path = folder / (f"scan{index}.png" if index % 2 else f"scan{index}.jpg")
        page.save(path)
        paths.append(path)
    return paths


@pytest.fixture
def proxy(server):
    with OpenAIDouble(upstream=server.base_url) as running:
        yield running


def vision_config(path: Path, base_url: str, workers: int = 1, extra: str = "") -> Path:
    return write_config(path, f"""
[models.remote]
engine = "openai"
base_url = "{base_url}"
model = "{VISION}"
workers = {workers}
timeout = 60
max_string = 8
{extra}

[schemas.receipt_lite]
fields = {{ title = "the heading of the page", total = "the amount to pay" }}

[[routes]]
media = ["image", "pdf"]
task = "extract"
schema = "receipt_lite"
model = "remote"
""")


def copy(paths: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(path, folder / path.name)) for path in paths]


def check_vision_sidecar(path: Path, mode: str = "json_object") -> dict:
    doc = validate_sidecar(sidecar_of(path))
    assert doc["status"] == "ok" and set(doc["result"]) == {"title", "total"}, doc
    model = doc["model"]
    assert model["name"] == VISION and model["engine"] == "openai" and model["structured_output"] == mode
    assert model["host"].startswith("127.0.0.1:") and model["usage"]["prompt_tokens"] > 0
    assert not error_of(path).exists()
    return doc


def check_image_requests(proxy: OpenAIDouble, count: int) -> None:
    """Each page went as one JPEG data URL within the canvas, with the route's temperature and seed."""
    chats = proxy.chats("Extract the following fields")
    assert len([c for c in chats if c.status == 200]) == count
    for chat in chats:
        image = next(part for part in chat.body["messages"][-1]["content"] if part["type"] == "image_url")
        header, data = image["image_url"]["url"].split(",", 1)
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        assert header == "data:image/jpeg;base64" and picture.format == "JPEG" and max(picture.size) <= 1120
        assert (chat.body["temperature"], chat.body["seed"]) == (0.0, 7)


# -- 1. text and images, end to end ---------------------------------------------------------------


def two_dates_invoice(path: Path) -> Path:
    """A page whose finders cannot tell two dates and two numbers apart: the text model must choose."""
    page = Image.new("RGB", (1240, 900), "white")
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(["INVOICE", "Date: 2024-03-15", "Date: 2024-04-15",
                                "Invoice number: INV-1", "Invoice number: INV-2"]):
        draw.text((80, 80 + row * 90), line, fill="black", font=docs.font(40))
    page.save(path)
    return path


def test_edge_process_ocr_text_path_on_the_real_server(tmp_path, proxy):
    proxy.translate_json_schema = True  # a server that takes json_schema, as vLLM and llama-server do
    folder = tmp_path / "batch"
    folder.mkdir()
    two_dates_invoice(folder / "invoice_two_dates.png")
    config = write_config(tmp_path / "models.toml", f"""
[models.remote-ocr]
engine = "ocr-openai"
base_url = "{proxy.base_url}"
model = "{GEMMA}"
timeout = 120

[[routes]]
media = ["image", "pdf"]
task = "extract"
schema = "invoice"
model = "remote-ocr"
""")
    done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    chosen = validate_sidecar(sidecar_of(folder / "invoice_two_dates.png"))
    assert chosen["status"] == "ok" and chosen["result"]["date"] in ("2024-03-15", "2024-04-15")
    assert chosen["result"]["invoice_number"] in ("INV-1", "INV-2")
    text_model = chosen["model"]["text_model"]
    assert (text_model["name"], text_model["engine"], text_model["structured_output"]) == (GEMMA, "openai", "json_schema")
    assert text_model["system_fingerprint"] == "fp_edge_double" and text_model["host"] == f"127.0.0.1:{proxy.port}"
    assert chosen["model"]["usage"]["prompt_tokens"] > 0  # the real model read the candidates
    [asked] = proxy.chats("2024-04-15")
    assert asked.status == 200 and asked.body["response_format"]["type"] == "json_schema"


def test_edge_process_images_through_the_vision_fixture(tmp_path, proxy, images):
    folder = tmp_path / "batch"
    files = copy(images[:3], folder)
    docs.save_pdf([Image.open(images[3]).convert("RGB"), Image.open(images[4]).convert("RGB")], folder / "two.pdf")
    config = vision_config(tmp_path / "models.toml", proxy.base_url)
    done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    for path in [*files, folder / "two.pdf"]:
        check_vision_sidecar(path)
    check_image_requests(proxy, 3 + 2)  # one request per image, one per PDF page


# -- 2. concurrency, through the daemon --------------------------------------------------------------


def test_edge_watch_keeps_workers_requests_in_flight_and_never_more(tmp_path, proxy, images):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = vision_config(tmp_path / "models.toml", proxy.base_url, workers=4)
    daemon = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    try:
        proxy.hold_until(4, match="Extract the following fields")  # opens once 4 are in flight together
        files = copy(images, tmp_path / "staging")
        for path in files:
            path.rename(inbox / path.name)
        landed = [inbox / path.name for path in files]
        wait_for(lambda: all(sidecar_of(p).exists() for p in landed), 120, what="all sidecars")
        for path in landed:
            check_vision_sidecar(path)
    finally:
        code = daemon.terminate()
    assert code == 0, daemon.log()
    assert proxy.peak == 4, f"peak in flight {proxy.peak}"
    check_image_requests(proxy, 8)


# -- 3. failures ---------------------------------------------------------------------------------------


def test_429_and_503_are_waited_out_and_nothing_fails(tmp_path, proxy, images):
    proxy.script(Fault(429, "Rate limit reached for requests", retry_after="1", match="Extract"),
                 Fault(503, "Service Unavailable", match="Extract"),
                 Fault(429, "Rate limit reached for requests", retry_after="1", match="Extract"))
    folder = tmp_path / "batch"
    files = copy(images[:3], folder)
    config = vision_config(tmp_path / "models.toml", proxy.base_url)
    done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    assert "3 done" in done.stderr and "0 failed" in done.stderr
    for path in files:
        check_vision_sidecar(path)
    statuses = [chat.status for chat in proxy.chats("Extract the following fields")]
    assert sorted(statuses) == [200, 200, 200, 429, 429, 503]


def test_refused_connections_pause_the_lane_then_all_complete(tmp_path, server, images):
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    proxy = OpenAIDouble(upstream=server.base_url)  # not started: its port refuses connections
    daemon = DaemonProcess(inbox, vision_config(tmp_path / "models.toml", proxy.base_url), state).wait_ready()
    try:
        landed = copy(images[:3], inbox)
        wait_for(lambda: daemon.count("event=engine_unavailable"), 60, what="the lane to pause")
        counts = wait_for(lambda: waiting(state), 60, what="all three files queued, none finished")
        assert counts["done"] == counts["failed"] == counts["dead"] == 0
        assert not any(sidecar_of(p).exists() or error_of(p).exists() for p in landed)
        proxy.start()
        wait_for(lambda: all(sidecar_of(p).exists() for p in landed), 120, what="sidecars once the server is back")
        for path in landed:
            check_vision_sidecar(path)
        assert daemon.count("event=failed") == 0 and daemon.count("event=dead") == 0
    finally:
        code = daemon.terminate()
        proxy.close()
    assert code == 0, daemon.log()
    assert "cannot reach the server" in daemon.log()


def waiting(state: Path) -> dict | None:
    counts = status_json(state)["counts"]
    return counts if counts["pending"] + counts.get("running", 0) == 3 else None


def test_400_gives_an_error_sidecar_with_the_servers_message(tmp_path, proxy, images):
    message = "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens."
    proxy.script(Fault(400, message, match="Extract"))
    folder = tmp_path / "batch"
    [path] = copy(images[:1], folder)
    config = vision_config(tmp_path / "models.toml", proxy.base_url)
    done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 1
    error = validate_sidecar(error_of(path))
    assert error["status"] == "failed" and message in error["error"]["message"]
    assert error["error"]["code"] == "context_overflow" and error["error"]["transient"] is False
    assert not sidecar_of(path).exists()


# -- 4. structured-output fallback -------------------------------------------------------------------


def doctor(tmp_path: Path, config: Path, env: dict[str, str] | None = None):
    (tmp_path / "watches").write_text("65536\n")
    (tmp_path / "inbox").mkdir(exist_ok=True)
    env = {**(env or edge_env()), "EDGE_INOTIFY_WATCHES_FILE": str(tmp_path / "watches")}
    return run_edge("doctor", str(tmp_path / "inbox"), "--config", str(config), "--state-dir",
                    str(tmp_path / "state"), env=env, timeout=120)


def model_lines(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if "model remote" in line)


def test_json_schema_refused_falls_back_and_doctor_names_the_mode(tmp_path, proxy, images):
    proxy.translate_json_schema = True
    config = vision_config(tmp_path / "models.toml", proxy.base_url)
    taken = model_lines(doctor(tmp_path, config).stdout)
    assert "OK    model remote" in taken and "structured output: json_schema" in taken
    assert f"reachable: an OpenAI-compatible server; {VISION} is listed" in taken
    assert f"{VISION} takes images (a test image added" in taken

    proxy.refuse = {"json_schema"}  # the proxy answers 400 naming the field
    refused = model_lines(doctor(tmp_path, config).stdout)
    assert "structured output: json_object (the server refused json_schema" in refused
    assert "response_format.json_schema is not supported" in refused
    folder = tmp_path / "batch"
    files = copy(images[:2], folder)
    done = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    for path in files:
        check_vision_sidecar(path, mode="json_object")
    extracts = proxy.chats("Extract the following fields")
    assert extracts and all(c.body["response_format"]["type"] == "json_object" for c in extracts)
    assert all("follows this JSON Schema" in json.dumps(c.body) for c in extracts)


# -- 5. remote hosts refused at start ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["process", "watch"])
@pytest.mark.parametrize("url, flags, says", [
    ("http://192.0.2.10:8000/v1", "", "Set allow_remote = true"),
    ("http://gpu-box.example:8000/v1", "allow_remote = true", "allow_insecure_http = true"),
])
def test_remote_base_url_stops_edge_at_start(tmp_path, command, url, flags, says):
    (tmp_path / "inbox").mkdir()
    config = write_config(tmp_path / "models.toml", f"""
[models.remote]
engine = "openai"
base_url = "{url}"
{flags}
""")
    done = run_edge(command, str(tmp_path / "inbox"), "--config", str(config), "--state-dir",
                    str(tmp_path / "state"), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "edge: invalid configuration" in done.stderr and "models.remote" in done.stderr and says in done.stderr


# -- 6. the key stays secret -------------------------------------------------------------------------


def test_the_api_key_is_absent_from_logs_sidecars_and_edge_models(tmp_path, server, images):
    """A daemon at DEBUG and a one-shot run, both engines (images, and the OCR text path), one key."""
    env = edge_env(EDGE_E2E_OPENAI_KEY=KEY)
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    with OpenAIDouble(upstream=server.base_url, api_key=KEY) as keyed:
        config = vision_config(tmp_path / "models.toml", keyed.base_url, extra='api_key_env = "EDGE_E2E_OPENAI_KEY"')
        config.write_text(config.read_text().replace("[[routes]]", f"""[[routes]]
match = ["invoice*"]
task = "extract"
schema = "invoice"
model = "remote-ocr"

[models.remote-ocr]
engine = "ocr-openai"
base_url = "{keyed.base_url}"
model = "{GEMMA}"
api_key_env = "EDGE_E2E_OPENAI_KEY"

[[routes]]""", 1))
        daemon = DaemonProcess(inbox, config, state, env={**env, "PYTHONPATH": str(ROOT)})
        try:
            daemon.wait_ready()
            landed = [*copy(images[:2], inbox), two_dates_invoice(inbox / "invoice_two_dates.png")]
            wait_for(lambda: all(sidecar_of(p).exists() for p in landed), 120, what="sidecars")
        finally:
            daemon.terminate()
        folder = tmp_path / "batch"
        copy(images[2:4], folder)
        processed = run_edge("process", str(folder), "--config", str(config), "--state-dir", str(state), env=env)
        listed = run_edge("models", "--config", str(config), env=env)
        doctored = doctor(tmp_path, config, env)
    assert processed.returncode == 0 and listed.returncode == 0, processed.stderr + listed.stderr
    assert "remote" in listed.stdout and "openai" in listed.stdout
    assert "OK    model remote" in doctored.stdout
    assert keyed.requests and all(seen.headers.get("authorization") == f"Bearer {KEY}" for seen in keyed.requests)
    text_path = validate_sidecar(sidecar_of(inbox / "invoice_two_dates.png"))  # the OCR text path, through edge watch
    assert text_path["status"] == "ok" and text_path["model"]["text_model"]["name"] == GEMMA
    assert keyed.chats("2024-04-15") and text_path["model"]["usage"]["prompt_tokens"] > 0
    outputs = [daemon.log(), processed.stdout, processed.stderr, listed.stdout, listed.stderr, doctored.stdout,
               doctored.stderr]
    outputs += [path.read_text() for path in [*inbox.glob("*.json"), *folder.glob("*.json")]]
    assert len(outputs) == 7 + 5 and "DEBUG" in daemon.log()
    assert not [text for text in outputs if KEY in text or KEY[8:] in text]
    assert not [p for p in state.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]

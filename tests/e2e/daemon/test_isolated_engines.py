"""Issue 19, engines in worker processes (the default for native engines, or `isolate = true`): a crash in the model's process fails that
file (`engine_crashed`, the signal named) after at most `max_crashes` attempts; the daemon stays up and
answers the rest, and so does `edge process`. Real SIGSEGV, real kill -9 of the worker."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

from tests.helpers import (
    ROOT,
    documents,
    edge_env,
    error_of,
    run_edge,
    sidecar_of,
    validate_sidecar,
    wait_for,
    write_config,
)
from tests.helpers.crashing_engine import MARK
from tests.helpers.daemon import DaemonProcess

CRASHING = "tests.helpers.crashing_engine:CrashingEngine"
WORKER = re.compile(r"event=worker_started model=crashy pid=(\d+)")


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def drop(inbox: Path, count: int) -> tuple[Path, list[Path]]:
    good = []
    for index in range(count):
        path = inbox / f"f{index:02d}.txt"
        path.write_text(f"file number {index}\n")
        good.append(path)
    bad = inbox / "bad.txt"
    bad.write_text("the engine dies on this one\n")
    return bad, good


def isolated_config(tmp_path: Path, how: str) -> Path:
    return write_config(tmp_path / "models.toml",
                        f'[models.crashy]\nengine = "{CRASHING}"\nisolate = true\ncrash_on = "bad.txt"\nhow = "{how}"\n'
                        '[[routes]]\nname = "all"\ntask = "metadata"\nmodel = "crashy"\n')


def answered(bad: Path, good: list[Path]) -> bool:
    return error_of(bad).exists() and all(sidecar_of(path).exists() for path in good)


def assert_engine_crashed(bad: Path, says: str) -> None:
    error = validate_sidecar(error_of(bad))["error"]
    assert (error["code"], error["attempts"]) == ("engine_crashed", 2)  # max_crashes = 2, the default
    assert error["message"] == f"the worker process of model crashy {says} while handling this file"
    assert not sidecar_of(bad).exists()


def test_watch_a_worker_crash_fails_one_file_and_the_daemon_stays_up(inbox, tmp_path):
    bad, good = drop(inbox, 20)
    daemon = DaemonProcess(inbox, isolated_config(tmp_path, "segv"), tmp_path / "state").wait_ready()
    wait_for(lambda: answered(bad, good) or daemon.proc.poll() is not None, 120, what="every file answered")
    wait_for(lambda: daemon.count(f"event=dead path={bad} code=engine_crashed"), 30, what="the dead line")
    assert daemon.proc.poll() is None, daemon.log()  # the daemon itself never died
    report = json.loads(run_edge("status", "--json", "--state-dir", str(tmp_path / "state")).stdout)
    assert daemon.terminate() == 0

    assert_engine_crashed(bad, "died by SIGSEGV (a crash in native code)")
    assert daemon.count("event=worker_died model=crashy") == 2
    assert daemon.count(f"event=start path={bad} model=crashy") == 2  # each attempt named before the call
    assert daemon.count("event=crash_found") == 0
    for path in good:
        assert validate_sidecar(sidecar_of(path))["status"] == "ok"
    assert (report["counts"]["dead"], report["counts"]["done"]) == (1, 20)


def test_process_goes_on_over_the_batch_and_exits_1(inbox, tmp_path):
    bad, good = drop(inbox, 20)
    result = run_edge("process", str(inbox), "--config", str(isolated_config(tmp_path, "abort")),
                      "--state-dir", str(tmp_path / "state"), env=edge_env(PYTHONPATH=str(ROOT)), cwd=ROOT)
    assert result.returncode == 1, result.stderr
    assert_engine_crashed(bad, "died by SIGABRT (a crash in native code)")
    for path in good:
        assert validate_sidecar(sidecar_of(path))["status"] == "ok"


def test_a_worker_killed_like_the_oom_killer_does_is_reported_as_such(inbox, tmp_path):
    bad, good = drop(inbox, 5)
    daemon = DaemonProcess(inbox, isolated_config(tmp_path, "hang"), tmp_path / "state").wait_ready()
    for attempt in (1, 2):
        # one worker slot, and a new worker only after a death: worker number `attempt` holds bad.txt
        wait_for(lambda n=attempt: daemon.count(f"event=start path={bad} model=crashy") == n
                 and len(WORKER.findall(daemon.log())) == n, 60, what=f"bad.txt in flight, attempt {attempt}")
        pid = int(WORKER.findall(daemon.log())[-1])
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: answered(bad, good), 60, what="every file answered")
    assert daemon.proc.poll() is None, daemon.log()
    assert daemon.terminate() == 0
    assert_engine_crashed(bad, "was killed by SIGKILL (the kernel's OOM killer, or kill -9)")
    assert all(validate_sidecar(sidecar_of(path))["status"] == "ok" for path in good)


def test_the_cpu_tier_runs_in_workers_by_default(inbox, tmp_path):
    """The shipped CPU tier's models, with no `isolate` key: a SIGSEGV inside the OCR engine on one page
    fails that page, and `edge process` answers the other pages through the real RapidOCR in its worker."""
    good = []
    for index, draw in enumerate((documents.draw_invoice, documents.draw_claim_form)):
        draw().save(inbox / f"page{index}.png")
        good.append(inbox / f"page{index}.png")
    bad = inbox / "bad.png"
    documents.draw_invoice({**documents.invoice_truth(), "vendor_name": MARK}).save(bad)
    config = write_config(tmp_path / "models.toml",
                          '[models.ocr-small]\nengine = "tests.helpers.crashing_engine:CrashingOcrEngine"\n'
                          'text_model = "small-text"\n'
                          '[models.small-text]\nengine = "llamacpp"\nmodel = "embedded:gemma3-270m"\n'
                          '[[routes]]\nname = "documents"\nmedia = ["image"]\ntask = "extract"\n'
                          'schema = "document"\ntiers = ["ocr-small"]\n')
    result = run_edge("process", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "state"),
                      env=edge_env(PYTHONPATH=str(ROOT)), cwd=ROOT)
    assert result.returncode == 1, result.stderr
    error = validate_sidecar(error_of(bad))["error"]
    assert error["code"] == "engine_crashed"
    assert error["message"] == ("the worker process of model ocr-small died by SIGSEGV (a crash in native code)"
                                " while handling this file")
    for path in good:
        doc = validate_sidecar(sidecar_of(path))
        assert doc["status"] == "ok" and doc["model"]["name"] == "ocr-small", doc

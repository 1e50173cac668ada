"""Issue 19, crash quarantine: a file that takes the process down is `dead` (`crashed`) after at most
`max_crashes` deaths, and every other file of the folder is answered.

The daemon runs as systemd's `Restart=on-failure` would have it: the test starts it again each time it
dies, and counts. The crashes are real: SIGSEGV and SIGABRT from the engine, kill -9 from the test.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.helpers import error_of, run_edge, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers.audio import have_tools, speak
from tests.helpers.daemon import DaemonProcess

CRASHING = "tests.helpers.crashing_engine:CrashingEngine"
BAD = "bad.txt"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def drop(inbox: Path, count: int) -> tuple[Path, list[Path]]:
    """The file the engine dies on, and `count` good ones."""
    good = []
    for index in range(count):
        path = inbox / f"f{index:02d}.txt"
        path.write_text(f"file number {index}\n")
        good.append(path)
    bad = inbox / BAD
    bad.write_text("the engine dies on this one\n")
    return bad, good


def crashing_config(tmp_path: Path, how: str, edge: str = "", **options: str) -> Path:
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
    return write_config(tmp_path / "models.toml",
                        f'{edge}[models.crashy]\nengine = "{CRASHING}"\ncrash_on = "{BAD}"\nhow = "{how}"\n{extra}'
                        '[[routes]]\nname = "all"\ntask = "metadata"\nmodel = "crashy"\n')


def answered(bad: Path, good: list[Path]) -> bool:
    return error_of(bad).exists() and all(sidecar_of(path).exists() for path in good)


def last_start(daemon: DaemonProcess) -> str:
    """The last `event=start` line the daemon wrote before it died."""
    starts = [line for line in list(daemon.lines) if "event=start " in line]
    assert starts, daemon.log()
    return starts[-1]


def until_answered(start, bad: Path, good: list[Path], limit: int) -> tuple[list[int], list[DaemonProcess]]:
    """Start the daemon again each time it dies (at most `limit` deaths) until every file is answered;
    returns the exit codes of the deaths and every run, the last one still up."""
    deaths: list[int] = []
    runs: list[DaemonProcess] = []
    while True:
        daemon = start()
        runs.append(daemon)
        try:
            wait_for(lambda d=daemon: d.proc.poll() is not None or answered(bad, good), 120, interval=0.05,
                     what="the daemon to die or every file to be answered")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; run {len(runs)} logged:\n{daemon.log()[-6000:]}") from None
        if daemon.proc.poll() is None:
            return deaths, runs
        daemon.kill()  # reaps it and its log
        deaths.append(daemon.proc.returncode)
        assert len(deaths) <= limit, f"restarted more than max_crashes = {limit} times:\n{daemon.log()}"


def assert_quarantined(bad: Path, crashes: int, times: str) -> None:
    doc = validate_sidecar(error_of(bad))
    assert doc["status"] == "failed" and doc["source"]["name"] == BAD
    error = doc["error"]
    assert (error["code"], error["attempts"], error["transient"]) == ("crashed", crashes, False)
    assert error["message"] == f"edge stopped while handling this file ({times})"
    assert f"edge retry {bad}" in error["hint"] and "journalctl" in error["hint"]
    assert not sidecar_of(bad).exists()


def assert_status_shows(report: dict, bad: Path, crashes: int, good: int) -> None:
    counts = report["counts"]
    assert (counts["dead"], counts["done"], counts["pending"], counts["running"]) == (1, good, 0, 0), counts
    [entry] = [e for e in report["last_errors"] if e["path"] == str(bad)]
    assert (entry["status"], entry["crashes"]) == ("dead", crashes)
    assert entry["error"].startswith("edge stopped while handling this file (")


@pytest.mark.parametrize("ledger", ["sqlite", "postgresql"])
def test_a_file_that_crashes_the_daemon_is_quarantined_and_the_rest_answered(ledger, inbox, tmp_path, request):
    how, signum = ("segv", signal.SIGSEGV) if ledger == "sqlite" else ("abort", signal.SIGABRT)
    bad, good = drop(inbox, 20)
    state = ["--state-url", request.getfixturevalue("pg_url")] if ledger == "postgresql" else []
    config = crashing_config(tmp_path, how, "lease = 1\n")  # a dead daemon's leases expire quickly

    deaths, runs = until_answered(lambda: DaemonProcess(inbox, config, tmp_path / "state", *state),
                                  bad, good, limit=2)
    last = runs[-1]
    wait_for(lambda: last.count(f"event=dead path={bad} code=crashed"), 30, what="the dead line")
    report = json.loads(run_edge("status", "--json", "--state-dir", str(tmp_path / "state"), *state).stdout)
    text = run_edge("status", "--state-dir", str(tmp_path / "state"), *state).stdout
    assert last.terminate() == 0

    assert deaths == [-signum, -signum]  # max_crashes = 2 (the default): two deaths, then quarantined
    for died in runs[:-1]:  # the journal names the file each death happened on
        assert f"event=start path={bad} model=crashy" in last_start(died), died.log()
    counted = [line for line in list(last.lines) if f"path={bad} " in line and "crashes=2" in line]
    assert any("event=crash_found" in line or "event=lease_taken" in line for line in counted), last.log()
    assert last.count(f"path={bad} model=crashy") == 0  # quarantined, not run a third time
    assert_quarantined(bad, 2, "twice")
    for path in good:
        assert validate_sidecar(sidecar_of(path))["status"] == "ok"
    assert_status_shows(report, bad, 2, good=20)
    assert f"dead {bad} (attempts 0, edge stopped 2x while handling it): edge stopped while handling this file" \
        " (twice)" in text, text


def test_kill_9_twice_mid_file_then_dead_and_edge_retry_gives_another_chance(inbox, tmp_path):
    bad, good = drop(inbox, 5)
    flag = tmp_path / "hang"
    flag.touch()
    config = crashing_config(tmp_path, "hang", "rescan = 0.5\n", while_flag=str(flag))
    state = tmp_path / "state"

    for _ in range(2):  # kill -9 while the daemon is inside the model call on bad.txt
        daemon = DaemonProcess(inbox, config, state)
        wait_for(lambda d=daemon: d.count(f"event=start path={bad} model=crashy"), 60, what="bad.txt in flight")
        os.kill(daemon.proc.pid, signal.SIGKILL)
        daemon.kill()
    assert not error_of(bad).exists()

    daemon = DaemonProcess(inbox, config, state).wait_ready()
    wait_for(lambda: answered(bad, good), 60, what="bad.txt quarantined and the rest answered")
    wait_for(lambda: daemon.count(f"event=dead path={bad} code=crashed"), 30, what="the dead line")
    assert daemon.count(f"path={bad} model=crashy") == 0  # the third start does not run it again
    assert_quarantined(bad, 2, "twice")
    assert_status_shows(json.loads(run_edge("status", "--json", "--state-dir", str(state)).stdout), bad, 2, good=5)

    flag.unlink()  # whatever made it crash is fixed: another chance
    retried = run_edge("retry", str(bad), "--state-dir", str(state))
    assert retried.returncode == 0 and "1 file(s) queued again" in retried.stdout, retried.stderr
    wait_for(lambda: sidecar_of(bad).exists(), 60, what="bad.txt answered after edge retry")
    assert daemon.terminate() == 0
    assert validate_sidecar(sidecar_of(bad))["status"] == "ok" and not error_of(bad).exists()
    report = json.loads(run_edge("status", "--json", "--state-dir", str(state)).stdout)
    assert report["counts"]["done"] == 6 and report["counts"]["dead"] == 0


LONG_SPEECH = " ".join(["The quarterly report covers deliveries, invoices and the payments still open."] * 12)
WHISPER = ('[models.asr]\nengine = "faster-whisper"\nmodel = "embedded:base"\n'
           '[[routes]]\nname = "audio"\nmedia = ["audio"]\ntask = "transcribe"\nmodel = "asr"\n')


@pytest.mark.skipif(have_tools() is not None, reason=str(have_tools()))
def test_kill_9_twice_while_real_whisper_transcribes_a_long_recording(inbox, tmp_path):
    long = speak(LONG_SPEECH, tmp_path / "long.wav").rename(inbox / "long.wav")  # about a minute of speech
    notes = [inbox / f"note{index}.txt" for index in range(3)]
    for index, note in enumerate(notes):
        note.write_text(f"note {index}\n")
    config = write_config(tmp_path / "models.toml", WHISPER)
    state = tmp_path / "state"
    for _ in range(2):  # kill -9 once Whisper has the recording
        daemon = DaemonProcess(inbox, config, state)
        wait_for(lambda d=daemon: d.count(f"event=start path={long} model=asr"), 120, what="the recording in flight")
        os.kill(daemon.proc.pid, signal.SIGKILL)
        daemon.kill()

    daemon = DaemonProcess(inbox, config, state).wait_ready()
    wait_for(lambda: error_of(long).exists() and all(sidecar_of(note).exists() for note in notes), 120,
             what="the recording quarantined and the notes answered")
    assert daemon.count(f"event=crash_found path={long} crashes=2") == 1, daemon.log()
    assert daemon.terminate() == 0
    assert daemon.count(f"path={long} model=asr") == 0  # not transcribed a third time
    error = validate_sidecar(error_of(long))["error"]
    assert (error["code"], error["message"]) == ("crashed", "edge stopped while handling this file (twice)")
    assert all(validate_sidecar(sidecar_of(note))["status"] == "ok" for note in notes)

"""Acceptance 1, 2, 6 of the daemon core: files are taken once, when they have arrived."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import error_of, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers.daemon import DaemonProcess

NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def daemon(tmp_path: Path, inbox: Path):
    started: list[DaemonProcess] = []

    def start(config_text: str = "", *extra: str, prefix=None) -> DaemonProcess:
        config = write_config(tmp_path / "models.toml", config_text)
        process = DaemonProcess(inbox, config, tmp_path / "state", *extra, prefix=prefix).wait_ready()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.kill()


def done_events(daemon: DaemonProcess, path: Path) -> int:
    return daemon.count(f"event=done path={path} ")


def drain(daemon: DaemonProcess, inbox: Path) -> None:
    """A marker file dropped last and processed proves earlier events are through."""
    marker = inbox / f"zz-marker-{time.monotonic_ns()}.txt"
    marker.write_text("marker")
    wait_for(lambda: sidecar_of(marker).exists(), 30, what="marker sidecar")


def test_slow_writer_yields_one_job_after_the_last_write(daemon, inbox):
    proc = daemon()
    target = inbox / "slow.bin"
    with open(target, "wb") as handle:  # a writer that keeps the file open, as cp or a scanner does
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            handle.write(os.urandom(4096))
            handle.flush()
            time.sleep(0.25)  # the writer's pace, not a synchronisation
        last_write = time.time()
    final_size = target.stat().st_size
    doc = validate_sidecar(wait_for(lambda: sidecar_of(target).exists() and sidecar_of(target), 30))
    drain(proc, inbox)
    assert proc.terminate() == 0
    assert done_events(proc, target) == 1, proc.log()
    assert doc["source"]["size"] == final_size
    assert os.stat(sidecar_of(target)).st_mtime > last_write


def test_rsync_rename_big_copy_nested_and_part_rename_each_once(daemon, inbox, tmp_path):
    proc = daemon()
    # rsync: writes `.name.XXXXXX` then renames it into place
    temp = inbox / ".report.txt.Ab12Cd"
    temp.write_text("rsync payload " * 100)
    rsynced = inbox / "report.txt"
    os.rename(temp, rsynced)
    # a 200 MB copy
    big_source = tmp_path / "big.bin"
    with open(big_source, "wb") as handle:
        for _ in range(200):
            handle.write(os.urandom(1 << 20))
    big = inbox / "big.bin"
    shutil.copyfile(big_source, big)
    # a file dropped into a new nested folder
    nested = inbox / "a" / "b" / "c" / "deep.txt"
    nested.parent.mkdir(parents=True)
    nested.write_text("deep")
    # a browser download finishing: `.part` renamed to the real name
    part = inbox / "download.pdf.part"
    part.write_bytes(b"a finished download")
    renamed = inbox / "download.txt"
    os.rename(part, renamed)

    files = [rsynced, big, nested, renamed]
    wait_for(lambda: all(sidecar_of(p).exists() for p in files), 120, what="four sidecars")
    drain(proc, inbox)
    assert proc.terminate() == 0
    for path in files:
        assert done_events(proc, path) == 1, f"{path.name}:\n{proc.log()}"
        doc = validate_sidecar(sidecar_of(path))
        assert doc["source"]["size"] == path.stat().st_size
    assert not sidecar_of(temp).exists() and not sidecar_of(part).exists()
    assert validate_sidecar(sidecar_of(big))["source"]["size"] == 200 << 20


def test_polling_mode_picks_up_files(daemon, inbox):
    proc = daemon("", "--poll", "0.2")
    dropped = inbox / "polled.txt"
    dropped.write_text("seen by the poller")
    validate_sidecar(wait_for(lambda: sidecar_of(dropped).exists() and sidecar_of(dropped), 30))
    assert "mode=poll:0.2s" in proc.log()
    assert proc.terminate() == 0


def test_read_only_inbox_with_output_dir(daemon, inbox, tmp_path):
    (inbox / "sub").mkdir()
    files = [inbox / "one.txt", inbox / "sub" / "two.txt"]
    for path in files:
        path.write_text(path.name)
    for folder in (inbox / "sub", inbox):
        folder.chmod(0o555)
    out = tmp_path / "out"
    try:
        proc = daemon("", "--output-dir", str(out), prefix=NO_DAC)
        mirrored = [out / "one.txt.json", out / "sub" / "two.txt.json"]
        wait_for(lambda: all(p.exists() for p in mirrored), 30, what="mirrored sidecars")
        for source, side in zip(files, mirrored):
            assert validate_sidecar(side)["source"]["name"] == source.name
        assert sorted(p.name for p in inbox.rglob("*")) == ["one.txt", "sub", "two.txt"]
        assert proc.terminate() == 0
    finally:
        for folder in (inbox, inbox / "sub"):
            folder.chmod(0o755)


def test_symlink_fifo_unreadable_and_foreign_sidecar(daemon, inbox, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the root")
    (inbox / "link.txt").symlink_to(outside)
    os.mkfifo(inbox / "pipe")
    locked = inbox / "locked.txt"
    locked.write_text("no one may read this")
    locked.chmod(0o000)
    foreign_target = inbox / "x.jpg"
    from PIL import Image

    Image.new("RGB", (8, 8), "blue").save(foreign_target)
    foreign = sidecar_of(foreign_target)
    foreign.write_text('{"mine": "a user file, not edge\'s"}')

    proc = daemon(prefix=NO_DAC)
    wait_for(lambda: error_of(locked).exists(), 30, what="error sidecar for the unreadable file")
    error = validate_sidecar(error_of(locked))
    assert error["status"] == "failed" and error["error"]["code"] == "unreadable"
    drain(proc, inbox)
    wait_for(lambda: proc.count("foreign_sidecar") or proc.count("was not written by edge"), 30, what="foreign report")
    assert proc.proc.poll() is None  # the FIFO did not hang or kill it
    assert proc.terminate() == 0
    assert json.loads(foreign.read_text()) == {"mine": "a user file, not edge's"}
    assert not error_of(foreign_target).exists()
    assert not sidecar_of(inbox / "link.txt").exists() and not sidecar_of(inbox / "pipe").exists()
    assert "symbolic link points outside" in proc.log()
    assert "not a regular file (FIFO)" in proc.log()

"""A full disk is the machine's fault, not the file's: edge waits, marks nothing failed, then completes.

The output folder is a real tmpfs of 256 KiB mounted by the test (as root) and
filled with a ballast file so that it runs out mid-run; deleting the ballast
frees the space.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from edge import sidecar
from tests.helpers import run_edge, validate_sidecar, wait_for, write_config
from tests.helpers.daemon import DaemonProcess, status_json

FILES = 24


@pytest.fixture()
def small_disk(tmp_path):
    mount = tmp_path / "out"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path, leave: int = 12 * 1024) -> Path:
    """A ballast file that leaves about `leave` bytes: room for a few sidecars, not for all."""
    stat = os.statvfs(mount)
    ballast = mount / "ballast"
    ballast.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return ballast


def inbox_with_files(tmp_path: Path) -> tuple[Path, list[Path]]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = []
    for index in range(FILES):
        path = inbox / f"note-{index:02d}.txt"
        path.write_text(f"note {index}\n" * 20)
        files.append(path)
    return inbox, files


def outputs(mount: Path, files: list[Path]) -> list[Path]:
    return [mount / (path.name + ".json") for path in files]


def no_partial_files(mount: Path) -> None:
    for path in mount.iterdir():
        assert not path.name.startswith(sidecar.TEMP_PREFIX), f"temp file left: {path.name}"
        if path.suffix == ".json":
            validate_sidecar(path)  # whole, valid JSON: never half a sidecar


def test_daemon_waits_for_space_and_completes_every_file(tmp_path, small_disk):
    inbox, files = inbox_with_files(tmp_path)
    ballast = fill(small_disk)
    config = write_config(tmp_path / "models.toml")
    daemon = DaemonProcess(inbox, config, tmp_path / "state", "--output-dir", str(small_disk))
    try:
        wait_for(lambda: daemon.count("event=storage_unavailable") or daemon.proc.poll() is not None, 60,
                 what=f"the disk to fill\n{daemon.log()}")
        assert daemon.proc.poll() is None, daemon.log()
        line = next(line for line in daemon.lines if "event=storage_unavailable" in line)
        assert "code=disk_full" in line and "No space left on device" in line and "free space" in line, line
        written = sum(path.exists() for path in outputs(small_disk, files))
        assert written < FILES
        no_partial_files(small_disk)
        counts = status_json(tmp_path / "state")["counts"]
        assert counts.get("failed", 0) == 0 and counts.get("dead", 0) == 0, counts
        ballast.unlink()
        wait_for(lambda: all(path.exists() for path in outputs(small_disk, files)), 120,
                 what=f"every sidecar after space came back\n{daemon.log()}")
        no_partial_files(small_disk)
        counts = status_json(tmp_path / "state")["counts"]
        assert counts.get("failed", 0) == 0 and counts.get("dead", 0) == 0 and counts.get("done") == FILES, counts
    finally:
        assert daemon.terminate() == 0, daemon.log()
    assert not any(inbox.glob("*.error.json"))


def test_edge_process_on_a_full_disk_exits_non_zero_and_fails_nothing(tmp_path, small_disk):
    inbox, files = inbox_with_files(tmp_path)
    fill(small_disk, leave=0)
    config = write_config(tmp_path / "models.toml")
    done = run_edge("process", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "state"),
                    "--output-dir", str(small_disk))
    assert done.returncode == 1, done.stderr
    message = [line for line in done.stderr.splitlines() if "No space left on device" in line]
    assert len(message) == 1 and str(small_disk) in message[0] and "none marked failed" in message[0], done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    no_partial_files(small_disk)
    counts = status_json(tmp_path / "state")["counts"]
    assert counts.get("failed", 0) == 0 and counts.get("dead", 0) == 0, counts

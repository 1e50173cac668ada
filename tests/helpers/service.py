"""Helpers for the service tests: a real sd_notify socket, the daemon's [edge] settings, a child's output."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WATCHDOG_USEC = 400_000  # the daemon pings every 0.2 s


class NotifySocket:
    """The AF_UNIX datagram socket systemd would pass as $NOTIFY_SOCKET."""

    def __init__(self) -> None:
        # sun_path is limited to 108 bytes: pytest's tmp_path can be longer.
        self.dir = Path(tempfile.mkdtemp(prefix="sdn", dir="/tmp"))
        self.path = self.dir / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[str] = []

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except TimeoutError:
            return None
        self.messages.append(data)
        return data

    def drain(self) -> list[str]:
        """Whatever has arrived by now, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self.messages

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60, what: str = "message") -> str:
        """Receive until a message satisfies predicate; fail after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if message is not None and predicate(message):
                return message
        raise AssertionError(f"no {what} on NOTIFY_SOCKET within {timeout}s; got {self.messages[-10:]}")

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()


# The [edge] table of the service tests' models.toml (tests.helpers.write_config(path, text, edge=SERVICE_EDGE)).
SERVICE_EDGE = {"settle": 0.2, "rescan": 0, "grace": 5}


def stop(proc: subprocess.Popen, timeout: float = 30) -> str:
    """SIGTERM, wait, and return everything the process printed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def read_available(proc: subprocess.Popen) -> str:
    """What the process has written to its stdout pipe so far (non-blocking)."""
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, True)
    return b"".join(chunks).decode(errors="replace")

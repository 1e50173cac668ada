"""Running the real daemon (`edge watch`) in a subprocess and reading its log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.helpers import ROOT, edge_env, error_of, sidecar_of, wait_for


class DaemonProcess:
    """`edge watch` as systemd would run it: a child process, logs on stderr."""

    def __init__(self, inbox: Path, config: Path, state: Path, *extra: str, prefix: list[str] | None = None,
                 env: dict[str, str] | None = None):
        command = [*(prefix or []), sys.executable, "-m", "edge", "watch", str(inbox), "--config", str(config),
                   "--state-dir", str(state), "--log-level", "DEBUG", *extra]
        environment = env or edge_env(PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=environment, cwd=ROOT)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, needle: str) -> int:
        return sum(needle in line for line in list(self.lines))

    def wait_ready(self, timeout: float = 60) -> DaemonProcess:
        wait_for(lambda: self.count("event=ready") or self.proc.poll() is not None, timeout, what="daemon ready")
        assert self.proc.poll() is None, f"daemon exited early:\n{self.log()}"
        wait_for(lambda: self.count("event=scan_done"), timeout, what="start-up scan")
        return self

    def terminate(self, timeout: float = 40) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


def status_json(state: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "edge", "status", "--json", "--state-dir", str(state)],
                         capture_output=True, text=True, check=True, env=edge_env(), cwd=ROOT)
    return json.loads(out.stdout)


def sidecars_done(paths: list[Path]) -> bool:
    return all(sidecar_of(p).exists() or error_of(p).exists() for p in paths)


def mtimes(paths: list[Path]) -> dict[Path, int]:
    return {p: os.stat(p).st_mtime_ns for p in paths}

"""The systemd units in service/: `systemd-analyze verify` on each, and the hardening they promise.

The system unit is verified inside a temp root (systemd's own units copied in,
the ExecStart binary and /bin/kill stubbed), the user unit with a temp $HOME.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edge.config import Settings
from tests.helpers import ROOT

SERVICE = ROOT / "service"
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (Debian package systemd)")


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value (DeviceAllow= and friends repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def unit(name: str) -> dict[str, list[str]]:
    return parse_unit((SERVICE / name).read_text())["Service"]


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value)
    assert match, f"unexpected time span {value!r}"
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


def stub_executable(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def verify_system_unit(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    exec_start = parse_unit(text)["Service"]["ExecStart"][0].split()[0]
    stub_executable(root / exec_start.lstrip("/"))
    stub_executable(root / "bin/kill")
    target = root / "etc/systemd/system/edge.service"
    target.parent.mkdir(parents=True)
    target.write_text(text)
    return subprocess.run([ANALYZE, "verify", f"--root={root}", "/etc/systemd/system/edge.service"],
                          capture_output=True, text=True, timeout=120)


def verify_user_unit(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    stub_executable(home / ".local/bin/edge")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    target = home / "edge.service"
    target.write_text(text)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "XDG_CONFIG_HOME": str(home / ".config")}
    return subprocess.run([ANALYZE, "--user", "verify", str(target)], capture_output=True, text=True, timeout=120,
                          env=env)


def test_every_unit_in_service_is_covered():
    assert sorted(p.name for p in SERVICE.glob("*.service")) == ["edge-user.service", "edge.service"]


def test_system_unit_verifies_clean(tmp_path):
    result = verify_system_unit(tmp_path, (SERVICE / "edge.service").read_text())
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_user_unit_verifies_clean(tmp_path):
    result = verify_user_unit(tmp_path, (SERVICE / "edge-user.service").read_text())
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt directive and a bad value are reported."""
    text = (SERVICE / "edge.service").read_text().replace("ProtectSystem=strict", "ProtectSystm=strict")
    text = text.replace("WatchdogSec=60", "WatchdogSec=soon")
    output = verify_system_unit(tmp_path, text)
    assert "Unknown key 'ProtectSystm'" in output.stderr and "soon" in output.stderr


def test_system_unit_hardening():
    service = unit("edge.service")
    expected = {
        "User": "edge", "StateDirectory": "edge", "Type": "notify", "Restart": "on-failure",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "IPAddressDeny": "any", "IPAddressAllow": "localhost", "DevicePolicy": "closed",
    }
    for key, value in expected.items():
        assert service.get(key) == [value], f"{key}= should be {value}, is {service.get(key)}"
    assert service["ReadWritePaths"], "the inboxes must be writable under ProtectSystem=strict"
    assert any("nvidia" in rule for rule in service["DeviceAllow"])
    assert seconds(service["WatchdogSec"][0]) > 0


def test_stop_timeout_outlasts_the_grace_period():
    env = parse_env((SERVICE / "edge.env").read_text())
    for name in ("edge.service", "edge-user.service"):
        service = unit(name)
        grace = max(float(env["EDGE_GRACE"]), Settings().grace)
        assert seconds(service["TimeoutStopSec"][0]) > grace, name
        assert "--grace ${EDGE_GRACE}" in service["ExecStart"][0]


def test_both_units_run_edge_watch_with_the_environment_file():
    for name in ("edge.service", "edge-user.service"):
        service = unit(name)
        assert " watch " in service["ExecStart"][0] and service["ExecStart"][0].split()[0].endswith("/edge")
        assert service["EnvironmentFile"][0].endswith("edge/edge.env")
        assert service["Type"] == ["notify"] and service["Restart"] == ["on-failure"]
        assert seconds(service["WatchdogSec"][0]) > 0
    assert parse_unit((SERVICE / "edge-user.service").read_text())["Install"]["WantedBy"] == ["default.target"]


def parse_env(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"not KEY=VALUE: {line!r}"
            pairs[key] = value
    return pairs


def test_example_env_defines_what_execstart_uses():
    env = parse_env((SERVICE / "edge.env").read_text())
    used = set(re.findall(r"\$\{?([A-Z_]+)\}?", unit("edge.service")["ExecStart"][0]))
    assert used - {"MAINPID"} <= set(env), used - set(env)


def test_security_exposure_is_low(tmp_path):
    """systemd's own score of the sandbox (0 = locked down, 10 = exposed)."""
    root = tmp_path / "root"
    verify_system_unit(tmp_path, (SERVICE / "edge.service").read_text())
    result = subprocess.run([ANALYZE, "security", "--offline=true", f"--root={root}", "edge.service"],
                            capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for edge.service: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 3.0

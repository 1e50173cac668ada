"""`edge doctor` against conditions built in a temp environment.

Each broken condition must give the right FAIL or WARN line, with its fix,
and the right exit code (1 on any FAIL, 0 otherwise, 2 for a bad config).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import doctor as doc
from edge.configure import parse_config
from edge.gpu import Discovery, GpuInfo
from tests.helpers import edge_env, run_edge
from tests.helpers.ollama_double import OllamaDouble


def lines_of(output: str, level: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(level) and f" {name}" in line]


@pytest.fixture
def place(tmp_path):
    """A healthy temp environment: inbox with a few folders, state dir, a roomy inotify limit."""
    inbox = tmp_path / "inbox"
    for sub in ("a", "b", "c/d"):
        (inbox / sub).mkdir(parents=True)
    limit = tmp_path / "max_user_watches"
    limit.write_text("8192\n")
    return tmp_path


def doctor(place: Path, config_text: str = "", state: Path | None = None, limit: str | None = None,
           prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    config = place / "models.toml"
    config.write_text(config_text)
    if limit is not None:
        (place / "max_user_watches").write_text(limit)
    env = edge_env(EDGE_INOTIFY_WATCHES_FILE=str(place / "max_user_watches"))
    args = ["doctor", str(place / "inbox"), "--config", str(config), "--state-dir", str(state or place / "state")]
    if prefix:
        return subprocess.run([*prefix, sys.executable, "-m", "edge", *args], capture_output=True, text=True,
                              timeout=120, env=env)
    return run_edge(*args, env=env, timeout=120)


def test_healthy_environment_passes(place):
    result = doctor(place)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_of(result.stdout, "OK", "python:")
    assert lines_of(result.stdout, "OK", "state dir:")
    assert "5 folders to watch, limit 8192" in result.stdout
    assert "0 failed" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


def test_missing_model_file_fails(place):
    missing = place / "models" / "whisper-large-v3"
    gguf = place / "models" / "qwen.gguf"
    result = doctor(place, f"""
[models.asr]
engine = "faster-whisper"
model = "{missing}"

[models.local]
engine = "llamacpp"
model = "{gguf}"
""")
    assert result.returncode == 1, result.stdout
    asr, local = lines_of(result.stdout, "FAIL", "model asr"), lines_of(result.stdout, "FAIL", "model local")
    assert asr and str(missing) in asr[0] and "-> fix:" in asr[0]
    assert local and "model file not found" in local[0] and "-> fix:" in local[0]


def test_unwritable_state_dir_fails(place):
    state = place / "state"
    state.mkdir()
    if os.geteuid() == 0:
        # root ignores permission bits: make it a read-only mount, as ProtectSystem=strict would
        script = f'mount --bind "{state}" "{state}" && mount -o remount,bind,ro "{state}" && exec "$@"'
        prefix = ["unshare", "-m", "sh", "-c", script, "sh"]
        if shutil.which("unshare") is None:
            pytest.skip("unshare (util-linux) is needed to make a read-only state dir as root")
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            pytest.skip(f"cannot create a mount namespace here: {probe.stderr.strip()}")
    else:
        state.chmod(0o555)
        prefix = None
    try:
        result = doctor(place, state=state, prefix=prefix)
    finally:
        state.chmod(0o755)
    assert result.returncode == 1, result.stdout + result.stderr
    line = lines_of(result.stdout, "FAIL", "state dir:")
    assert line and f"cannot write {state}" in line[0] and "--state-dir" in line[0], result.stdout


def test_ollama_at_an_incompatible_version_fails(place):
    with OllamaDouble(version="0.31.0") as server:
        result = doctor(place, f"""
[models.vision]
engine = "ollama"
model = "llama3.2-vision:11b"
host = "{server.host}"
""")
    assert result.returncode == 1, result.stdout
    fails = lines_of(result.stdout, "FAIL", "model vision")
    assert fails, result.stdout
    assert any("0.31.0" in line and "0.24.0" in line for line in fails), fails
    assert lines_of(result.stdout, "OK", "model vision")  # reachable and pulled: only the version is wrong


def test_ollama_at_a_compatible_version_passes(place):
    with OllamaDouble(version="0.24.0") as server:
        result = doctor(place, f'[models.vision]\nengine = "ollama"\nmodel = "llama3.2-vision:11b"\nhost = "{server.host}"\n')
    assert result.returncode == 0, result.stdout
    assert lines_of(result.stdout, "OK", "model vision") and "0.24.0" in result.stdout


def test_low_inotify_limit(place):
    failing = doctor(place, limit="4\n")  # inbox, a, b, c, c/d: 5 folders to watch
    assert failing.returncode == 1
    line = lines_of(failing.stdout, "FAIL", "inotify:")
    assert line and "5 folders to watch, limit 4" in line[0] and "fs.inotify.max_user_watches" in line[0]
    tight = doctor(place, limit="8\n")
    assert tight.returncode == 0, tight.stdout
    assert lines_of(tight.stdout, "WARN", "inotify:") and "--poll" in tight.stdout


def test_missing_inbox_fails(place):
    shutil.rmtree(place / "inbox")
    result = doctor(place)
    assert result.returncode == 1
    assert lines_of(result.stdout, "FAIL", "inbox") and "mkdir -p" in result.stdout


def test_invalid_config_exits_2(place):
    result = doctor(place, "[edge]\nsettel = 1\n")
    assert result.returncode == 2
    assert "settel" in result.stderr


# -- checks that need a machine this one is not: fed simulated facts ----------------------------


def gpu_config(**models: dict) -> object:
    return parse_config({"models": {name: {"engine": "faster-whisper", **spec} for name, spec in models.items()}})


SIM = Discovery(gpus=[GpuInfo(0, "Simulated 16 GB", 16000, 15500)], nvml="ok", ctranslate2_cuda=1,
                llama_gpu_offload=True)


def test_gpu_budget_fits():
    checks = doc.check_gpu(gpu_config(asr={"vram_mb": 3000}, vision={"vram_mb": 11600}), SIM)
    assert [c.level for c in checks] == ["ok", "ok"]
    assert "15500 MB free of 16000 MB" in checks[0].message and "14600 MB" in checks[1].message


def test_gpu_model_too_big_for_the_budget():
    checks = doc.check_gpu(gpu_config(big={"vram_mb": 20000}, spill={"vram_mb": 18000, "fallback": "cpu"}), SIM)
    by_name = {c.name: c for c in checks}
    assert by_name["vram big"].level == "fail" and "budget is 14976 MB" in by_name["vram big"].message  # 16000 - reserve 1024
    assert by_name["vram spill"].level == "warn" and "CPU" in by_name["vram spill"].message


def test_gpu_models_that_take_turns_warn():
    checks = doc.check_gpu(gpu_config(asr={"vram_mb": 6000}, vision={"vram_mb": 11600}), SIM)
    assert checks[-1].level == "warn" and "take turns" in checks[-1].message


def test_no_gpu_but_models_want_one():
    checks = doc.check_gpu(gpu_config(asr={"vram_mb": 3000}), Discovery(ctranslate2_cuda=0, llama_gpu_offload=False))
    assert [c.level for c in checks] == ["warn"] and "asr" in checks[0].message
    assert doc.check_gpu(gpu_config(asr={}), Discovery())[0].level == "ok"


def test_gpu_without_nvml():
    checks = doc.check_gpu(gpu_config(asr={"vram_mb": 3000}), Discovery(nvml="not installed", ctranslate2_cuda=1))
    assert checks[0].level == "warn" and "nvidia-ml-py" in checks[0].fix


@pytest.mark.parametrize("state, level", [
    ("LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n", "ok"),
    ("LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\n", "fail"),
    ("LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n", "warn"),
    ("LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n", "warn"),
])
def test_systemd_unit_states(state, level):
    seen = []

    def systemctl(args):
        seen.append(args)
        return state if args[0] != "--user" else "LoadState=not-found\n"

    checks = doc.check_systemd(systemctl, booted=True)
    assert [c.level for c in checks] == [level]
    assert checks[0].level == "ok" or checks[0].fix
    assert seen[0][:2] == ["show", "edge.service"]


def test_systemd_not_running_is_skipped():
    checks = doc.check_systemd(lambda args: pytest.fail("systemctl must not run"), booted=False)
    assert checks[0].level == "ok" and "skipped" in checks[0].message

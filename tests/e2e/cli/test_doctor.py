"""`edge doctor` against conditions built in a temp environment.

Each broken condition must give the right FAIL or WARN line, with its fix,
and the right exit code (1 on any FAIL, 0 otherwise, 2 for a bad config).
The checks fed simulated facts (a GPU, systemd) are in tests/unit/cli/test_doctor.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import edge_env, run_edge
from tests.helpers.gguf_models import N_EMBD, write_mmproj, write_vision_pair
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


# -- llamacpp models: a file that is not there, a projector that does not fit its model ----------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return write_vision_pair(tmp_path_factory.mktemp("gguf"))


def test_edge_doctor_names_a_missing_model_and_a_mismatched_mmproj(pair, tmp_path):
    wrong = write_mmproj(tmp_path / "wrong-mmproj.gguf", text_embd=N_EMBD // 2)
    config = tmp_path / "models.toml"
    config.write_text(f'[models.tiny]\nengine = "llamacpp"\nmodel = "{pair[0]}"\nmmproj = "{wrong}"\n'
                      f'[models.gone]\nengine = "llamacpp"\nmodel = "{tmp_path / "nope.gguf"}"\n')
    done = run_edge("doctor", "--config", str(config), "--state-dir", str(tmp_path / "state"), timeout=120)
    assert done.returncode != 0
    assert "model file not found" in done.stdout and "nope.gguf" in done.stdout
    assert "wrong-mmproj.gguf does not match" in done.stdout and f"n_embd is {N_EMBD}" in done.stdout

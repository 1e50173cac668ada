"""`edge doctor`: one line per check (OK, WARN or FAIL) with its fix; exit 1 on any FAIL.

Each check is a small function returning Check values (engines/base.py), so
the daemon's start-up and this command judge a model the same way.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import click

from .. import gpu
from ..config import Config
from ..engines.base import Check, EngineSet
from ..errors import EdgeError
from ..ledger import default_state_dir
from .common import EXIT_FAILED, config_options, load_or_exit

INOTIFY_WATCHES = "/proc/sys/fs/inotify/max_user_watches"
INOTIFY_ENV = "EDGE_INOTIFY_WATCHES_FILE"  # tests point this at a file of their own
MB = 1024 * 1024
DISK_FAIL_MB = 100
DISK_WARN_MB = 1024
LOCAL_GPU_ENGINES = ("faster-whisper", "llamacpp")


@click.command()
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path))
@config_options
def doctor(dirs, config_path, state_dir):
    """Check Python, GPU, models, state dir, inotify, disk and the service; exit 1 on any FAIL."""
    config = load_or_exit(config_path)
    roots = [Path(d) for d in dirs] or list(config.edge.watch)
    checks = run_checks(config, roots, default_state_dir(state_dir))
    for check in checks:
        click.echo(render(check))
    failed = sum(check.level == "fail" for check in checks)
    warned = sum(check.level == "warn" for check in checks)
    click.echo(f"{len(checks)} checks: {failed} failed, {warned} warnings")
    sys.exit(EXIT_FAILED if failed else 0)


def render(check: Check) -> str:
    line = f"{check.level.upper():<4}  {check.name}: {check.message}"
    return f"{line}  -> fix: {check.fix}" if check.fix and check.level != "ok" else line


def run_checks(config: Config, roots: list[Path], state_dir: Path) -> list[Check]:
    steps: list[Callable[[], Iterable[Check]]] = [
        check_python,
        lambda: check_gpu(config),
        lambda: check_models(config),
        lambda: check_state_dir(state_dir),
        lambda: check_inotify(config, roots),
        lambda: check_disk(config, roots),
        lambda: check_review(config),
        check_systemd,
    ]
    checks: list[Check] = []
    for step in steps:
        try:
            checks.extend(step())
        except Exception as exc:  # a broken check must not hide the others
            checks.append(Check("doctor", "fail", f"a check crashed: {type(exc).__name__}: {exc}",
                                fix="report this as a bug in edge"))
    return checks


# -- the review queue ------------------------------------------------------------------------


def check_review(config: Config) -> list[Check]:
    """How many files wait for a person, and the command that shows them."""
    if config.edge.review_dir is None:
        return []
    from .. import review

    waiting, folder = len(review.list_pending(config)), review.review_dir(config)
    if not waiting:
        return [Check("review", "ok", f"nothing waits for review in {folder}")]
    return [Check("review", "warn", f"{waiting} file(s) wait for review in {folder}",
                  fix="`edge review serve` opens them in a browser, each value with its box on the page "
                      "(`edge review list` prints them)")]


# -- Python and platform -------------------------------------------------------------------


def check_python() -> list[Check]:
    version = platform.python_version()
    where = f"Python {version} on {platform.system()} {platform.machine()}"
    if sys.version_info < (3, 11):  # noqa: UP036  (a doctor must say so if run by an older Python)
        return [Check("python", "fail", where, fix="install Python 3.11 or newer and recreate the venv")]
    if platform.system() != "Linux":
        return [Check("python", "warn", f"{where}: no inotify, no systemd", fix="use `edge watch --poll 5`")]
    return [Check("python", "ok", where)]


# -- GPU ------------------------------------------------------------------------------------


def check_gpu(config: Config, found: gpu.Discovery | None = None) -> list[Check]:
    found = found or gpu.discover()
    wanted = {name: spec for name, spec in config.models.items() if spec.vram_mb}
    libs = f"CTranslate2 CUDA devices: {_count(found.ctranslate2_cuda)}, llama.cpp GPU offload: " \
           f"{_yes_no(found.llama_gpu_offload)}"
    if not found.present:
        if not wanted:
            return [Check("gpu", "ok", f"no GPU, and no model asks for one ({libs})")]
        return [Check("gpu", "warn", f"no GPU: {', '.join(sorted(wanted))} will run on the CPU, slowly ({libs})",
                      fix="on a GPU box install the NVIDIA driver and nvidia-ml-py; else use the ocr-small tier")]
    if not found.gpus:
        total = config.edge.gpu.budget_mb
        checks = [Check("gpu", "warn" if total is None else "ok", f"a GPU is present but NVML cannot read it "
                        f"({found.nvml}); {libs}", fix="pip install nvidia-ml-py, or set [edge.gpu] budget_mb")]
        return checks + (_budget_checks(config, wanted, total) if total else [])
    checks = [Check("gpu", "ok", f"GPU{info.index} {info.name}: {info.free_mb} MB free of {info.total_mb} MB; {libs}")
              for info in found.gpus]
    first = found.gpus[0]
    budget = config.edge.gpu.budget_mb or first.total_mb - config.edge.gpu.reserve_mb
    checks += _budget_checks(config, wanted, budget)
    if wanted and first.free_mb < min(spec.vram_mb or 0 for spec in wanted.values()):
        checks.append(Check("gpu memory", "warn", f"only {first.free_mb} MB free now: other processes hold VRAM",
                            fix="see nvidia-smi; stop them or lower [edge.gpu] budget_mb"))
    if found.llama_gpu_offload is False and any(s.engine == "llamacpp" for s in wanted.values()):
        checks.append(Check("llama.cpp", "warn", "llama-cpp-python is a CPU build: llamacpp models ignore the GPU",
                            fix='CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
                                'llama-cpp-python'))
    return checks


def _budget_checks(config: Config, wanted: dict, budget: int) -> list[Check]:
    checks = []
    for name, spec in sorted(wanted.items()):
        if spec.vram_mb <= budget:
            continue
        level: Literal["warn", "fail"] = "warn" if spec.fallback == "cpu" else "fail"
        outcome = "runs on the CPU (fallback = \"cpu\")" if level == "warn" else "can never be admitted"
        checks.append(Check(f"vram {name}", level, f"needs {spec.vram_mb} MB, the GPU budget is {budget} MB: {outcome}",
                            fix='choose a smaller quantization, set fallback = "cpu", or raise [edge.gpu] budget_mb'))
    together = sum(spec.vram_mb for spec in wanted.values())
    if len(wanted) > 1 and together > budget and not checks:
        checks.append(Check("vram", "warn", f"the GPU models need {together} MB together, the budget is {budget} MB: "
                                            "they take turns (idle ones are evicted)",
                            fix="fine for light traffic; a bigger GPU or smaller models avoid reloads"))
    elif wanted and not checks:
        checks.append(Check("vram", "ok", f"GPU models need {together} MB together; budget {budget} MB"))
    return checks


def _count(value: int | None) -> str:
    return "not installed" if value is None else str(value)


def _yes_no(value: bool | None) -> str:
    return "not installed" if value is None else ("yes" if value else "no")


# -- models ---------------------------------------------------------------------------------


def check_models(config: Config) -> list[Check]:
    if not config.models:
        return [Check("models", "ok", "no models configured: every file gets the metadata sidecar")]
    engines = EngineSet(config)
    checks: list[Check] = []
    for name in sorted(config.models):
        try:
            checks.extend(engines.get(name).checks())
        except EdgeError as exc:
            checks.append(Check(f"model {name}", "fail", exc.message, fix=exc.hint or "fix models.toml"))
        except Exception as exc:
            checks.append(Check(f"model {name}", "fail", f"check crashed: {type(exc).__name__}: {exc}",
                                fix="report this as a bug in edge"))
    engines.close()
    return checks


# -- state dir ----------------------------------------------------------------------------------


def check_state_dir(state_dir: Path) -> list[Check]:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state_dir, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return [Check("state dir", "fail", f"cannot write {state_dir}: {exc.strerror or exc}",
                      fix=f"give this user a writable folder: sudo install -d -o $USER {state_dir}, "
                          "or pass --state-dir (the system unit uses StateDirectory=edge)")]
    return [Check("state dir", "ok", f"{state_dir} is writable")]


# -- inotify --------------------------------------------------------------------------------------


def check_inotify(config: Config, roots: list[Path]) -> list[Check]:
    if config.edge.poll:
        return [Check("inotify", "ok", f"polling every {config.edge.poll}s: no inotify watches needed")]
    source = Path(os.environ.get(INOTIFY_ENV, INOTIFY_WATCHES))
    try:
        limit = int(source.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return [Check("inotify", "warn", f"cannot read the watch limit from {source}",
                      fix="on Linux check `sysctl fs.inotify.max_user_watches`; elsewhere use --poll")]
    if not roots:
        return [Check("inotify", "ok", f"limit {limit} watches; no watch folders configured")]
    needed = sum(_count_folders(root) for root in roots)
    message = f"{needed} folders to watch, limit {limit} watches per user"
    fix = f"sudo sysctl fs.inotify.max_user_watches={max(524288, needed * 4)} (persist in /etc/sysctl.d/), " \
          "or watch with --poll"
    if needed > limit:
        return [Check("inotify", "fail", message + ": events would be missed", fix=fix)]
    if needed > limit // 2:
        return [Check("inotify", "warn", message + ": little room for other programs of this user", fix=fix)]
    return [Check("inotify", "ok", message)]


def _count_folders(root: Path) -> int:
    """One inotify watch per folder, the root included."""
    return sum(1 for _ in os.walk(root)) if root.is_dir() else 0


# -- disk -------------------------------------------------------------------------------------------


def check_disk(config: Config, roots: list[Path]) -> list[Check]:
    if not roots:
        return []
    checks = []
    for root in roots:
        if not root.is_dir():
            checks.append(Check(f"inbox {root}", "fail", "does not exist or is not a folder",
                                fix=f"mkdir -p {root} (and add it to ReadWritePaths= in the system unit)"))
            continue
        checks.append(_free_space(root))
        if config.edge.output_dir is None and not os.access(root, os.W_OK):
            checks.append(Check(f"inbox {root}", "fail", "sidecars are written beside the files, "
                                "but this folder is not writable", fix="grant write access, or set output_dir"))
    if config.edge.output_dir is not None:
        checks.append(_free_space(Path(config.edge.output_dir)))
    return checks


def _free_space(folder: Path) -> Check:
    try:
        usage = shutil.disk_usage(folder)
    except OSError as exc:
        return Check(f"disk {folder}", "fail", f"cannot stat: {exc.strerror}", fix=f"mkdir -p {folder}")
    free_mb = usage.free // MB
    message = f"{free_mb} MB free ({100 * usage.free / usage.total:.0f}%)"
    fix = "free some space: sidecars, the ledger and temp files need room"
    if free_mb < DISK_FAIL_MB:
        return Check(f"disk {folder}", "fail", message, fix=fix)
    if free_mb < DISK_WARN_MB or usage.free < usage.total * 0.05:
        return Check(f"disk {folder}", "warn", message, fix=fix)
    return Check(f"disk {folder}", "ok", message)


# -- systemd ---------------------------------------------------------------------------------------


def check_systemd(runner: Callable[[list[str]], str | None] | None = None,
                  booted: bool | None = None) -> list[Check]:
    """The unit's state, when this machine runs systemd."""
    booted = Path("/run/systemd/system").is_dir() if booted is None else booted
    if not booted or shutil.which("systemctl") is None and runner is None:
        return [Check("systemd", "ok", "not running systemd here: service checks skipped")]
    runner = runner or _systemctl
    for scope in ([], ["--user"]):
        state = _unit_state(runner, scope)
        if state and state.get("LoadState") == "loaded":
            return [_judge_unit(state, " ".join(["systemctl", *scope]))]
    return [Check("service", "warn", "edge.service is not installed (system or --user)",
                  fix="install service/edge.service (or edge-user.service): see the README, \"Running as a service\"")]


def _systemctl(args: list[str]) -> str | None:
    try:
        return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None


def _unit_state(runner: Callable[[list[str]], str | None], scope: list[str]) -> dict[str, str] | None:
    out = runner([*scope, "show", "edge.service", "-p", "LoadState,ActiveState,SubState,UnitFileState"])
    if not out:
        return None
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _judge_unit(state: dict[str, str], systemctl: str) -> Check:
    active, enabled = state.get("ActiveState", "?"), state.get("UnitFileState", "?")
    message = f"edge.service is {active} ({state.get('SubState', '?')}), {enabled} ({systemctl})"
    journal = "journalctl --user -u edge -e" if "--user" in systemctl else "journalctl -u edge -e"
    if active == "failed":
        return Check("service", "fail", message, fix=f"see `{journal}`, fix, then `{systemctl} restart edge`")
    if active != "active":
        return Check("service", "warn", message, fix=f"`{systemctl} enable --now edge`")
    if enabled != "enabled":
        return Check("service", "warn", message, fix=f"`{systemctl} enable edge` so it starts at boot")
    return Check("service", "ok", message)

"""`edge doctor`'s checks that need a machine this one is not (a GPU, a booted systemd): fed simulated facts.

The checks against a real environment, through the command, are in tests/e2e/cli/test_doctor.py.
"""

from __future__ import annotations

import pytest

from edge.cli import doctor as doc
from edge.configure import parse_config
from edge.gpu import Discovery, GpuInfo


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

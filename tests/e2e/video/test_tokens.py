"""The token budget of a video through `edge tokens VIDEO`; an over-budget route is in tests/unit/tasks/test_video_budget.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.engines import budget
from tests.helpers import ROOT, run_edge
from tests.helpers import video as vh


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return vh.write(tmp_path_factory.mktemp("tokens") / "site.mp4", vh.Clip(30, size=(1280, 720), motion=False))


def tokens(*args: str) -> tuple[int, str]:
    run = run_edge("tokens", *args, timeout=120)
    return run.returncode, run.stdout + run.stderr


def test_budget_of_a_video_per_frame_and_in_all(clip):
    code, out = tokens(str(clip), "--family", "qwen2-vl", "--config", str(ROOT / "edge" / "default_models.toml"))
    per_frame = budget.visual_tokens("qwen2-vl", 1120, 630)
    print(f"\n{out}")
    assert code == 0
    assert "route video: uniform sampling, max 16 frames, canvas 1120" in out  # the packaged route
    assert f"per frame: 1120x630 -> {per_frame} visual tokens" in out
    assert f"= {per_frame + 512 + 1024} of n_ctx 4096: fits" in out
    assert f"all frames: 16 x {per_frame} = {16 * per_frame} visual tokens in 16 request(s)" in out


def test_an_over_budget_frame_is_downsized_and_said(clip):
    code, out = tokens(str(clip), "--family", "qwen2-vl", "--n-ctx", "2048", "--json", "--config",
                       str(ROOT / "models.toml"))
    report = json.loads(out)
    assert code == 0 and report["verdict"] == "reduced" and report["fits"]
    assert report["request_total"] <= 2048 and report["frame_size"][0] < 1120
    assert report["notes"][0]["code"] == "budget_downsized"


def test_a_frame_that_cannot_fit_is_refused_with_the_numbers(clip):
    code, out = tokens(str(clip), "--family", "gemma3", "--n-ctx", "1000", "--config", str(ROOT / "models.toml"))
    assert code == 1 and "refused: one frame does not fit the context: 256 visual + 512 prompt" in out


def test_the_routes_fps_sampling_sets_the_frame_count(clip, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text('[[routes]]\nname = "walks"\nmedia = ["video"]\ntask = "describe"\n'
                      'options = {frames = {mode = "fps", fps = 0.2, max = 64}, max_visual_tokens = 1000}\n')
    code, out = tokens(str(clip), "--family", "llava-1.5", "--config", str(config), "--json")
    report = json.loads(out)
    assert code == 0 and report["route"] == "walks" and report["mode"] == "fps"
    assert report["visual_per_frame"] == 576 and report["frames"] == 1  # 6 wanted; 1000 // 576 allowed
    assert report["notes"][0]["code"] == "budget_fewer_frames" and "6 frames x 576" in report["notes"][0]["message"]

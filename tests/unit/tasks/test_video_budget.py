"""The visual-token budget of a video route (edge/tasks/video_budget.py): over budget, fewer frames, and why.

`edge tokens VIDEO` is in tests/e2e/video/test_tokens.py.
"""

from __future__ import annotations

from edge.configure import parse_config
from tests.helpers import audio as ah
from tests.helpers import video as vh


def test_a_route_over_its_visual_budget_samples_fewer_frames_and_says_so(tmp_path):
    from tests.helpers.gguf_models import write_vision_pair

    model, mmproj = write_vision_pair(tmp_path / "gguf")
    config = parse_config({"models": {"vision": {"engine": "llamacpp", "model": str(model), "mmproj": str(mmproj)}},
                           "routes": [{"media": ["video"], "task": "describe", "model": "vision", "options": {
                               "frames": {"mode": "uniform", "max": 8}, "max_visual_tokens": 40, "repairs": 0}}]})
    path = vh.write(tmp_path / "clip.mp4", vh.Clip(8, size=(160, 90)))
    doc, _ = ah.process(path, config)
    sampling = doc["result"]["sampling"]
    assert sampling["budget"]["visual_per_frame"] == 16  # 32 px tiles of 8 px patches
    assert sampling["taken"] == 2 and len(doc["result"]["timeline"]) == 2  # 40 // 16
    assert sampling["notes"][0]["code"] == "budget_fewer_frames"
    assert "8 frames x 16 visual tokens = 128" in sampling["notes"][0]["message"]

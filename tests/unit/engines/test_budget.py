"""Visual-token budget per model family (edge/engines/budget.py); `edge tokens` is in tests/unit/cli/test_tokens.py."""

from __future__ import annotations

import pytest

from edge.engines import budget
from edge.errors import EngineError


def test_seed_figures():
    assert budget.visual_tokens("llava-1.5", 336, 336) == 576
    assert budget.visual_tokens("llava-1.5", 2000, 900) == 576  # always resized to one 336 px tile
    assert budget.llava_next_tiles(672, 672) == 4
    assert budget.visual_tokens("llava-next", 672, 672) == 2880  # 4 tiles + thumbnail
    assert budget.qwen_estimate(1024, 1024) == 1337
    assert budget.visual_tokens("gemma3", 4000, 3000) == 256
    assert budget.visual_tokens("mllama", 1120, 1120) == 0


def test_qwen_smart_resize_rules():
    assert budget.smart_resize(1024, 1024) == (1036, 1036)  # nearest multiples of 28
    assert budget.visual_tokens("qwen2-vl", 1024, 1024) == 37 * 37
    h, w = budget.smart_resize(8000, 6000)
    assert h % 28 == 0 and w % 28 == 0 and h * w <= budget.QWEN_MAX_PIXELS
    h, w = budget.smart_resize(20, 30)
    assert h * w >= budget.QWEN_MIN_PIXELS and h % 28 == 0 and w % 28 == 0


def test_over_budget_scalable_family_is_downscaled_to_fit():
    planned = budget.plan("qwen2-vl", 4000, 4000, prompt=500, output=1000, n_ctx=4096)
    assert planned.fits and planned.width < 4000 and planned.total <= 4096


def test_over_budget_fixed_family_is_refused_with_the_numbers():
    with pytest.raises(EngineError) as caught:
        budget.plan("gemma3", 1000, 1000, prompt=3000, output=1024, n_ctx=4096)
    assert "256 visual + 3000 prompt + 1024 max output = 4280 tokens; n_ctx 4096" in caught.value.message

"""The context budget: visual tokens per model family, and whether a request fits.

An image costs context before a word is generated. The counts follow each
family's own preprocessing; a request over `n_ctx` is downscaled when the
family's cost shrinks with the image, else refused with the numbers. Nothing
is ever truncated silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import EngineError

FAMILIES = ("llava-1.5", "llava-next", "qwen2-vl", "gemma3", "mllama")
SCALABLE = ("llava-next", "qwen2-vl")  # families whose cost shrinks with the picture

LLAVA_TILE = 336
LLAVA_TOKENS_PER_TILE = 576  # (336 / 14)^2 patches
# LLaVA-NeXT's default `image_grid_pinpoints` (anyres): the tile grids it may choose.
LLAVA_NEXT_GRIDS = [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)]
QWEN_PATCH = 14
QWEN_MERGE = 2  # 2x2 patches merge into one token
QWEN_FACTOR = QWEN_PATCH * QWEN_MERGE  # 28: both sides are rounded to multiples of this
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 16384 * 28 * 28  # the processor's default max_pixels (12845056)
GEMMA3_TOKENS = 256  # SigLIP 896 px, pooled to 16x16
MIN_SIDE = 28

_ALIASES = {
    "llava": "llava-1.5", "llava15": "llava-1.5", "llava-1.5": "llava-1.5",
    "llava-next": "llava-next", "llava-1.6": "llava-next", "llava16": "llava-next",
    "qwen2-vl": "qwen2-vl", "qwen2vl": "qwen2-vl", "qwen2.5-vl": "qwen2-vl", "qwen25vl": "qwen2-vl",
    "qwen2.5vl": "qwen2-vl", "gemma3": "gemma3", "gemma-3": "gemma3", "mllama": "mllama",
    "llama3.2-vision": "mllama",
}


def family_name(name: str) -> str:
    key = name.strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return _ALIASES[key]


def smart_resize(height: int, width: int, factor: int = QWEN_FACTOR,
                 min_pixels: int = QWEN_MIN_PIXELS, max_pixels: int = QWEN_MAX_PIXELS) -> tuple[int, int]:
    """Qwen2-VL's resize: sides to multiples of `factor`, pixels within [min, max]."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def qwen_estimate(width: int, height: int) -> int:
    """The seed's rule of thumb ⌊H·W / (14²·4)⌋ on the image as given."""
    return (width * height) // (QWEN_PATCH**2 * QWEN_MERGE**2)


def llava_next_tiles(width: int, height: int) -> int:
    """Tiles of the anyres grid LLaVA-NeXT picks (most useful resolution, least waste)."""
    best, best_key = LLAVA_NEXT_GRIDS[0], None
    for grid_h, grid_w in LLAVA_NEXT_GRIDS:
        scale = min(grid_w / width, grid_h / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        key = (effective, -(grid_w * grid_h - effective))
        if best_key is None or key > best_key:
            best, best_key = (grid_h, grid_w), key
    return (best[0] // LLAVA_TILE) * (best[1] // LLAVA_TILE)


def visual_tokens(family: str, width: int, height: int, tiles: int | None = None,
                  tile_tokens: int | None = None) -> int:
    """Tokens the image occupies in the context for this family.

    `tile_tokens` overrides LLaVA's 576 when an mmproj says otherwise
    ((image_size / patch_size)^2).
    """
    family = family_name(family)
    per_tile = tile_tokens or LLAVA_TOKENS_PER_TILE
    if family == "llava-1.5":
        return per_tile
    if family == "llava-next":
        return per_tile * ((tiles or llava_next_tiles(width, height)) + 1)  # + thumbnail
    if family == "qwen2-vl":
        h_bar, w_bar = smart_resize(height, width)
        return (h_bar * w_bar) // (QWEN_PATCH**2 * QWEN_MERGE**2)
    if family == "gemma3":
        return GEMMA3_TOKENS
    return 0  # mllama: the image enters through cross-attention, not the context


@dataclass
class Fit:
    family: str
    width: int
    height: int
    visual: int
    prompt: int
    output: int
    n_ctx: int

    @property
    def total(self) -> int:
        return self.visual + self.prompt + self.output

    @property
    def fits(self) -> bool:
        return self.total <= self.n_ctx

    def describe(self) -> str:
        verdict = "fits" if self.fits else "does NOT fit"
        return (f"{self.visual} visual + {self.prompt} prompt + {self.output} max output = {self.total} "
                f"tokens; n_ctx {self.n_ctx}: {verdict}")


def fit(family: str, width: int, height: int, prompt: int, output: int, n_ctx: int,
        tiles: int | None = None, tile_tokens: int | None = None) -> Fit:
    visual = visual_tokens(family, width, height, tiles, tile_tokens)
    return Fit(family_name(family), width, height, visual, prompt, output, n_ctx)


def plan(family: str, width: int, height: int, prompt: int, output: int, n_ctx: int,
         tile_tokens: int | None = None) -> Fit:
    """The fit to use: as given, or downscaled until it fits; EngineError when nothing fits."""
    current = fit(family, width, height, prompt, output, n_ctx, tile_tokens=tile_tokens)
    if current.fits:
        return current
    w, h = width, height
    while current.family in SCALABLE and min(w, h) > MIN_SIDE:  # fixed-cost families gain nothing
        w, h = max(MIN_SIDE, int(w * 0.9)), max(MIN_SIDE, int(h * 0.9))
        smaller = fit(family, w, h, prompt, output, n_ctx, tile_tokens=tile_tokens)
        if smaller.fits:
            return smaller
    raise EngineError(
        f"request does not fit the context: {current.describe()}",
        code="context_overflow",
        hint="raise n_ctx, lower max_tokens, or use a model family with fewer visual tokens",
    )

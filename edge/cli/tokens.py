"""`edge tokens FILE (--model NAME | --family FAMILY)`: the visual-token budget of one image or video."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..engines import budget
from ..engines.base import EngineSet
from ..errors import EdgeError
from . import tokens_video
from .common import EXIT_CONFIG, EXIT_FAILED, config_options, load_or_exit

DEFAULT_N_CTX = 4096
_NAME_HINTS = [("llama3.2-vision", "mllama"), ("mllama", "mllama"), ("qwen2.5vl", "qwen2-vl"),
               ("qwen2.5-vl", "qwen2-vl"), ("qwen2-vl", "qwen2-vl"), ("qwen2vl", "qwen2-vl"),
               ("gemma3", "gemma3"), ("gemma-3", "gemma3"), ("llava-v1.6", "llava-next"),
               ("llava-next", "llava-next"), ("llava", "llava-1.5")]


@click.command()
@click.argument("image", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_name", help="A model in models.toml.")
@click.option("--family", help=f"A model family: {', '.join(budget.FAMILIES)}.")
@click.option("--prompt-tokens", type=click.IntRange(0), default=512, show_default=True,
              help="Tokens of the prompt besides the image.")
@click.option("--max-tokens", type=click.IntRange(1), default=1024, show_default=True, help="Maximum output tokens.")
@click.option("--n-ctx", type=click.IntRange(1), default=None, help="Context size (default: the model's, else 4096).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--route", "route_name", default=None,
              help="For a video: the route whose frame sampling to count (default: the first video route).")
@config_options
def tokens(image, model_name, family, prompt_tokens, max_tokens, n_ctx, as_json, route_name, config_path, state_dir):
    """Count the visual tokens FILE (an image, or a video's sampled frames) costs a model, and whether it fits."""
    if bool(model_name) == bool(family):
        raise click.UsageError("give exactly one of --model NAME or --family FAMILY")
    try:
        family, model_ctx, tile = (_from_model(model_name, config_path) if model_name
                                   else (budget.family_name(family), None, None))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if tokens_video.is_video(image):
        _video(image, family, n_ctx or model_ctx or DEFAULT_N_CTX, tile, prompt_tokens, max_tokens, as_json,
               route_name, model_name, config_path)
        return
    width, height = _size(image)
    report = _report(family, width, height, prompt_tokens, max_tokens, n_ctx or model_ctx or DEFAULT_N_CTX, tile)
    report.update(image=str(image), model=model_name)
    click.echo(json.dumps(report) if as_json else _text(report))
    if report["verdict"] == "refused":
        sys.exit(EXIT_FAILED)


def _video(path: Path, family: str, n_ctx: int, tile: int | None, prompt: int, output: int, as_json: bool,
           route_name: str | None, model_name: str | None, config_path: Path | None) -> None:
    config = load_or_exit(config_path)
    try:
        route = tokens_video.video_route(config, route_name)
        canvas = getattr(EngineSet(config).get(model_name).options, "canvas", None) if model_name else None
        report = tokens_video.report(path, family, n_ctx, tile, prompt, output, route, canvas)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except EdgeError as exc:
        click.echo(f"edge: {path}: {exc.message}", err=True)
        sys.exit(EXIT_FAILED)
    report["model"] = model_name
    click.echo(json.dumps(report) if as_json else tokens_video.text(report))
    if report["verdict"] == "refused":
        sys.exit(EXIT_FAILED)


def _report(family: str, width: int, height: int, prompt: int, output: int, n_ctx: int,
            tile: int | None = None) -> dict[str, Any]:
    given = budget.fit(family, width, height, prompt, output, n_ctx, tile_tokens=tile)
    report: dict[str, Any] = {"family": family, "width": width, "height": height, "visual_tokens": given.visual,
                              "prompt_tokens": prompt, "max_tokens": output, "total": given.total,
                              "n_ctx": n_ctx, "fits": given.fits}
    if family == "qwen2-vl":
        report["estimate"] = budget.qwen_estimate(width, height)
        report["resized"] = list(reversed(budget.smart_resize(height, width)))
    if given.fits:
        report["verdict"] = "fits"
        return report
    try:
        planned = budget.plan(family, width, height, prompt, output, n_ctx, tile_tokens=tile)
    except EdgeError as exc:
        report.update(verdict="refused", message=exc.message)
        return report
    report.update(verdict="downscale", downscale_to=[planned.width, planned.height],
                  downscaled_visual_tokens=planned.visual, downscaled_total=planned.total)
    return report


def _text(r: dict[str, Any]) -> str:
    lines = [f"image: {r['image']} ({r['width']}x{r['height']})", f"family: {r['family']}"]
    visual = f"visual tokens: {r['visual_tokens']}"
    if "estimate" in r:
        w, h = r["resized"]
        visual += (f" (Qwen resizes to {w}x{h}: {w // 28}x{h // 28} merged patches); "
                   f"estimate floor(H*W/784) on the image as given: {r['estimate']}")
    if r["family"] == "mllama":
        visual += " (cross-attention: the image takes no context tokens)"
    lines.append(visual)
    lines.append(f"budget: {r['visual_tokens']} visual + {r['prompt_tokens']} prompt + {r['max_tokens']} "
                 f"max output = {r['total']} of n_ctx {r['n_ctx']}: {'fits' if r['fits'] else 'does NOT fit'}")
    if r["verdict"] == "downscale":
        w, h = r["downscale_to"]
        lines.append(f"downscale to {w}x{h}: {r['downscaled_visual_tokens']} visual tokens, "
                     f"{r['downscaled_total']} in all: fits")
    elif r["verdict"] == "refused":
        lines.append(f"refused: {r['message']}")
    return "\n".join(lines)


def _size(image: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as picture:
            return picture.size
    except (UnidentifiedImageError, OSError) as exc:
        click.echo(f"edge: {image}: not a readable image: {exc}", err=True)
        sys.exit(EXIT_FAILED)


def _from_model(name: str, config_path: Path | None) -> tuple[str, int | None, int | None]:
    """A configured model's family (option, mmproj metadata, or its name), n_ctx and tokens per tile."""
    config = load_or_exit(config_path)
    if name not in config.models:
        known = ", ".join(sorted(config.models)) or "(none)"
        click.echo(f"edge: no model {name!r} in {config.source}; known: {known}", err=True)
        sys.exit(EXIT_CONFIG)
    engine = EngineSet(config).get(name)
    options = engine.options
    n_ctx = getattr(options, "n_ctx", None) or getattr(options, "num_ctx", None)
    if engine.kind == "ocr":
        raise ValueError(f"model {name} is an OCR engine: images are read as text, not as visual tokens")
    chosen = getattr(options, "family", None)
    if chosen is None and hasattr(engine, "family"):
        try:
            chosen = engine.family()
        except EdgeError as exc:
            raise ValueError(f"model {name}: {exc}") from None
    chosen = chosen or _guess(spec_model(config, name))
    if chosen is None:
        raise ValueError(f"cannot tell the family of model {name}; pass --family ({', '.join(budget.FAMILIES)})")
    tile = engine.tile_tokens() if hasattr(engine, "tile_tokens") else None
    return budget.family_name(chosen), n_ctx, tile


def spec_model(config: Any, name: str) -> str:
    return (config.models[name].model or name).lower()


def _guess(model: str) -> str | None:
    return next((family for hint, family in _NAME_HINTS if hint in model), None)

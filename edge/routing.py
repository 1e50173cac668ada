"""models.toml `[[routes]]`: which route takes a file, by path glob and media kind."""

from __future__ import annotations

import re
from functools import lru_cache

from .config import Config, Route

DEFAULT_ROUTE = Route(name="default", task="metadata")


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """`**` spans folders, `*` and `?` stay inside one path segment."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(route: Route, rel_path: str, media_kind: str) -> bool:
    if route.media and media_kind not in route.media:
        return False
    return any(glob_regex(pattern).match(rel_path) for pattern in route.match)


def choose(config: Config, rel_path: str, media_kind: str) -> Route:
    """The first route that takes the file, else the built-in metadata route."""
    for route in config.routes:
        if matches(route, rel_path, media_kind):
            return route
    return DEFAULT_ROUTE


def engine_lane(route: Route) -> str:
    """The name of the worker lane (one per model) that serves a route."""
    if route.tiers:
        return route.tiers[0]
    return route.model or "metadata"


MODEL_OPTIONS = ("asr", "summary_model", "ocr_model")  # route options that name a model


def models_used(config: Config) -> list[str]:
    """Every model some route may call: its tiers, the models its options name, and the
    text model of each ocr model among them."""
    used: list[str] = []
    for route in config.routes:
        named = [route.model] if route.model else []
        named += route.tiers + [route.options[key] for key in MODEL_OPTIONS if route.options.get(key)]
        used += [name for name in named if name in config.models and name not in used]
    for name in list(used):
        text = config.models[name].engine_options().get("text_model")
        if text in config.models and text not in used:
            used.append(text)
    return used

"""models.toml, checked whole: its structure (edge.config), then what each engine, task and schema says.

Unknown keys are errors everywhere: an engine's keys are checked by the options
model the engine registers, a route's options by its task's, and every schema a
route sends to a llama.cpp model must become a grammar (llama-cpp-python would
otherwise fall back to unconstrained JSON in silence). Any problem stops the
start with the file, the key and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .config import Config, describe, parse_structure, read_config
from .engines.base import engine_class
from .engines.llamacpp_grammar import GRAMMAR_ENGINES, grammar_for
from .errors import ConfigError
from .extract import schemas
from .tasks.options import check_route


def load_config(path: Path | None = None) -> Config:
    data, where = read_config(path)
    return parse_config(data, where)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    config = parse_structure(data, path)
    where = str(path) if path else "config"
    for check in (_engine_options, _route_options, _grammars):
        try:
            check(config)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
    return config


def _engine_options(config: Config) -> None:
    for name, spec in config.models.items():
        try:
            options_model = engine_class(spec.engine).Options
        except ConfigError as exc:
            raise ConfigError(f"models.{name}.engine: {exc.message}") from None
        try:
            options_model.model_validate(spec.engine_options())
        except ValidationError as exc:
            raise ConfigError(describe(exc, prefix=f"models.{name}")) from None


def _route_options(config: Config) -> None:
    for route in config.routes:
        check_route(route)


def _grammars(config: Config) -> None:
    """Every schema a route sends to a llama.cpp model must become a grammar."""
    for route in config.routes:
        names = ([route.model] if route.model else []) + route.tiers
        if route.task not in ("extract", "describe"):
            continue
        if not any(config.models[name].engine in GRAMMAR_ENGINES for name in names if name in config.models):
            continue
        spec = schemas.resolve(route.schema_name, route.task, config)
        try:
            grammar_for(spec.format)
        except ConfigError as exc:
            raise ConfigError(f"routes {route.name}: schema {spec.name}: {exc.message}", hint=exc.hint) from None

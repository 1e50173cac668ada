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

from .config import Config, ModelSpec, describe, parse_structure, read_config
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
    for check in (_text_models, _engine_options, _route_options, _grammars):
        try:
            check(config)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
    return config


# An `ocr` model's keys that set up the text model it implies (a path or embedded: name).
IMPLIED_TEXT_KEYS = {"text_n_ctx": "n_ctx", "n_threads": "n_threads", "max_string": "max_string",
                     "max_items": "max_items"}
DEFAULT_TEXT_MODEL = "embedded:gemma3-270m"
IMPLIED_DEFAULTS = {"n_ctx": 4096, "max_string": 160, "max_items": 20}


def _text_models(config: Config) -> None:
    """The text model of every `ocr` model is a [models] entry like any other, so `edge models`,
    `edge doctor` and the GPU scheduler see it. `text_model` names one; a path or an `embedded:`
    name (the older form) implies one, added as `NAME-text`."""
    implied: dict[str, tuple[str, ModelSpec]] = {}
    for name, spec in config.models.items():
        if spec.engine != "ocr":
            continue
        options = spec.engine_options()
        target = str(options.get("text_model", DEFAULT_TEXT_MODEL))
        if target in config.models:
            _check_named_text_model(config, name, target, options)
        else:
            implied[name] = (f"{name}-text", _implied_text_model(name, target, options, config))
    if not implied:
        return
    ordered: dict[str, ModelSpec] = {}
    for name, spec in config.models.items():
        if name not in implied:
            ordered[name] = spec
            continue
        text_name, text_spec = implied[name]
        ordered[name] = spec.model_copy(update={"text_model": text_name})
        ordered[text_name] = text_spec  # listed right after its ocr model
    config.models = ordered


def _check_named_text_model(config: Config, name: str, target: str, options: dict[str, Any]) -> None:
    text_spec = config.models[target]
    if text_spec.engine in ("ocr", "ocr-openai", "faster-whisper", "metadata"):
        raise ConfigError(f"models.{name}.text_model: {target!r} is a {text_spec.engine} model; "
                          "name a text model (llamacpp, ollama, openai)")
    for key, text_key in IMPLIED_TEXT_KEYS.items():
        if key in options:
            raise ConfigError(f"models.{name}.{key}: the text model is [models.{target}]; set {text_key} there")


def _implied_text_model(name: str, target: str, options: dict[str, Any], config: Config) -> ModelSpec:
    text_name = f"{name}-text"
    if text_name in config.models:
        raise ConfigError(f"models.{name}.text_model: {target!r} is no [models] entry, and the name it would "
                          f"take, {text_name!r}, is already used; set text_model = \"{text_name}\" or another name")
    settings = dict(IMPLIED_DEFAULTS)
    settings.update({text_key: options[key] for key, text_key in IMPLIED_TEXT_KEYS.items() if key in options})
    return ModelSpec(engine="llamacpp", model=target, **settings)


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

"""models.toml -> validated pydantic objects.

Unknown keys are errors everywhere. Engine-specific keys of a `[models.X]`
table are validated by the options model that the engine registers, so a
typo in an engine option is caught at start, with the key and the reason.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

MediaKind = Literal["image", "pdf", "audio", "video", "other"]
TaskKind = Literal["metadata", "extract", "transcribe", "describe"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class GpuSettings(Strict):
    budget_mb: int | None = None  # default: total VRAM minus reserve
    reserve_mb: int = 1024


class Settings(Strict):
    """The `[edge]` table: how the daemon watches and retries."""

    watch: list[Path] = []
    settle: float = Field(1.0, gt=0)
    poll: float | None = Field(None, gt=0)
    rescan: float = Field(300.0, ge=0)
    grace: float = Field(30.0, ge=0)
    ignore: list[str] = []
    output_dir: Path | None = None
    max_attempts: int = Field(5, ge=1)
    max_crashes: int = Field(2, ge=1)  # times edge may die handling one file before it is quarantined (dead)
    backoff_base: float = Field(2.0, gt=0)
    backoff_max: float = Field(300.0, gt=0)
    max_file_mb: int = Field(4096, gt=0)
    workers: int = Field(2, ge=1)
    after: str | None = None
    review_dir: Path | None = None
    metrics: str | None = None
    gpu: GpuSettings = GpuSettings()
    date_order: Literal["DMY", "MDY", "YMD"] | None = None  # how 03/04/2024 reads; unset: the page decides
    state: str | None = None  # "postgresql://..." shares one ledger between hosts; unset: SQLite
    share_root: Path | None = None  # where the shared inbox is mounted on this host (file ids are relative)
    lease: float = Field(30.0, gt=0)  # seconds a claim on a shared ledger lasts without a heartbeat

    @field_validator("after")
    @classmethod
    def _after_is_move(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("move:") and len(value) > 5):
            raise ValueError('must be "move:DIR"')
        return value


class ModelSpec(BaseModel):
    """One `[models.NAME]` table. Keys beyond these belong to the engine."""

    model_config = ConfigDict(extra="allow")

    engine: str
    model: str | None = None
    workers: int = Field(1, ge=1)
    isolate: bool | None = None  # worker processes of its own, so a native crash fails one file; None: the engine's default
    vram_mb: int | None = Field(None, ge=0)
    fallback: Literal["cpu", "wait"] = "wait"
    timeout: float = Field(300.0, gt=0)

    def engine_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Route(Strict):
    """One `[[routes]]` entry: which files go to which task and model."""

    name: str | None = None
    match: list[str] = ["**"]
    media: list[MediaKind] = []
    task: TaskKind = "metadata"
    model: str | None = None
    schema_name: str | None = Field(None, alias="schema")
    tiers: list[str] = []
    samples: int = Field(1, ge=1)
    options: dict[str, Any] = {}


class UserSchema(Strict):
    """`[schemas.NAME]`: a JSON Schema file, or a table field -> description."""

    file: Path | None = None
    fields: dict[str, str] = {}
    required: list[str] = []

    @model_validator(mode="after")
    def _one_source(self) -> UserSchema:
        if bool(self.file) == bool(self.fields):
            raise ValueError("give exactly one of `file` or `fields`")
        return self


class LabelAdditions(Strict):
    """`[labels.SCHEMA.FIELD]`: printed labels that anchor a field's value, and ones that must not."""

    labels: list[str] = []
    exclude: list[str] = []


class Config(Strict):
    edge: Settings = Settings()
    models: dict[str, ModelSpec] = {}
    routes: list[Route] = []
    schemas: dict[str, UserSchema] = {}
    labels: dict[str, dict[str, LabelAdditions]] = {}
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _names(self) -> Config:
        for index, route in enumerate(self.routes):
            route.name = route.name or f"route{index + 1}"
            for name in ([route.model] if route.model else []) + route.tiers:
                if name not in self.models:
                    raise ValueError(f"routes[{index}] names model {name!r}, which [models] does not define")
        return self


def default_config_path() -> Path:
    """./models.toml, then $XDG_CONFIG_HOME/edge/models.toml, then the packaged one."""
    local = Path("models.toml")
    if local.is_file():
        return local
    xdg = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "edge" / "models.toml"
    if xdg.is_file():
        return xdg
    return Path(str(resources.files("edge").joinpath("default_models.toml")))


def read_config(path: Path | None = None) -> tuple[dict[str, Any], Path]:
    """The TOML table of a models.toml (default_config_path() when none is given)."""
    path = Path(path) if path else default_config_path()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), path
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_structure(data: dict[str, Any], path: Path | None = None) -> Config:
    """The tables and keys this module knows; engines, tasks and schemas check the rest
    (edge.configure.parse_config does both)."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path or 'config'}: {describe(exc)}") from None
    config.source = path
    return config


def describe(exc: ValidationError, prefix: str = "") -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        key = f"{prefix}.{key}" if prefix and key else (prefix or key)
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"{key}: {reason}")
    return "; ".join(problems)

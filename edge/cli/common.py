"""Options every command shares, and the mapping of errors to exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..config import Config
from ..configure import load_config
from ..errors import ConfigError, EdgeError

EXIT_FAILED = 1  # some file failed, or a check failed
EXIT_CONFIG = 2  # the configuration or the command line is wrong


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--config PATH and --state-dir PATH, on every command."""

    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                  help="models.toml (default: ./models.toml, $XDG_CONFIG_HOME/edge/models.toml, packaged).")
    @click.option("--state-dir", type=click.Path(path_type=Path), default=None,
                  help="Where the ledger lives (default: $STATE_DIRECTORY or $XDG_STATE_HOME/edge).")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def state_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--state-url URL: a shared PostgreSQL ledger (else $EDGE_STATE_URL, else `[edge] state`)."""
    return click.option("--state-url", "state_url", default=None, metavar="URL",
                        help="postgresql://... ledger shared by several hosts (default: $EDGE_STATE_URL, "
                             "[edge] state, else SQLite under --state-dir).")(func)


def load_or_exit(config_path: Path | None) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        click.echo(f"edge: invalid configuration: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


def fail(error: EdgeError, code: int = EXIT_FAILED) -> None:
    click.echo(f"edge: {error}", err=True)
    sys.exit(code)

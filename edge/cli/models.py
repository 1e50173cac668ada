"""`edge models`: the models in models.toml, their engines and routes."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from .common import config_options, load_or_exit


@click.command()
@config_options
def models(config_path, state_dir):
    """List configured models and the routes that use them."""
    config = load_or_exit(config_path)
    table = Table("name", "engine", "model", "vram_mb", "routes", title=f"models ({config.source})")
    for name, spec in config.models.items():
        routes = [route.name for route in config.routes if route.model == name or name in route.tiers]
        routes += [f"text model of {user}" for user, other in config.models.items()
                   if other.engine_options().get("text_model") == name]
        table.add_row(name, spec.engine, spec.model or "-", str(spec.vram_mb or "-"), ", ".join(routes) or "-")
    Console().print(table)

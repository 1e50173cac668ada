"""`edge review list` and `edge review accept FILE [CORRECTED.json]`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError, EdgeError
from .common import EXIT_CONFIG, config_options, fail, load_or_exit


@click.group()
def review():
    """Work through the files that need a person (the review_dir folder)."""


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per waiting file.")
@config_options
def list_cmd(as_json, config_path, state_dir):
    """Show the files waiting for review, with the reasons."""
    from .. import review as core

    config = load_or_exit(config_path)
    try:
        pending = core.list_pending(config)
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG)
    if as_json:
        for item in pending:
            click.echo(json.dumps({"file": str(item.file), "origin": str(item.origin),
                                   "reasons": item.reasons}, ensure_ascii=False))
        return
    click.echo(f"{len(pending)} file(s) waiting for review")
    for item in pending:
        click.echo(f"{item.file}\n    from {item.origin}")
        for reason in item.reasons:
            click.echo(f"    - {reason.get('code')}: {reason.get('message', '')}")


@review.command("accept")
@click.argument("file", type=click.Path(path_type=Path))
@click.argument("corrected", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_options
def accept_cmd(file, corrected, config_path, state_dir):
    """Accept FILE (as it is, or with the values of CORRECTED.json) and clear it from review."""
    from .. import review as core

    config = load_or_exit(config_path)
    try:
        target = core.accept(config, file, corrected)
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG)
    except EdgeError as exc:
        fail(exc)
    click.echo(f"reviewed: {target}")

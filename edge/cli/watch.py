"""`edge watch [DIR ...]`: the daemon."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ConfigError
from ..ledger import default_state_dir
from ..logs import setup_logging
from . import stop_requested_while_starting
from .common import EXIT_CONFIG, config_options, load_or_exit, state_option


@click.command()
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--poll", type=float, default=None, help="Poll every S seconds instead of inotify (NFS/SMB shares).")
@click.option("--settle", type=float, default=None, help="Seconds a file must stay unchanged (default 1.0).")
@click.option("--grace", type=float, default=None, help="Seconds to finish in-flight work on SIGTERM.")
@click.option("--output-dir", type=click.Path(path_type=Path), default=None, help="Write sidecars under D, mirroring the tree.")
@click.option("--log-json", is_flag=True, help="One JSON object per log line.")
@click.option("--log-level", default="INFO", show_default=True)
@state_option
@config_options
def watch(dirs, poll, settle, grace, output_dir, log_json, log_level, config_path, state_dir, state_url):
    """Watch folders and answer every file that arrives with a sidecar.

    A DIR given as NAME=DIR names the watch: on a shared (PostgreSQL) ledger
    its files are known as NAME/..., whatever path this host mounts it at."""
    setup_logging(log_level, log_json)
    config = load_or_exit(config_path)
    overrides = {"poll": poll, "settle": settle, "grace": grace, "output_dir": output_dir}
    for key, value in overrides.items():
        if value is not None:
            setattr(config.edge, key, value)
    roots = list(dirs) or list(config.edge.watch)
    if not roots:
        click.echo("edge: no folder to watch: give DIR arguments or [edge] watch = [...] in models.toml", err=True)
        sys.exit(EXIT_CONFIG)
    from ..daemon import Daemon

    try:
        daemon = Daemon(config, roots, default_state_dir(state_dir), config_path=config.source, state=state_url)
        if stop_requested_while_starting():
            sys.exit(0)
        sys.exit(daemon.run())
    except ConfigError as exc:
        click.echo(f"edge: {exc}", err=True)
        sys.exit(EXIT_CONFIG)

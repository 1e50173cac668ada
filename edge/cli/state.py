"""`edge status` and `edge retry`: what the ledger knows, and asking again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..ledger import STATUSES, Ledger, default_state_dir
from ..metrics import read_snapshot
from .common import config_options


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_options
def status(as_json, config_path, state_dir):
    """Counts by status, queue depth and the last errors."""
    ledger = Ledger(default_state_dir(state_dir))
    counts = ledger.counts()
    errors = [{"path": row.path, "status": row.status, "attempts": row.attempts, "error": row.last_error}
              for row in ledger.last_errors()]
    report = {"counts": counts, "queue_depth": counts["pending"] + counts["running"], "last_errors": errors,
              "ledger": str(ledger.path)}
    report["metrics"] = read_snapshot(ledger.path.parent)  # a running daemon's figures, as on /metrics
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    table = Table("status", "files", title=f"edge ledger {ledger.path}")
    for name in STATUSES:
        table.add_row(name, str(counts[name]))
    console.print(table)
    console.print(f"queue depth: {report['queue_depth']}")
    for error in errors:
        console.print(f"[red]{error['status']}[/] {error['path']} (attempts {error['attempts']}): {error['error']}")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--failed", is_flag=True, help="Retry every failed and dead file.")
@config_options
def retry(paths, failed, config_path, state_dir):
    """Queue files again (a running daemon picks them up at its next scan)."""
    if bool(paths) == failed:
        raise click.UsageError("give PATH ... or --failed")
    ledger = Ledger(default_state_dir(state_dir))
    targets = [str(Path(path).resolve()) for path in paths] if paths else None
    statuses = ("failed", "dead", "done") if paths else ("failed", "dead")
    count = ledger.requeue(statuses, targets)
    for path in paths:
        _drop_error_sidecar(Path(path))
    click.echo(f"{count} file(s) queued again")
    sys.exit(0 if count or not paths else 1)


def _drop_error_sidecar(path: Path) -> None:
    """A permanent error sidecar would make the daemon skip the file."""
    from .. import sidecar

    sidecar.remove_own(path.with_name(path.name + sidecar.ERROR_SUFFIX))

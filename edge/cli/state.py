"""`edge status`, `edge retry` and `edge state migrate`: the ledger, local or shared."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..config import Config
from ..errors import ConfigError
from ..ledger import STATUSES, LedgerAPI, LedgerUnavailable, default_state_dir
from ..metrics import read_snapshot
from .common import EXIT_CONFIG, EXIT_FAILED, config_options, load_or_exit, state_option


def open_state(config: Config, state_dir: Path | None, url: str | None) -> LedgerAPI:
    """The ledger the daemon would use with these options; exit 2 with one line if it cannot."""
    from ..ledger.choose import open_ledger, state_url
    from ..ledger.shares import ShareMap, split_named

    named = [split_named(entry) for entry in config.edge.watch]
    roots = [folder.resolve() for _, folder in named]
    shares = ShareMap.build(roots, {folder.resolve(): name for name, folder in named if name}, config.edge.share_root)
    try:
        return open_ledger(default_state_dir(state_dir), state_url(url, config.edge.state), shares, config.edge.lease)
    except ConfigError as exc:
        click.echo(f"edge: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


def _unavailable(exc: LedgerUnavailable) -> None:
    click.echo(f"edge: {exc}", err=True)
    sys.exit(EXIT_FAILED)


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _report(ledger: LedgerAPI, state_dir: Path) -> dict:
    counts = ledger.counts()
    errors = [{"path": row.path, "status": row.status, "attempts": row.attempts, "crashes": row.crashes,
               "error": row.last_error} for row in ledger.last_errors()]
    now = time.time()
    daemons = [{"host": d.host, "pid": d.pid, "holder": d.holder, "started_at": _stamp(d.started_at),
                "last_heartbeat": _stamp(d.heartbeat_at), "heartbeat_age_s": round(max(0.0, now - d.heartbeat_at), 1),
                "jobs_held": d.jobs_held, "live": d.live} for d in ledger.daemons()]
    return {"counts": counts, "queue_depth": counts["pending"] + counts["running"], "last_errors": errors,
            "ledger": ledger.location, "daemons": daemons,
            "metrics": read_snapshot(state_dir)}  # a running daemon's figures, as on /metrics


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_option
@config_options
def status(as_json, config_path, state_dir, state_url):
    """Counts by status, queue depth, the last errors and (shared ledger) the live daemons."""
    ledger = open_state(load_or_exit(config_path), state_dir, state_url)
    try:
        report = _report(ledger, default_state_dir(state_dir))
    except LedgerUnavailable as exc:
        _unavailable(exc)
    finally:
        ledger.close()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_report(report)


def _print_report(report: dict) -> None:
    console = Console()
    click.echo(f"edge ledger {report['ledger']}")  # not a table title: a long URL or path would wrap
    table = Table("status", "files")
    for name in STATUSES:
        table.add_row(name, str(report["counts"][name]))
    console.print(table)
    console.print(f"queue depth: {report['queue_depth']}")
    for d in report["daemons"]:  # one line each: a table would wrap on a narrow terminal
        live = "live" if d["live"] else "not live (lease expired)"
        click.echo(f"daemon {d['host']} pid {d['pid']}: {live}, last heartbeat {d['last_heartbeat']}"
                   f" ({d['heartbeat_age_s']} s ago), {d['jobs_held']} job(s) held")
    for error in report["last_errors"]:
        crashes = f", edge stopped {error['crashes']}x while handling it" if error["crashes"] else ""
        console.print(f"[red]{error['status']}[/] {error['path']} (attempts {error['attempts']}{crashes}):"
                      f" {error['error']}", markup=True, highlight=False, soft_wrap=True)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--failed", is_flag=True, help="Retry every failed and dead file.")
@state_option
@config_options
def retry(paths, failed, config_path, state_dir, state_url):
    """Queue files again, with their attempts and crashes counted from 0 (a running daemon picks them up at
    its next scan)."""
    if bool(paths) == failed:
        raise click.UsageError("give PATH ... or --failed")
    ledger = open_state(load_or_exit(config_path), state_dir, state_url)
    targets = [str(Path(path).resolve()) for path in paths] if paths else None
    statuses = ("failed", "dead", "done") if paths else ("failed", "dead")
    try:
        count = ledger.requeue(statuses, targets)
    except LedgerUnavailable as exc:
        _unavailable(exc)
    finally:
        ledger.close()
    for path in paths:
        _drop_error_sidecar(Path(path))
    click.echo(f"{count} file(s) queued again")
    sys.exit(0 if count or not paths else 1)


def _drop_error_sidecar(path: Path) -> None:
    """A permanent error sidecar would make the daemon skip the file."""
    from .. import sidecar

    sidecar.remove_own(path.with_name(path.name + sidecar.ERROR_SUFFIX))


@click.group("state")
def state_group():
    """The ledger itself: move it to a shared database."""


@state_group.command("migrate")
@click.option("--to", "target_url", required=True, metavar="URL", help="postgresql://... to copy the ledger into.")
@config_options
def migrate(target_url, config_path, state_dir):
    """Copy the SQLite ledger under --state-dir into a PostgreSQL ledger (stop the daemon first)."""
    from ..ledger import Ledger
    from ..ledger.choose import state_url
    from ..ledger.migrate import copy_ledger

    try:
        if state_url(target_url) is None:
            raise ConfigError(f"--to {target_url!r}: the target must be a postgresql:// URL")
    except ConfigError as exc:
        click.echo(f"edge: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    source_dir = default_state_dir(state_dir)
    if not (source_dir / "ledger.sqlite3").is_file():
        click.echo(f"edge: no SQLite ledger at {source_dir / 'ledger.sqlite3'}", err=True)
        sys.exit(EXIT_CONFIG)
    target = open_state(load_or_exit(config_path), state_dir, target_url)
    source = Ledger(source_dir)
    try:
        source.own()  # refused while a daemon uses it: its rows would keep changing under the copy
        done = copy_ledger(source, target)
    except ConfigError as exc:
        click.echo(f"edge: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except LedgerUnavailable as exc:
        _unavailable(exc)
    finally:
        source.close()
        target.close()
    click.echo(f"copied {done.copied} row(s) from {source.location} to {target.location}"
               + (f"; {done.kept} already there were kept" if done.kept else ""))

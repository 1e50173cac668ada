"""`edge process PATH ...`: one-shot, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..ledger import Ledger, default_state_dir
from ..logs import setup_logging
from ..pipeline import stdout_line
from .common import EXIT_FAILED, config_options, load_or_exit

STORAGE_CODES = ("disk_full", "quota_exceeded", "read_only_filesystem", "io_error")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--stdout", "to_stdout", is_flag=True, help="Print sidecars as JSON lines instead of writing them.")
@click.option("--output-dir", type=click.Path(path_type=Path), default=None, help="Write sidecars under D, mirroring the tree.")
@click.option("--log-level", default="WARNING", show_default=True)
@config_options
def process(paths, to_stdout, output_dir, log_level, config_path, state_dir):
    """Process files and folders once; exit 1 if any file failed."""
    setup_logging(log_level)
    config = load_or_exit(config_path)
    from ..oneshot import run_once, targets

    files = list(targets(list(paths), config))
    ledger = None if to_stdout else Ledger(default_state_dir(state_dir))
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("processing", total=len(files))

        def on_result(path: Path, verdict) -> None:
            progress.advance(task)
            if to_stdout and verdict.doc is not None:
                click.echo(stdout_line(verdict.doc))
            elif verdict.kind not in ("done", "skipped") and verdict.error is not None \
                    and verdict.error.code not in STORAGE_CODES:
                progress.console.print(f"[red]{verdict.kind}[/] {path}: {verdict.error}")

        summary = run_once(config, files, ledger, write=not to_stdout, on_result=on_result, output_dir=output_dir)
    done = summary.counts.get("done", 0) + summary.counts.get("skipped", 0)
    if summary.storage is not None:
        waiting = summary.counts.get("paused", 0)
        fix = (summary.storage.hint or "").split(";")[0]
        click.echo(f"edge: {summary.storage.message}; {waiting} files not written, none marked failed "
                   f"({fix}, then run this again)", err=True)  # one line, unwrapped, for logs and scripts
        sys.exit(EXIT_FAILED)
    console.print(f"{done} done ({summary.counts.get('skipped', 0)} already up to date), {summary.failed} failed")
    sys.exit(EXIT_FAILED if summary.failed else 0)

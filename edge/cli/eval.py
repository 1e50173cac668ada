"""`edge eval DATASET [--route R] [--json] [--html FILE]` and `edge eval make-set OUT --n N --seed S`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..errors import ConfigError, EdgeError
from .common import EXIT_CONFIG, EXIT_FAILED, config_options, fail, load_or_exit


class EvalGroup(click.Group):
    """A group whose first argument is either a subcommand or the DATASET to score."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=EvalGroup, subcommand_metavar="DATASET [--route R] [--json] [--html FILE] | make-set OUT")
def eval_group():
    """Score a route on a labelled set (folder of files with <file>.truth.json, or recordings with
    <file>.ref.txt and optionally <file>.lang), or make such a set.

    \b
    edge eval DATASET [--route R] [--json] [--html FILE]
    edge eval make-set OUT --n N --seed S
    """


@eval_group.command("run", hidden=True)
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--route", "route_name", default=None, help="Route to evaluate (default: the first extract route; for recordings, the first transcribe route).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write a self-contained offline HTML report here.")
@config_options
def run_eval(dataset, route_name, as_json, html_path, config_path, state_dir):
    """Run the pipeline over DATASET and score every field (or, for recordings with NAME.ext.ref.txt, every
    transcript: WER per language)."""
    config = load_or_exit(config_path)
    err = Console(stderr=True)
    evaluate, report, name_of = _evaluator(dataset)
    try:
        result = evaluate(config, dataset, route_name,
                          progress=lambda done: err.print(f"{name_of(done)}: {done.status}", highlight=False))
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG)
    except EdgeError as exc:
        fail(exc, EXIT_CONFIG if exc.code in ("no_dataset", "bad_truth") else EXIT_FAILED)
    if html_path:
        html_path.write_text(report.to_html(result), encoding="utf-8")
        err.print(f"HTML report: {html_path}")
    if as_json:
        click.echo(report.to_json(result))
    else:
        report.print_table(result, Console(width=160))


def _evaluator(dataset: Path) -> tuple[Any, Any, Any]:
    """How to score DATASET, its report writer, and the name of one scored item: documents or recordings."""
    from ..eval import speech

    if speech.is_speech_set(dataset):
        from ..eval import speech_report

        return speech.evaluate, speech_report, lambda scored: scored.recording.name
    from ..eval import report
    from ..eval.run import evaluate

    return evaluate, report, lambda doc: doc.sample.name


@eval_group.command("make-set")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--n", "count", type=click.IntRange(min=1), default=200, show_default=True, help="How many documents.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, byte-identical files.")
@config_options
def make_set(out, count, seed, config_path, state_dir):
    """Draw N synthetic invoices, claim forms and receipts, with truth files, into OUT."""
    from ..eval.makeset import make_set as draw

    paths = draw(out, count, seed)
    click.echo(f"wrote {len(paths)} documents with truth files to {out}")
    sys.exit(0)

"""The `edge` command line: parse, call the core, map errors to exit codes.

Commands live in their own modules and are imported only when called, so
`edge status` does not pay for importing llama.cpp.
"""

from __future__ import annotations

import importlib
import signal
import sys

_stop_requested = False


def _stopped_before_start(signum: int, frame: object) -> None:
    """SIGTERM while `edge watch` is still starting: nothing is claimed or running yet, a clean stop."""
    global _stop_requested
    _stop_requested = True  # `edge watch` looks again: Python swallows this SystemExit when the signal
    raise SystemExit(0)  # lands in a callback, e.g. an import lock's ("Exception ignored in ... cb")


def stop_requested_while_starting() -> bool:
    """A SIGTERM came before the daemon's own handlers, and edge is still running (its SystemExit was lost)."""
    return _stop_requested


if sys.argv[1:2] == ["watch"]:  # first thing, before the imports: the daemon installs its own handler later
    signal.signal(signal.SIGTERM, _stopped_before_start)

import click  # noqa: E402

from .. import __version__  # noqa: E402

COMMANDS = {
    "watch": "edge.cli.watch:watch",
    "process": "edge.cli.process:process",
    "status": "edge.cli.state:status",
    "retry": "edge.cli.state:retry",
    "state": "edge.cli.state:state_group",
    "models": "edge.cli.models:models",
    "doctor": "edge.cli.doctor:doctor",
    "tokens": "edge.cli.tokens:tokens",
    "eval": "edge.cli.eval:eval_group",
    "review": "edge.cli.review:review",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge")
def main() -> None:
    """edge: drop files into watched folders, get JSON from local models."""

"""A SIGTERM that lands while `edge watch` starts is a stop even when Python swallows its SystemExit.

The early handler raises SystemExit; when the signal arrives while Python runs a callback (an import
lock's weakref callback, seen under load), Python prints "Exception ignored in ..." and goes on, so
`edge watch` looks at the flag the handler left before the daemon starts.
"""

from __future__ import annotations

import gc
import signal
import weakref

import pytest
from click.testing import CliRunner

import edge.cli
from edge.cli.watch import watch


class _Thing:
    pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed SystemExit
def test_the_early_handler_leaves_a_flag_a_swallowing_callback_cannot_lose(monkeypatch):
    monkeypatch.setattr(edge.cli, "_stop_requested", False)
    thing = _Thing()
    ref = weakref.ref(thing, lambda _: edge.cli._stopped_before_start(signal.SIGTERM, None))  # noqa: F841
    del thing  # the callback raises SystemExit; Python reports it as ignored and goes on
    gc.collect()
    assert edge.cli.stop_requested_while_starting()


def test_watch_exits_0_without_starting_once_a_stop_was_requested(monkeypatch, tmp_path):
    (tmp_path / "inbox").mkdir()
    monkeypatch.setattr(edge.cli, "_stop_requested", True)
    result = CliRunner().invoke(watch, [str(tmp_path / "inbox"), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    assert "event=ready" not in result.output


def test_watch_starts_when_no_stop_was_requested(monkeypatch, tmp_path):
    from edge import daemon

    monkeypatch.setattr(edge.cli, "_stop_requested", False)
    monkeypatch.setattr(daemon.Daemon, "run", lambda self: 7)  # the daemon itself is tested elsewhere
    (tmp_path / "inbox").mkdir()
    result = CliRunner().invoke(watch, [str(tmp_path / "inbox"), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 7, result.output

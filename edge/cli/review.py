"""`edge review list`, `edge review accept FILE [CORRECTED.json]` and `edge review serve` (the review page)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import Config
from ..errors import ConfigError, EdgeError
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    config_options,
    fail,
    load_or_exit,
    state_option,
)


@click.group()
def review():
    """Work through the files that need a person (the review_dir folder)."""


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per waiting file.")
@state_option
@config_options
def list_cmd(as_json, config_path, state_dir, state_url):
    """Show the files waiting for review, newest first, with the reasons (on a shared ledger: flagged on any host)."""
    from .. import review as core

    config = load_or_exit(config_path)
    shared = _flagged_elsewhere(config, state_dir, state_url)
    try:
        pending = core.queue(config) if shared is None or config.edge.review_dir else []
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG)
    items = [item.summary() for item in pending]
    here = {item["origin"] for item in items}
    items += [item for item in shared or [] if item["origin"] not in here]
    if as_json:
        for item in items:
            click.echo(json.dumps(item, ensure_ascii=False))
        return
    click.echo(f"{len(items)} file(s) waiting for review")
    for item in items:
        where = f"from {item['origin']}" if item["file"] else f"flagged on {item['host']} (not in this review folder)"
        click.echo(f"{item['file'] or item['origin']}\n    {where}")
        for reason in item["reasons"]:
            click.echo(f"    - {reason.get('code')}: {reason.get('message', '')}")


def _flagged_elsewhere(config: Config, state_dir, url: str | None) -> list[dict] | None:
    """Files a shared ledger records as flagged, still unreviewed; None with the SQLite ledger."""
    from .. import sidecar
    from ..ledger import LedgerUnavailable
    from ..ledger.choose import state_url
    from .state import open_state

    try:
        if state_url(url, config.edge.state) is None:
            return None
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG)
    ledger = open_state(config, state_dir, url)
    try:
        flagged = ledger.flagged()
    except LedgerUnavailable as exc:
        fail(exc, EXIT_FAILED)
    finally:
        ledger.close()
    placement, items = sidecar.Placement(config.edge.output_dir), []
    for row, host in flagged:
        doc = sidecar.read(placement.ok_path(Path(row.path), Path(row.root))) if Path(row.root).is_dir() else None
        review = (doc or {}).get("review") or {}
        if doc is None or review.get("needs_review"):  # accepted since (readable here): no longer waiting
            items.append({"file": None, "origin": row.path, "host": host, "reasons": review.get("reasons", [])})
    return items


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


@review.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="TCP port (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--allow-remote", is_flag=True, help="Allow an address other machines can reach.")
@click.option("--review-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The review folder (default: review_dir of models.toml).")
@config_options
def serve_cmd(port, host, allow_remote, review_dir, config_path, state_dir):
    """The review queue as a local web page: each file's page with the box of every value, its reasons, the
    candidates; Accept or Save corrected does what `edge review accept` does. Open the URL it prints (it carries
    the token; without it every request gets 403)."""
    from ..errors import InputError
    from ..webreview import app as web

    if not web.is_loopback(host) and not allow_remote:
        fail(InputError(f"refusing to listen on {host}: not a loopback address, and anyone who can reach it "
                        "with the token could change sidecars; pass --allow-remote to serve other machines"),
             EXIT_CONFIG)
    config = load_or_exit(config_path)
    if review_dir is not None:
        config = config.model_copy(update={"edge": config.edge.model_copy(update={"review_dir": review_dir})})
    from .. import review as core

    try:
        folder = core.review_dir(config)
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG)
    application, token = web.create_app(config)
    try:
        sock = web.listen(host, port)
    except OSError as exc:
        fail(InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"), EXIT_CONFIG)
    click.echo(f"edge review: {len(core.queue(config))} file(s) waiting in {folder}")
    click.echo(f"open {web.page_url(sock, host, token)}")
    sys.stdout.flush()
    web.serve(application, sock)

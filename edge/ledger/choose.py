"""Which ledger: `--state-url`, else $EDGE_STATE_URL, else `[edge] state`.

A `postgresql://` (or `postgres://`) URL selects the shared PostgreSQL ledger;
nothing, "" or "sqlite" keeps the SQLite file under the state directory. A URL
of any other scheme is refused rather than silently kept private to one host.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError
from .base import LedgerAPI
from .shares import ShareMap

PG_SCHEMES = ("postgresql", "postgres")
ENV = "EDGE_STATE_URL"


def state_url(explicit: str | None = None, configured: str | None = None) -> str | None:
    """The PostgreSQL URL to use, or None for SQLite; ConfigError for an unknown scheme."""
    url = explicit or os.environ.get(ENV) or configured
    if not url or url.strip().lower() == "sqlite":
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in PG_SCHEMES:
        return url
    raise ConfigError(f"state {redact(url)!r}: not a postgresql:// URL",
                      hint='use postgresql://USER:PASSWORD@HOST/DB, or leave `state` unset for SQLite')


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for logs and messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))
    except ValueError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def open_ledger(state_dir: Path, url: str | None = None, shares: ShareMap | None = None,
                lease: float = 30.0) -> LedgerAPI:
    """The SQLite ledger, or the PostgreSQL one when a URL is given (ConfigError if unusable)."""
    if url is None:
        from .sqlite import Ledger

        return Ledger(state_dir)
    from .postgresql import PostgresLedger

    Path(state_dir).mkdir(parents=True, exist_ok=True)  # metrics snapshots still live there
    return PostgresLedger(url, shares or ShareMap([]), lease=lease)

"""Which ledger (edge/ledger/choose.py): flag over $EDGE_STATE_URL over models.toml, the password hidden;
and a named watch folder (edge/ledger/shares.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.ledger.choose import redact, state_url
from edge.ledger.shares import split_named


def test_choosing_the_ledger_and_hiding_the_password(monkeypatch):
    monkeypatch.delenv("EDGE_STATE_URL", raising=False)
    assert state_url(None, None) is None and state_url(None, "sqlite") is None
    assert state_url(None, "postgresql://h/db") == "postgresql://h/db"
    monkeypatch.setenv("EDGE_STATE_URL", "postgres://env/db")
    assert state_url(None, "postgresql://h/db") == "postgres://env/db"  # env over the config file
    assert state_url("postgresql://flag/db", "postgresql://h/db") == "postgresql://flag/db"  # flag over both
    with pytest.raises(ConfigError, match="not a postgresql:// URL"):
        state_url("mysql://u:pw@h/db")
    assert redact("postgresql://edge:hunter2@db:5432/edge") == "postgresql://edge:***@db:5432/edge"
    assert split_named("scans=/mnt/inbox") == ("scans", Path("/mnt/inbox"))
    assert split_named("/mnt/a=b") == (None, Path("/mnt/a=b"))

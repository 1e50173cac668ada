"""models.toml checked when it loads (edge/config.py, edge/configure.py), and the shipped copy."""

from __future__ import annotations

import pytest

from edge.configure import parse_config
from edge.errors import ConfigError
from tests.helpers import ROOT


def test_route_naming_unknown_model_is_an_error():
    with pytest.raises(ConfigError, match="names model 'ghost'"):
        parse_config({"routes": [{"model": "ghost"}]})


def test_after_must_be_move():
    with pytest.raises(ConfigError, match="edge.after"):
        parse_config({"edge": {"after": "delete"}})


def test_shipped_config_matches_packaged_default():
    assert (ROOT / "models.toml").read_text() == (ROOT / "edge" / "default_models.toml").read_text()

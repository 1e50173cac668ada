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


def test_shipped_audio_route_is_multilingual_and_detects_the_language():
    """Issue 21: tiny.en turned every other language into English-sounding nonsense by default."""
    from edge.configure import load_config
    from edge.routing import choose
    from edge.tasks.transcribe import options

    config = load_config(ROOT / "models.toml")
    route = choose(config, "interview.m4a", "audio")
    assert route.name == "audio" and config.models[route.model].model == "embedded:base"
    assert options(route).language is None  # detected per file
    video = choose(config, "talk.mp4", "video")
    assert config.models[video.options["asr"]].model == "embedded:base"

"""Routes: which `[[routes]]` entry takes a file, by path glob and media kind (edge/routing.py)."""

from __future__ import annotations

import pytest

from edge import routing
from edge.configure import parse_config


@pytest.mark.parametrize("pattern,path,hit", [
    ("claims/**", "claims/a.jpg", True), ("claims/**", "claims/2024/b.pdf", True), ("claims/**", "other/a.jpg", False),
    ("*.jpg", "a.jpg", True), ("*.jpg", "sub/a.jpg", False), ("**/*.jpg", "sub/a.jpg", True), ("**/*.jpg", "a.jpg", True),
])
def test_route_globs(pattern, path, hit):
    assert bool(routing.glob_regex(pattern).match(path)) is hit


def test_route_choice_by_glob_and_media():
    config = parse_config({
        "models": {"m": {"engine": "metadata"}},
        "routes": [{"name": "claims", "match": ["claims/**"], "media": ["image"], "model": "m"},
                   {"name": "sound", "media": ["audio"], "model": "m"}],
    })
    assert routing.choose(config, "claims/a.jpg", "image").name == "claims"
    assert routing.choose(config, "claims/a.wav", "audio").name == "sound"
    assert routing.choose(config, "claims/a.pdf", "pdf").name == "default"

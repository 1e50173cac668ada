"""A misspelt key anywhere in models.toml stops `edge watch` at start: exit 2, the key named."""

from __future__ import annotations

import pytest

from edge.engines.base import ENGINES
from tests.helpers import run_edge

ROUTE_TYPOS = {
    "extract": ('[models.ocr-small]\nengine = "ocr"\n\n[[routes]]\nname = "docs"\nmedia = ["image"]\n'
                'task = "extract"\ntiers = ["ocr-small"]\noptions = { ocr_hnt = true }\n', "routes.docs.options.ocr_hnt"),
    "transcribe": ('[models.asr]\nengine = "faster-whisper"\nmodel = "embedded:tiny.en"\n\n[[routes]]\nname = "talk"\n'
                   'media = ["audio"]\ntask = "transcribe"\nmodel = "asr"\noptions = { languag = "en" }\n',
                   "routes.talk.options.languag"),
    "extract value": ('[models.ocr-small]\nengine = "ocr"\n\n[[routes]]\nname = "docs"\ntask = "extract"\n'
                      'tiers = ["ocr-small"]\noptions = { date_order = "DM" }\n', "routes.docs.options.date_order"),
}


def stops_at_start(tmp_path, text: str, key: str) -> None:
    config = tmp_path / "models.toml"
    config.write_text(text)
    (tmp_path / "inbox").mkdir()
    done = run_edge("watch", str(tmp_path / "inbox"), "--config", str(config), "--state-dir", str(tmp_path / "s"),
                    timeout=60)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert f"{key}: " in done.stderr and str(config) in done.stderr, done.stderr


@pytest.mark.parametrize("where", sorted(ROUTE_TYPOS))
def test_a_route_option_typo_stops_watch(where, tmp_path):
    stops_at_start(tmp_path, *ROUTE_TYPOS[where])


MINIMAL = {"ollama": 'model = "llama3.2-vision:11b"\n', "llamacpp": 'model = "/models/any.gguf"\n',
           "faster-whisper": 'model = "embedded:tiny.en"\n', "openai": 'model = "any"\n', "ocr-openai": 'model = "any"\n'}


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_an_engine_option_typo_stops_watch(engine, tmp_path):
    text = f'[models.m]\nengine = "{engine}"\n{MINIMAL.get(engine, "")}idle_sx = 1\n'
    stops_at_start(tmp_path, text, "models.m.idle_sx")

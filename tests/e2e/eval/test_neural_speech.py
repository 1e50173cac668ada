"""The shipped audio model (multilingual Whisper base) on natural-sounding French: Kokoro-82M speech made
offline by tests/helpers/neural_speech.py, scored by edge's own speech evaluator (issue 21: WER <= 0.25)."""

from __future__ import annotations

import pytest

from edge.configure import parse_config
from edge.eval import speech
from tests.helpers import neural_speech

pytestmark = pytest.mark.skipif(neural_speech.available() is not None, reason=str(neural_speech.available()))


def test_the_shipped_model_transcribes_natural_french_speech(tmp_path):
    neural_speech.speech_set(tmp_path, ["fr"], clips=1, per_clip=3)
    config = parse_config({
        "models": {"asr": {"engine": "faster-whisper", "model": "embedded:base", "device": "cpu", "cpu_threads": 2}},
        "routes": [{"name": "audio", "media": ["audio"], "task": "transcribe", "model": "asr"}],
    })
    report = speech.evaluate(config, tmp_path)
    (recording,) = report.recordings
    assert report.per_language()["fr"]["error_rate"] <= 0.25, recording.text
    assert recording.detected == "fr" and recording.probability > 0.5, (recording.detected, recording.probability)
    assert "model_language_mismatch" not in recording.reasons, recording.reasons

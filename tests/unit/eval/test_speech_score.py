"""WER and CER as `edge eval` counts them on speech (edge/eval/speech_score.py), and the speech set's files."""

from __future__ import annotations

import pytest

from edge.errors import InputError
from edge.eval import speech
from edge.eval.speech_score import edits, error_rate, metric, normalise


def test_words_are_compared_without_case_punctuation_or_apostrophes():
    assert normalise("« Bonjour, Marie ! » It’s 5 p.m.") == "bonjour marie its 5 p m"
    assert error_rate("Please call the office.", "please call the office", "en") == 0.0
    assert error_rate("Please call the office.", "please fall office", "en") == 0.5  # one substitution, one deletion


def test_languages_without_spaces_are_scored_by_characters():
    assert [metric(code) for code in ("zh", "ja", "ko", "th", "fr", None)] == ["cer"] * 4 + ["wer"] * 2
    assert edits("我们去公园吧。", "我们去公圆", "zh") == (2, 6)
    assert error_rate("", "", "en") == 0.0 and error_rate("", "invented", "en") == 1.0


def test_a_speech_set_pairs_recordings_with_references_and_languages(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "a.wav.ref.txt").write_text("Bonjour.\n", encoding="utf-8")
    (tmp_path / "a.wav.lang").write_text("FR\n", encoding="utf-8")
    (tmp_path / "b.mp3").write_bytes(b"ID3")
    (tmp_path / "b.mp3.ref.txt").write_text("Hello.", encoding="utf-8")
    assert speech.is_speech_set(tmp_path)
    found = [(r.name, r.reference, r.language) for r in speech.load(tmp_path)]
    assert found == [("a.wav", "Bonjour.", "fr"), ("b.mp3", "Hello.", None)]
    (tmp_path / "gone.wav.ref.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="gone.wav is not there"):
        speech.load(tmp_path)
    assert not speech.is_speech_set(tmp_path / "nowhere")

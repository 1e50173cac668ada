"""Probing and windowed decoding of audio with PyAV (no model involved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.errors import InputError
from edge.media import audio
from tests.helpers import audio as h

pytestmark = [pytest.mark.usefixtures("no_network"),
              pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))]


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    tmp = tmp_path_factory.mktemp("speech")
    return h.join([h.speech_samples(text, tmp) for text in h.SENTENCES[:2]])


def decode_all(path: Path, window_s: float = 3600, max_duration: float | None = None) -> list[tuple[float, np.ndarray]]:
    info = audio.probe(path, max_duration)
    return list(audio.AudioStream(path, info, max_duration).windows(window_s))


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".webm"])
def test_each_audio_format_decodes_to_16k_mono_of_the_right_length(tmp_path, speech, suffix):
    path = h.write_audio(tmp_path / f"clip{suffix}", speech)
    info = audio.probe(path)
    assert not info.has_video
    (offset, samples), = decode_all(path)
    assert offset == 0 and samples.dtype == np.float32 and samples.ndim == 1
    expected = len(speech) / h.RATE
    assert abs(len(samples) / audio.SAMPLE_RATE - expected) < 0.1  # encoder padding only
    assert np.abs(samples).max() > 0.05  # the speech is there, not silence


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm"])
def test_the_soundtrack_of_a_video_is_decoded(tmp_path, speech, suffix):
    path = h.write_video(tmp_path / f"film{suffix}", speech)
    info = audio.probe(path)
    assert info.has_video
    (_, samples), = decode_all(path)
    assert abs(len(samples) / audio.SAMPLE_RATE - len(speech) / h.RATE) < 0.2


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_video_without_sound_is_refused_with_a_clear_reason(tmp_path, suffix):
    path = h.write_video(tmp_path / f"mute{suffix}", None, seconds=2)
    with pytest.raises(InputError) as caught:
        audio.probe(path)
    assert caught.value.code == "no_audio"
    assert "no audio stream" in caught.value.message and "video" in caught.value.message


def test_a_truncated_mp3_is_refused_after_decoding(tmp_path, speech):
    whole = h.write_audio(tmp_path / "whole.mp3", speech)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError) as caught:
        decode_all(cut)
    assert caught.value.code == "truncated"
    assert "truncated" in caught.value.message and "could be decoded" in caught.value.message


@pytest.mark.parametrize("damage", ["text", "random_header", "half_m4a"])
def test_unreadable_files_are_corrupt_input(tmp_path, speech, damage):
    if damage == "text":
        path = tmp_path / "notes.wav"
        path.write_text("this is a shopping list, not a recording\n" * 20)
    elif damage == "random_header":
        good = h.write_audio(tmp_path / "good.wav", speech).read_bytes()
        path = tmp_path / "broken.wav"
        path.write_bytes(np.random.default_rng(3).bytes(64) + good[64:])
    else:
        good = h.write_audio(tmp_path / "good.m4a", speech).read_bytes()
        path = tmp_path / "broken.m4a"
        path.write_bytes(good[: len(good) // 2])  # the moov atom is at the end: nothing is readable
    with pytest.raises(InputError) as caught:
        decode_all(path)
    assert caught.value.code == "corrupt"
    assert path.name in caught.value.message


def test_max_duration_refuses_long_files_from_the_header(tmp_path, speech):
    path = h.write_audio(tmp_path / "long.flac", speech)
    with pytest.raises(InputError) as caught:
        audio.probe(path, max_duration=2.0)
    assert caught.value.code == "too_long" and "max_duration" in caught.value.message


def test_max_duration_also_stops_decoding_when_the_header_says_nothing(tmp_path, speech):
    path = h.write_audio(tmp_path / "long.wav", speech)
    info = audio.AudioInfo("wav", "pcm_s16le", h.RATE, 1, None, False)  # as from a stream with no duration
    with pytest.raises(InputError) as caught:
        list(audio.AudioStream(path, info, max_duration=2.0).windows(600))
    assert caught.value.code == "too_long"


def test_windows_cover_the_file_exactly_and_cut_in_pauses(tmp_path, tmp_path_factory):
    # 70 s: sentences separated by pauses, decoded in windows of about 25 s
    parts = [h.speech_samples(text, tmp_path) for text in h.SENTENCES] * 3
    path = h.write_audio(tmp_path / "talk.wav", h.join(parts, gap_s=0.8))
    whole = decode_all(path)[0][1]
    windows = decode_all(path, window_s=25)
    assert len(windows) >= 3
    joined = np.concatenate([samples for _, samples in windows])
    assert np.array_equal(joined, whole)  # nothing lost, nothing doubled
    for (offset, samples), (next_offset, _) in zip(windows, windows[1:]):
        assert next_offset == pytest.approx(offset + len(samples) / audio.SAMPLE_RATE)
        edge = samples[-800:]  # the 50 ms before each cut
        assert np.sqrt(np.mean(np.square(edge))) < 0.01  # cut where nobody speaks


def test_quiet_cut_finds_the_pause():
    rng = np.random.default_rng(0)
    loud = rng.standard_normal(audio.SAMPLE_RATE * 30).astype(np.float32) * 0.3
    loud[audio.SAMPLE_RATE * 22: audio.SAMPLE_RATE * 22 + 4000] = 0.0  # a quarter-second pause at 22 s
    cut = audio.quiet_cut(loud, audio.SAMPLE_RATE * 28)
    assert audio.SAMPLE_RATE * 22 <= cut <= audio.SAMPLE_RATE * 22 + 4000


def test_a_truncated_wav_is_refused_from_its_header(tmp_path, speech):
    whole = h.write_audio(tmp_path / "whole.wav", speech)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError) as caught:
        audio.probe(cut)
    assert caught.value.code == "truncated" and "promises" in caught.value.message
    audio.probe(whole)  # the complete file passes
    unfinished = tmp_path / "unfinished.wav"  # a recorder that never wrote the sizes back
    data = bytearray(whole.read_bytes()[: whole.stat().st_size // 2])
    size_at = data.index(b"data") + 4
    data[size_at:size_at + 4] = (0xFFFFFFFF).to_bytes(4, "little")
    unfinished.write_bytes(bytes(data))
    assert audio.probe(unfinished).container == "wav"

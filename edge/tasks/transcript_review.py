"""Why a transcript may be wrong: one review reason per cause, from Whisper's scores and the signal.

- `low_confidence`, `maybe_no_speech`: per segment, Whisper's own scores (a
  segment full of sound is not "no speech", whatever the padding of a short
  last window made the model believe);
- `hallucination_suspect`: a segment that repeats itself (compression ratio,
  an n-gram over and over, the same line again and again) or has text where
  the signal is silent;
- `language_uncertain`: the detected language is a guess; the candidates;
- `model_language_mismatch`: an English-only model on speech that a
  multilingual model identifies as another language;
- `low_speech_coverage`: sound that is not silence or noise (music, singing,
  speech VAD missed) with far fewer words than speech has;
- `decode_errors`: damaged packets were skipped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..media.levels import SILENT_DB, Levels
from .base import Review

MISMATCH_P = 0.5  # language ID this sure of another language than English: the English-only model is wrong
MIN_SOUNDING_S = 5.0  # less sound than this says nothing about coverage
SPEECH_WPM = "100-180"  # read and conversational speech, for the message
LOOP = "the same text as the segments around it"
_NO_SPACE = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


@dataclass
class Evidence:
    """What review looks at, gathered while transcribing."""

    segments: list[dict[str, Any]]
    levels: Levels
    language: str | None = None
    probability: float | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)
    language_given: bool = False
    multilingual: bool = True
    identified: list[tuple[str, float]] = field(default_factory=list)  # an English-only model's language check
    speech_s: float | None = None  # what VAD kept; None without VAD
    duration: float = 0.0
    decode_errors: int = 0
    model: str = ""


def review(evidence: Evidence, opts: Any) -> Review:
    """`opts` is the route's TranscribeOptions (its review_* thresholds)."""
    found = Review()
    for check in (_low_confidence, _no_speech, _hallucination, _language_uncertain, _mismatch, _coverage,
                  _decode_errors):
        reason = check(evidence, opts)
        if reason:
            found.flag(reason.pop("code"), reason.pop("message"), **reason)
    return found


def _low_confidence(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    """Segments Whisper scored low, or could only sample: at a temperature above 0 its beam search had failed
    its own log-probability or compression checks, and the text kept is a draw (nonsense in a wrong
    language looks like this while its log-probability passes)."""
    weak = [s for s in ev.segments if s["avg_logprob"] < opts.review_logprob]
    sampled = [s for s in ev.segments if s.get("temperature", 0.0) >= opts.review_temperature and s not in weak]
    if not weak and not sampled:
        return None
    said = []
    if weak:
        said.append(f"{len(weak)} segment(s) have an average log-probability below {opts.review_logprob}")
    if sampled:
        said.append(f"{len(sampled)} segment(s) were sampled at temperature {opts.review_temperature} or more after"
                    " the beam search failed Whisper's own checks")
    return {"code": "low_confidence", "message": "; ".join(said),
            "spans": spans(sorted(weak + sampled, key=lambda s: s["start"]))}


def _no_speech(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    silent = [s for s in ev.segments if s["no_speech_prob"] > opts.review_no_speech
              and ev.levels.sounding_s(s["start"], s["end"]) < 0.5 * (s["end"] - s["start"])]
    if not silent:
        return None
    return {"code": "maybe_no_speech", "message": f"{len(silent)} segment(s) have text where the model heard "
            f"probably no speech (no-speech probability above {opts.review_no_speech}, and little sound)",
            "spans": spans(silent)}


def _hallucination(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    loops = looped(ev.segments)
    causes = [_suspect(s, ev.levels, opts) or (LOOP if i in loops else None) for i, s in enumerate(ev.segments)]
    suspects = [(s, cause) for s, cause in zip(ev.segments, causes) if cause]
    if not suspects:
        return None
    listed = "; ".join(sorted({cause for _, cause in suspects}))
    return {"code": "hallucination_suspect", "message": f"{len(suspects)} segment(s) look invented: {listed}",
            "spans": [{**spans([s])[0], "cause": cause} for s, cause in suspects]}


def _suspect(segment: dict[str, Any], levels: Levels, opts: Any) -> str | None:
    ratio = segment.get("compression_ratio")
    if ratio is not None and ratio > opts.review_compression:
        return f"repetitive text (compression ratio above {opts.review_compression})"
    gram = repeated_ngram(segment["text"])
    if gram:
        return f"a phrase repeated over and over ({gram!r})"
    if levels.db.size and levels.loudest_db(segment["start"], segment["end"]) < SILENT_DB:
        return f"text where the audio is silent (below {SILENT_DB:.0f} dBFS)"
    return None


def _language_uncertain(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    if ev.language_given or not ev.multilingual or not ev.segments or ev.probability is None:
        return None
    if ev.probability >= opts.review_language:
        return None
    listed = ", ".join(f"{code} {p:.2f}" for code, p in ev.candidates[:3])
    return {"code": "language_uncertain", "message": f"the language is uncertain: {ev.language} with probability "
            f"{ev.probability:.2f} (below {opts.review_language}); candidates {listed}; set options.language "
            "if you know it", "candidates": [{"language": code, "probability": p} for code, p in ev.candidates[:3]]}


def _mismatch(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    if ev.multilingual or not ev.identified:
        return None
    code, p = ev.identified[0]
    if code == "en" or p < MISMATCH_P:
        return None
    return {"code": "model_language_mismatch", "message": f"the English-only model {ev.model} heard speech that "
            f"language identification finds is not English ({code}, probability {p:.2f}): the transcript is likely "
            "English-sounding nonsense; use a multilingual model (embedded:base)",
            "candidates": [{"language": c, "probability": q} for c, q in ev.identified[:3]]}


def _coverage(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    sounding = ev.levels.sounding_s()
    if sounding < MIN_SOUNDING_S:
        return None
    kept = min(sounding, ev.duration if ev.speech_s is None else ev.speech_s)
    pace = word_count(" ".join(s["text"] for s in ev.segments)) / (sounding / 60)
    if kept >= opts.review_coverage * sounding and pace >= opts.review_words_per_minute:
        return None
    dropped = 1 - kept / sounding
    hint = "; if this is music or singing, try options.vad_filter = false" if ev.speech_s is not None else ""
    return {"code": "low_speech_coverage", "message": f"{sounding:.1f} s of the audio is sound (not silence or "
            f"noise); VAD kept {kept:.1f} s of it ({dropped:.0%} dropped) and the transcript has {pace:.0f} words "
            f"per minute of it (speech runs at {SPEECH_WPM}){hint}",
            "sounding_s": round(sounding, 1), "kept_s": round(kept, 1), "dropped_share": round(dropped, 3),
            "words_per_minute": round(pace, 1)}


def _decode_errors(ev: Evidence, opts: Any) -> dict[str, Any] | None:
    if not ev.decode_errors:
        return None
    return {"code": "decode_errors", "message": f"{ev.decode_errors} damaged audio packet(s) were skipped"}


def word_count(text: str) -> float:
    """Words; in scripts written without spaces, about one word per two characters."""
    unspaced = len(_NO_SPACE.findall(text))
    return len(_NO_SPACE.sub(" ", text).split()) + unspaced / 2


def repeated_ngram(text: str) -> str | None:
    """An n-gram said over and over in a row (four times; a single word six times), else None. Words are
    counted without their punctuation ("1,1,1,1" is four words); in scripts without spaces, characters."""
    spaced = len(_NO_SPACE.findall(text)) * 2 < len(text)
    units = re.findall(r"\w+", text.casefold()) if spaced else [c for c in text if _is_letter(c)]
    for n in range(1 if spaced else 2, 7 if spaced else 9):
        copies = 6 if n == 1 else 4
        for start in range(0, len(units) - copies * n + 1):
            gram = units[start:start + n]
            if all(units[start + k * n:start + (k + 1) * n] == gram for k in range(1, copies)):
                return (" " if spaced else "").join(gram)
    return None


def _is_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"  # letters, their marks (Thai vowels), digits


def looped(segments: list[dict[str, Any]], run: int = 3) -> set[int]:
    """Indices of the segments in a run of `run` or more with the same text (Whisper stuck in a loop)."""
    found: set[int] = set()
    start = 0
    for index in range(1, len(segments) + 1):
        if index == len(segments) or segments[index]["text"].casefold() != segments[start]["text"].casefold():
            if index - start >= run:
                found.update(range(start, index))
            start = index
    return found


def spans(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("start", "end", "avg_logprob", "no_speech_prob", "compression_ratio", "temperature", "text")
    return [{key: s[key] for key in keys if key in s} for s in segments]

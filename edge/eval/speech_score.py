"""Word (or character) error rate of a transcript against its reference.

Both texts are normalised the same way: Unicode NFKC, case folded, punctuation
dropped (any language's; an apostrophe joins: "it's" = "its"), whitespace
collapsed. Languages written without
spaces between words (Chinese, Japanese, Korean in part, Thai) are scored by
characters (CER), every other language by words (WER).
"""

from __future__ import annotations

import unicodedata

from rapidfuzz.distance import Levenshtein

CHARACTER_LANGUAGES = ("zh", "ja", "ko", "th", "yue")
APOSTROPHES = "'\u2019\u02bc"


def metric(language: str | None) -> str:
    """ "cer" for languages scored by characters, else "wer"."""
    return "cer" if (language or "").split("-")[0].lower() in CHARACTER_LANGUAGES else "wer"


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join("" if char in APOSTROPHES else " " if _is_punctuation(char) else char for char in folded)
    return " ".join(kept.split())


def tokens(text: str, language: str | None) -> list[str]:
    clean = normalise(text)
    return list(clean.replace(" ", "")) if metric(language) == "cer" else clean.split()


def edits(reference: str, hypothesis: str, language: str | None) -> tuple[int, int]:
    """(edit distance, reference length) in words or characters: summed over a set, they give its rate."""
    truth = tokens(reference, language)
    return Levenshtein.distance(truth, tokens(hypothesis, language)), len(truth)


def error_rate(reference: str, hypothesis: str, language: str | None) -> float:
    distance, length = edits(reference, hypothesis, language)
    return distance / length if length else float(bool(tokens(hypothesis, language)))


def _is_punctuation(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith(("P", "S"))

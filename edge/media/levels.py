"""How loud, and how tonal, each tenth of a second of 16 kHz audio is.

Review of a transcript compares what Whisper heard with what the signal holds:
a frame is *sounding* when it is loud enough to hear and tonal (speech, music,
singing: a low spectral flatness), as opposed to silence or a noise floor (a
fan, hiss: flatness near that of white noise, about 0.56).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FRAME_S = 0.1
SILENT_DB = -45.0  # frames quieter than this (dBFS) are silence
TONAL_FLATNESS = 0.3  # frames flatter than this are noise, not speech or music


@dataclass
class Levels:
    """Per frame of FRAME_S seconds: level in dBFS and spectral flatness (0 tonal .. 1 white noise)."""

    db: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    flatness: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def sounding(self) -> np.ndarray:
        return (self.db > SILENT_DB) & (self.flatness < TONAL_FLATNESS)

    def sounding_s(self, start: float = 0.0, end: float | None = None) -> float:
        """Seconds of sounding audio between `start` and `end`."""
        return float(self.sounding[_frame(start): None if end is None else _frame(end)].sum()) * FRAME_S

    def loudest_db(self, start: float, end: float) -> float:
        part = self.db[_frame(start): max(_frame(end), _frame(start) + 1)]
        return float(part.max()) if part.size else -120.0

    def extend(self, offset: float, more: Levels) -> None:
        """Append the levels of a window that starts at `offset` seconds."""
        keep = min(len(self.db), _frame(offset))
        self.db = np.concatenate([self.db[:keep], more.db])
        self.flatness = np.concatenate([self.flatness[:keep], more.flatness])


def measure(samples: np.ndarray, rate: int = 16000) -> Levels:
    size = int(rate * FRAME_S)
    count = len(samples) // size
    if not count:
        return Levels()
    frames = samples[: count * size].astype(np.float32).reshape(count, size)
    rms = np.sqrt(np.mean(frames ** 2, axis=1) + 1e-12)
    power = np.abs(np.fft.rfft(frames * np.hanning(size).astype(np.float32), axis=1)) ** 2 + 1e-12
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    return Levels((20 * np.log10(rms)).astype(np.float32), flatness.astype(np.float32))


def _frame(seconds: float) -> int:
    return max(0, int(round(seconds / FRAME_S)))

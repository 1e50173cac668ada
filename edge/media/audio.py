"""Audio (and the soundtrack of video) as 16 kHz mono float32, decoded with PyAV.

`probe` reads the container without decoding and refuses what cannot be
transcribed. `AudioStream.windows` then decodes incrementally and yields the
audio a window at a time (cut at the quietest moment near each boundary), so a
recording hours long never sits decoded in memory at once: the memory needed
is that of one window, whatever the file's length.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import av
import numpy as np

from ..errors import InputError

SAMPLE_RATE = 16000
_CUT_SEARCH_S = 20.0  # look this far back from a window's end for a quiet cut
_CUT_FRAME_S = 0.1  # loudness is compared over frames this long
_TRUNCATION_SLACK_S = 1.0  # decoders legitimately lose a few frames at the end

log = logging.getLogger("edge.media.audio")


@dataclass(frozen=True)
class AudioInfo:
    container: str
    codec: str
    sample_rate: int
    channels: int
    declared_s: float | None  # what the headers promise; None when unknown
    has_video: bool


def probe(path: Path, max_duration: float | None = None) -> AudioInfo:
    """Facts from the headers; InputError for a file that has no usable audio."""
    with _open(path) as container:
        if not container.streams.audio:
            kinds = sorted({str(stream.type) for stream in container.streams}) or ["none"]
            raise InputError(f"{path.name} has no audio stream (streams: {', '.join(kinds)})", code="no_audio")
        info = _info(container)
    if info.container == "wav":
        _check_wav_complete(path)
    if max_duration is not None and info.declared_s is not None and info.declared_s > max_duration:
        raise InputError(
            f"{path.name} is {info.declared_s:.0f} s long, over max_duration = {max_duration:.0f} s",
            code="too_long", hint="raise the route's options.max_duration to accept it",
        )
    return info


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise InputError(f"{path.name} is corrupt or not a media file ffmpeg can read: {_reason(exc)}",
                         code="corrupt") from None


def _info(container: av.container.InputContainer) -> AudioInfo:
    stream = container.streams.audio[0]
    has_video = bool(container.streams.video)
    declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    if declared is None and not has_video and container.duration:
        declared = container.duration / 1e6  # a video's container duration may be the picture's, not the sound's
    codec = stream.codec_context
    return AudioInfo(container.format.name, codec.name, codec.sample_rate, codec.channels, declared, has_video)


def _check_wav_complete(path: Path) -> None:
    """A wav whose data chunk promises more bytes than the file holds was cut off.

    FFmpeg quietly trusts the file size there, so the header is read here.
    Recorders that never finalised the header (size 0 or 0xFFFFFFFF) pass.
    """
    with open(path, "rb") as handle:
        head = handle.read(65536)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return  # RF64 and friends: left to FFmpeg
    position, byte_rate = 12, 0
    while position + 8 <= len(head):
        chunk, size = head[position:position + 4], int.from_bytes(head[position + 4:position + 8], "little")
        if chunk == b"fmt " and size >= 12:
            byte_rate = int.from_bytes(head[position + 16:position + 20], "little")
        if chunk == b"data":
            held = path.stat().st_size - (position + 8)
            if size not in (0, 0xFFFFFFFF) and size > held and byte_rate:
                raise InputError(f"{path.name} is truncated: its header promises {size / byte_rate:.1f} s "
                                 f"but the file holds {held / byte_rate:.1f} s",
                                 code="truncated", hint="the file was probably cut off while it was copied")
            return
        position += 8 + size + (size & 1)


class AudioStream:
    """Decodes one file's first audio stream, window by window."""

    def __init__(self, path: Path, info: AudioInfo, max_duration: float | None = None):
        self.path = path
        self.info = info
        self.max_duration = max_duration
        self.decoded_samples = 0
        self.decode_errors = 0

    @property
    def decoded_s(self) -> float:
        return self.decoded_samples / SAMPLE_RATE

    def windows(self, window_s: float) -> Iterator[tuple[float, np.ndarray]]:
        """(offset in seconds, samples) for consecutive windows of about window_s."""
        size = int(window_s * SAMPLE_RATE)
        pending: list[np.ndarray] = []
        held = 0
        offset = 0
        for chunk in self._chunks():
            pending.append(chunk)
            held += len(chunk)
            if held >= size:
                audio = np.concatenate(pending)
                cut = quiet_cut(audio, size)
                yield offset / SAMPLE_RATE, audio[:cut]
                offset += cut
                pending, held = [audio[cut:].copy()], len(audio) - cut  # a copy lets the window go
        self._check_complete()
        if held:
            yield offset / SAMPLE_RATE, np.concatenate(pending)

    def _chunks(self) -> Iterator[np.ndarray]:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        limit = None if self.max_duration is None else int(self.max_duration * SAMPLE_RATE)
        with _open(self.path) as container:
            stream = container.streams.audio[0]
            for frame in self._frames(container, stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    self.decoded_samples += len(samples)
                    if limit is not None and self.decoded_samples > limit:
                        raise InputError(f"{self.path.name} runs past max_duration = {self.max_duration:.0f} s",
                                         code="too_long", hint="raise the route's options.max_duration to accept it")
                    yield samples

    def _frames(self, container: av.container.InputContainer, stream: av.AudioStream) -> Iterator[av.AudioFrame | None]:
        try:
            for packet in container.demux(stream):
                yield from self._decode(packet)
        except av.FFmpegError as exc:  # demuxing itself failed: the rest of the file is unreadable
            raise InputError(f"{self.path.name} is corrupt after {self.decoded_s:.1f} s: {_reason(exc)}",
                             code="corrupt") from None
        yield None  # flushes the resampler

    def _decode(self, packet: av.Packet) -> list[av.AudioFrame]:
        try:
            return cast(list[av.AudioFrame], packet.decode())
        except av.FFmpegError as exc:  # one damaged packet: skip it, as ffmpeg does
            self.decode_errors += 1
            log.debug("%s: skipped a damaged packet: %s", self.path.name, exc)
            return []

    def _check_complete(self) -> None:
        if self.decoded_samples == 0:
            raise InputError(f"{self.path.name} holds no decodable audio", code="empty_audio")
        declared = self.info.declared_s
        if declared and self.decoded_s < declared - max(_TRUNCATION_SLACK_S, 0.05 * declared):
            raise InputError(
                f"{self.path.name} is truncated: its header promises {declared:.1f} s "
                f"but only {self.decoded_s:.1f} s could be decoded",
                code="truncated", hint="the file was probably cut off while it was copied or recorded",
            )


def quiet_cut(audio: np.ndarray, size: int) -> int:
    """Where to end a window near `size`: the quietest short frame in the last seconds before it.

    Cutting in a pause keeps words whole across windows.
    """
    frame = int(_CUT_FRAME_S * SAMPLE_RATE)
    start = max(0, size - int(_CUT_SEARCH_S * SAMPLE_RATE))
    span = audio[start:size]
    count = len(span) // frame
    if count < 2:
        return size
    energy = np.square(span[: count * frame].reshape(count, frame)).mean(axis=1)
    latest_quietest = count - 1 - int(np.argmin(energy[::-1]))  # ties (true silence): keep the window long
    return start + latest_quietest * frame + frame // 2


def _reason(exc: av.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or str(exc)

"""Frames of a video, sampled with PyAV without decoding the whole stream.

`probe` reads the headers and refuses what cannot be sampled (corrupt, no
picture, absurd sizes). `sample` yields the chosen frames one at a time,
upright (display matrix applied), RGB, scaled within `max_side`, each with
its time in seconds from the start of the stream:

- `uniform`: `max` frames at the centres of equal spans of the duration;
- `fps`: one frame every 1/fps seconds (spread out to `max` when more);
- `scene`: the first frame and the frame after each cut, the `max`
  strongest; cuts are found on small grey thumbnails at a reduced rate;
- `keyframes`: the stream's own I-frames (found by demuxing, not decoding).

`uniform`, `fps` and `keyframes` seek to the keyframe before each target time
and decode forward only to it, so time and memory follow the frames taken,
not the length of the video. `scene` must look at the whole stream, but only
at thumbnails of the reference frames.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image

from ..errors import InputError

AV_TIME_BASE = 1_000_000  # FFmpeg's internal clock, the time base of last resort

Mode = Literal["uniform", "fps", "scene", "keyframes"]
MAX_PIXELS = 8192 * 8192  # 8K is 33 megapixels; a 16k x 16k stream is refused before decoding
THUMB = (64, 36)  # grey thumbnails compared for cuts
HIST_BINS = 32
_EPSILON = 1e-3  # seconds: a frame this close before a target counts as at it

log = logging.getLogger("edge.media.video")


class NoVideo(InputError):
    """The container holds no picture stream (an audio-only mp4)."""

    code = "no_video"


@dataclass(frozen=True)
class Sampling:
    mode: Mode = "uniform"
    max: int = 16
    fps: float = 0.5
    scene_threshold: float = 0.3  # histogram distance (0..1) between thumbnails that counts as a cut
    scene_rate: float = 4.0  # thumbnails compared per second of video
    snap: float = 0.0  # seconds a target may move back to the keyframe before it (0: exact times)
    scene_scan: Literal["full", "keyframes"] = "full"  # keyframes: look inside a GOP only when its ends differ


@dataclass(frozen=True)
class VideoInfo:
    container: str
    codec: str
    width: int  # as stored, before the display matrix
    height: int
    duration: float | None  # seconds, from the headers
    frame_rate: float | None
    frames: int | None  # declared frame count, when the container says
    has_audio: bool


@dataclass
class Frame:
    t: float  # seconds from the start of the stream
    image: Image.Image  # upright RGB
    rotation: int  # degrees the display matrix turned it (counter-clockwise)
    keyframe: bool


@dataclass
class Report:
    """What sampling did: numbers for the sidecar and the bench."""

    mode: str
    requested: int = 0
    targets: list[float] = field(default_factory=list)
    decoded: int = 0  # frames the decoder produced (the cost)
    seeks: int = 0
    decode_errors: int = 0
    notes: list[dict[str, str]] = field(default_factory=list)  # said in the sidecar: never silent
    cuts: list[dict[str, float]] = field(default_factory=list)  # scene mode: t and score of each cut found

    def note(self, code: str, message: str) -> None:
        self.notes.append({"code": code, "message": message})


# -- probe -----------------------------------------------------------------------------------------


def open_container(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"{path.name} is corrupt or not a video ffmpeg can read: {reason}", code="corrupt") from None


def video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    """The first real picture stream (cover art does not count)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    kinds = sorted({str(stream.type) for stream in container.streams}) or ["none"]
    raise NoVideo(f"{name} has no video stream (streams: {', '.join(kinds)})")


def probe(path: Path, max_pixels: int = MAX_PIXELS) -> VideoInfo:
    """Facts from the headers; InputError for what must not be decoded."""
    with open_container(path) as container:
        stream = video_stream(container, path.name)
        info = _info(container, stream)
    check_size(info.width, info.height, path.name, max_pixels)
    return info


def check_size(width: int, height: int, name: str, max_pixels: int = MAX_PIXELS) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"{name}: the video stream has no picture size ({width}x{height})", code="corrupt")
    if width * height > max_pixels:
        raise InputError(f"{name}: the video is {width}x{height} ({width * height / 1e6:.0f} megapixels), over "
                         f"the {max_pixels / 1e6:.0f} megapixel limit; refusing to decode it", code="too_large")


def _info(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoInfo:
    codec = stream.codec_context
    rate = float(stream.average_rate) if stream.average_rate else None
    return VideoInfo(container.format.name, codec.name, codec.width, codec.height, _duration(container, stream),
                     rate, stream.frames or None, bool(container.streams.audio))


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else None


# -- targets ----------------------------------------------------------------------------------------


def uniform_times(duration: float, count: int) -> list[float]:
    """Centres of `count` equal spans of the duration."""
    span = duration / count
    return [round((index + 0.5) * span, 6) for index in range(count)]


def fps_times(duration: float, fps: float, limit: int, report: Report) -> list[float]:
    """Every 1/fps seconds; spread to `limit` frames when there would be more (and said so)."""
    count = int(duration * fps - _EPSILON) + 1
    if count <= limit:
        return [round(index / fps, 6) for index in range(count)]
    step = duration / limit
    report.note("frames_capped", f"fps {fps:g} over {duration:.1f} s is {count} frames, over max {limit}: "
                                 f"one frame every {step:.2f} s instead")
    return [round(index * step, 6) for index in range(limit)]


def strongest(cuts: list[dict[str, float]], limit: int, report: Report) -> list[float]:
    """The first frame plus the `limit - 1` strongest cuts, in time order."""
    if len(cuts) <= limit:
        return [cut["t"] for cut in cuts]
    first, rest = cuts[0], sorted(cuts[1:], key=lambda cut: -cut["score"])[: limit - 1]
    report.note("frames_capped", f"{len(cuts) - 1} scene cuts found, over max {limit}: "
                                 f"kept the {limit - 1} strongest and the first frame")
    return sorted([first["t"], *(cut["t"] for cut in rest)])


# -- sampling ---------------------------------------------------------------------------------------


def sample(path: Path, sampling: Sampling, max_side: int, report: Report | None = None,
           max_pixels: int = MAX_PIXELS) -> Iterator[Frame]:
    """The sampled frames, one decoded at a time. `report` collects what happened."""
    report = report if report is not None else Report(sampling.mode)
    with open_container(path) as container:
        stream = video_stream(container, path.name)
        info = _info(container, stream)
        check_size(info.width, info.height, path.name, max_pixels)
        stream.codec_context.thread_type = "AUTO"
        cursor = Cursor(container, stream, report)
        report.targets = _targets(cursor, info, sampling, report)
        report.requested = len(report.targets)
        yield from _frames_at(cursor, report.targets, max_side, path.name, max_pixels, sampling.snap)


def _targets(cursor: Cursor, info: VideoInfo, sampling: Sampling, report: Report) -> list[float]:
    if sampling.mode == "scene":
        report.cuts = cursor.scene_cuts(sampling)
        return strongest(report.cuts, sampling.max, report)
    if sampling.mode == "keyframes":
        times = cursor.keyframe_times()
        if len(times) > sampling.max:
            report.note("frames_capped", f"{len(times)} keyframes, over max {sampling.max}: "
                                         f"{sampling.max} spread evenly among them")
            times = [times[int(index * len(times) / sampling.max)] for index in range(sampling.max)]
        return times
    duration = info.duration or cursor.measured_duration()
    if not duration:
        return [0.0]  # a stream with no stated length: its first frame, if any
    if sampling.mode == "fps":
        return fps_times(duration, sampling.fps, sampling.max, report)
    return uniform_times(duration, sampling.max)


def _frames_at(cursor: Cursor, times: list[float], max_side: int, name: str, max_pixels: int,
               snap: float = 0.0) -> Iterator[Frame]:
    taken: list[float] = []
    for target in times:
        frame = cursor.frame_at(cursor.snapped(target, snap))
        ended = frame is None
        if ended:
            cursor.report.note("ended_early", f"the stream ends before {target:.2f} s (truncated, or the headers "
                                              "overstate its length): its last frame stands for the rest")
            frame = cursor.last
            if frame is None:
                break
        assert frame is not None  # ended with no frame at all broke out above
        t = cursor.seconds(frame)
        if taken and abs(t - taken[-1]) < _EPSILON:
            if ended:
                break
            continue  # two targets within one frame's time: one frame
        check_size(frame.width, frame.height, name, max_pixels)
        taken.append(t)
        yield to_frame(frame, t, max_side)
        if ended:
            break
    if len(taken) < len(times):
        cursor.report.note("fewer_frames", f"{len(taken)} distinct frames of {len(times)} targets")
    if not taken:
        raise InputError(f"{name}: no video frame could be decoded (zero-length, truncated or corrupt stream)",
                         code="no_frames")


def to_frame(frame: av.VideoFrame, t: float, max_side: int) -> Frame:
    """Upright RGB within max_side: scaled by swscale first (cheap), turned by the display matrix."""
    scale = min(1.0, max_side / max(frame.width, frame.height))
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    image = frame.to_image(width=width, height=height)
    rotation = round(getattr(frame, "rotation", 0) or 0) % 360
    turn = _TURNS.get(rotation)
    return Frame(round(t, 6), image.transpose(turn) if turn is not None else image, rotation, frame.key_frame)


# Display-matrix rotation (counter-clockwise degrees) -> the transpose that shows the picture upright.
_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


# -- the decoder cursor -------------------------------------------------------------------------------


class Cursor:
    """Decodes forward from where it is, seeking only when a target lies further than a GOP ahead."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream, report: Report):
        self.container, self.stream, self.report = container, stream, report
        self.base = stream.time_base or Fraction(1, AV_TIME_BASE)  # a decodable stream always has one
        self.start = float(stream.start_time * self.base) if stream.start_time is not None else 0.0
        self.last: av.VideoFrame | None = None
        self.gop = 0.0  # the longest keyframe interval seen: within it decoding on beats seeking
        self._key_at: float | None = None
        self.keys = _indexed_keys(stream, self.start)  # keyframe times (the container's index, or a pass)
        self._frames: Iterator[av.VideoFrame] | None = None

    def seconds(self, frame: av.VideoFrame) -> float:
        return (frame.time if frame.time is not None else 0.0) - self.start

    def snapped(self, target: float, snap: float) -> float:
        """The keyframe before `target` when it is at most `snap` seconds earlier (a frame decoded alone)."""
        before = [key for key in self.keys if key <= target + _EPSILON]
        return before[-1] if snap and before and target - before[-1] <= snap else target

    def frame_at(self, target: float) -> av.VideoFrame | None:
        """The first frame at or after `target` seconds (the last one if the stream ends first)."""
        if self._should_seek(target):
            self._seek(target)
        if self.last is not None and self.seconds(self.last) >= target - _EPSILON:
            return self.last
        for frame in self._decoded():
            if self.seconds(frame) >= target - _EPSILON:
                return frame
        return None

    def _should_seek(self, target: float) -> bool:
        if self._frames is None:
            return True
        here = self.seconds(self.last) if self.last is not None else 0.0
        if target < here - _EPSILON:
            return True
        if self.keys:  # seek only when a keyframe lies between: otherwise the seek lands behind us
            return any(here + _EPSILON < key <= target + _EPSILON for key in self.keys)
        return target - here > max(self.gop, 1.0)

    def _seek(self, target: float) -> None:
        offset = int((self.start + max(0.0, target)) / self.base)
        for where in (offset, 0):
            try:
                self.container.seek(where, backward=True, any_frame=False, stream=self.stream)
            except av.FFmpegError as exc:
                log.debug("seek to %d failed (%s)", where, exc)
                continue
            self.report.seeks += 1
            self.last, self._key_at, self._frames = None, None, self._decode_packets()
            return
        if self._frames is None:  # a stream that cannot seek at all: decode on from where it is
            self._frames = self._decode_packets()

    def _decoded(self) -> Iterator[av.VideoFrame]:
        if self._frames is None:
            self._frames = self._decode_packets()
        for frame in self._frames:
            self.last = frame
            self._track_gop(frame)
            yield frame

    def _decode_packets(self) -> Iterator[av.VideoFrame]:
        """Every frame from the current position; damaged packets are counted and skipped."""
        for packet in _packets(self.container, self.stream, self.report):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                self.report.decode_errors += 1
                continue
            for frame in frames:
                self.report.decoded += 1
                yield frame

    def _track_gop(self, frame: av.VideoFrame) -> None:
        if not frame.key_frame:
            return
        here = self.seconds(frame)
        if self._key_at is not None and here > self._key_at:
            self.gop = max(self.gop, here - self._key_at)
        self._key_at = here

    # whole-stream passes ------------------------------------------------------------------------

    def keyframe_times(self) -> list[float]:
        """Times of the I-frames, from packet flags alone (demuxed, not decoded)."""
        times = [float(packet.pts * packet.time_base) - self.start
                 for packet in _packets(self.container, self.stream, self.report)
                 if packet.is_keyframe and packet.pts is not None]
        self._frames = None  # the next frame_at seeks
        self.keys = sorted(times)
        return self.keys

    def measured_duration(self) -> float:
        """The last packet's time, for containers that state no duration."""
        last = 0.0
        for packet in _packets(self.container, self.stream, self.report):
            if packet.pts is not None:
                last = max(last, float(packet.pts * packet.time_base) - self.start)
        self._frames = None
        return last

    def scene_cuts(self, sampling: Sampling) -> list[dict[str, float]]:
        """The first frame and each cut ({t, score}), from thumbnails of reference frames only."""
        codec = self.stream.codec_context
        try:
            if sampling.scene_scan == "keyframes":
                return self._guided_cuts(sampling)
            codec.skip_frame = "NONREF"  # B-frames nothing refers to are not decoded: the reduced rate
            return self._scan_cuts(self._decode_packets(), sampling)
        finally:
            codec.skip_frame = "DEFAULT"
            self._frames = None

    def _scan_cuts(self, frames: Iterator[av.VideoFrame], sampling: Sampling, previous: np.ndarray | None = None,
                   until: float = float("inf")) -> list[dict[str, float]]:
        """Cuts among `frames` (up to `until` s), one thumbnail per 1/scene_rate s."""
        cuts: list[dict[str, float]] = []
        next_check = 0.0
        for frame in frames:
            t = self.seconds(frame)
            last = t >= until - _EPSILON  # the frame that ends the span is always looked at
            if t < next_check - _EPSILON and not last:
                continue
            next_check = t + 1.0 / sampling.scene_rate
            histogram = thumbnail_histogram(frame)
            score = 1.0 if previous is None else histogram_distance(previous, histogram)
            if previous is None or score >= sampling.scene_threshold:
                cuts.append({"t": round(t, 6), "score": round(score, 4)})
            previous = histogram
            if last:
                break
        return cuts

    def _guided_cuts(self, sampling: Sampling) -> list[dict[str, float]]:
        """Keyframes only, then a full look only inside the GOPs whose two ends differ.

        Far cheaper, and exact where the encoder put an I-frame at each cut (x264's scenecut);
        a cut and a cut back inside one GOP go unseen."""
        self.stream.codec_context.skip_frame = "NONKEY"
        keys = [(self.seconds(frame), thumbnail_histogram(frame)) for frame in self._decode_packets()]
        self.stream.codec_context.skip_frame = "DEFAULT"
        if not keys:
            return []
        cuts = [{"t": round(keys[0][0], 6), "score": 1.0}]
        for (start, before), (end, after) in itertools.pairwise(keys):
            if histogram_distance(before, after) >= sampling.scene_threshold:
                self._seek(start)
                cuts += self._scan_cuts(self._decoded(), sampling, previous=before, until=end)
        self._seek(keys[-1][0])  # the last GOP has no keyframe after it to compare with: look at all of it
        return cuts + self._scan_cuts(self._decoded(), sampling, previous=keys[-1][1])


def _indexed_keys(stream: av.video.stream.VideoStream, start: float) -> list[float]:
    """Keyframe times from the container's index (mp4 stss, mkv cues once read); [] when it has none."""
    try:
        entries = stream.index_entries
    except AttributeError:  # PyAV before 15
        return []
    base = float(stream.time_base or Fraction(1, AV_TIME_BASE))
    return [entry.timestamp * base - start for entry in entries if entry.is_keyframe]


def _packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             report: Report) -> Iterator[av.Packet]:
    """Demuxed packets of one stream, ending (with the decoder's flush packet) at EOF or damage."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            report.decode_errors += 1
            log.debug("demuxing stopped: %s", exc)
            return
        yield packet


def thumbnail_histogram(frame: av.VideoFrame) -> np.ndarray:
    """A normalised grey-level histogram of a small thumbnail (swscale does the shrinking)."""
    grey = frame.reformat(width=THUMB[0], height=THUMB[1], format="gray").to_ndarray()
    counts, _ = np.histogram(grey, bins=HIST_BINS, range=(0, 256))
    return counts / max(1, counts.sum())


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance: 0 for the same picture statistics, 1 for disjoint ones."""
    return float(np.abs(a - b).sum() / 2)

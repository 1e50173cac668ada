"""Videos made by code with PyAV: shots with hard cuts, drawn text, speech, rotation, VFR.

Nothing here is committed as a binary. Every picture is a function of its
time, so each test knows exactly what a frame at time t shows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from tests.helpers import audio as ah
from tests.helpers.documents import font

# Shot backgrounds far apart in grey level, so a cut is a cut.
SHOT_COLOURS = [(20, 20, 20), (230, 230, 230), (40, 90, 200), (200, 60, 40), (60, 180, 60), (240, 200, 40),
                (120, 30, 150)]


@dataclass
class Clip:
    seconds: float
    fps: int = 10
    size: tuple[int, int] = (160, 90)
    cuts: list[float] = field(default_factory=list)  # times of hard cuts
    texts: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, text drawn)
    gop: int | None = None  # keyframe interval in frames (None: x264's default)
    rotation: int | None = None  # display matrix, counter-clockwise degrees
    speech: np.ndarray | None = None  # int16 at ah.RATE
    times: list[float] | None = None  # explicit frame times: variable frame rate (mkv)
    motion: bool = True
    texture: bool = False  # a smooth random texture that scrolls: real motion for the decoder (bench)

    def shot(self, t: float) -> int:
        return sum(1 for cut in self.cuts if t >= cut)

    def text_at(self, t: float) -> str | None:
        return next((text for start, end, text in self.texts if start <= t < end), None)

    def frame_times(self) -> list[float]:
        return self.times if self.times is not None else [i / self.fps for i in range(int(self.seconds * self.fps))]


_cache: dict[tuple, np.ndarray] = {}


def picture(clip: Clip, t: float, index: int) -> np.ndarray:
    """What the clip shows at time t: the shot's colour, a moving square, any drawn text."""
    width, height = clip.size
    key = (clip.shot(t), clip.text_at(t), clip.size)
    if key not in _cache:
        image = Image.new("RGB", clip.size, SHOT_COLOURS[key[0] % len(SHOT_COLOURS)])
        if clip.texture:
            image = _textured(clip.size, key[0])
        if key[1]:
            draw = ImageDraw.Draw(image)
            draw.rectangle((0, height // 3, width, 2 * height // 3), fill="white")
            draw.text((width // 10, height // 3 + height // 12), key[1], fill="black", font=font(height // 8))
        _cache[key] = np.asarray(image)
    array = _cache[key]
    if clip.texture:
        return np.roll(array, index * 4, axis=1)
    if clip.motion and not key[1]:
        array = array.copy()
        x = (index * 2) % max(1, width - 8)
        array[4:12, x:x + 8] = 255 - array[0, 0]
    return array


def _textured(size: tuple[int, int], shot: int) -> Image.Image:
    """Low-frequency noise in the shot's colour: compressible, but every block moves."""
    rng = np.random.default_rng(shot)
    coarse = rng.integers(0, 256, (size[1] // 24 + 1, size[0] // 24 + 1, 3), dtype=np.uint8)
    tint = np.array(SHOT_COLOURS[shot % len(SHOT_COLOURS)], dtype=np.uint16)
    blended = ((coarse.astype(np.uint16) + tint * 3) // 4).astype(np.uint8)
    return Image.fromarray(blended).resize(size, Image.Resampling.BILINEAR)


def write(path: Path, clip: Clip) -> Path:
    """Encode the clip (H.264; mp4 or mkv by suffix) with its speech track, if any."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=clip.fps)
        stream.width, stream.height, stream.pix_fmt = *clip.size, "yuv420p"
        stream.codec_context.options = _x264(clip)
        if clip.times is not None:
            stream.time_base = Fraction(1, 1000)
            stream.codec_context.time_base = Fraction(1, 1000)
        if clip.rotation is not None:
            stream.set_display_rotation(clip.rotation)
        audio = container.add_stream("aac", rate=ah.RATE, layout="mono") if clip.speech is not None else None
        _encode_video(container, stream, clip)
        if audio is not None:
            ah._encode_audio(container, audio, clip.speech, ah.RATE)
    return path


def _x264(clip: Clip) -> dict[str, str]:
    options = {"preset": "ultrafast", "tune": "zerolatency"}
    if clip.gop:
        options.update({"keyint": str(clip.gop), "min-keyint": str(clip.gop), "sc_threshold": "0"})
        options["x264-params"] = f"keyint={clip.gop}:min-keyint={clip.gop}:scenecut=0"
    return options


def _encode_video(container: av.container.OutputContainer, stream: av.video.stream.VideoStream, clip: Clip) -> None:
    for index, t in enumerate(clip.frame_times()):
        frame = av.VideoFrame.from_ndarray(picture(clip, t, index), format="rgb24")
        if clip.times is not None:
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
        else:
            frame.pts = index
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_audio_only_mp4(path: Path, speech: np.ndarray) -> Path:
    """An mp4 (not m4a) container with a soundtrack and no picture."""
    with av.open(str(path), "w", format="mp4") as container:
        audio = container.add_stream("aac", rate=ah.RATE, layout="mono")
        ah._encode_audio(container, audio, speech, ah.RATE)
    return path


def write_empty_video(path: Path, seconds: float = 1.0) -> Path:
    """An mp4 whose video stream holds no frame at all (its soundtrack: silence)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=ah.RATE, layout="mono")
        ah._encode_audio(container, audio, ah.silence(seconds), ah.RATE)
        container.mux(stream.encode(None))
    return path


def write_huge_avi(path: Path, width: int, height: int) -> Path:
    """An avi whose headers claim width x height (raw frames), without that many bytes in it."""
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("rawvideo", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "gray"
        for index in range(2):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64), np.uint8), format="gray")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    main = data.find(b"avih") + 8  # AVIMAINHEADER: dwWidth, dwHeight at +32
    data[main + 32:main + 40] = struct.pack("<II", width, height)
    info = data.find(b"strf") + 8  # BITMAPINFOHEADER: biWidth, biHeight at +4
    data[info + 4:info + 12] = struct.pack("<ii", width, height)
    path.write_bytes(bytes(data))
    return path

"""Pictures -> what a vision model sees: upright RGB JPEG within its canvas.

A vision model only sees so many pixels (LLaMA 3.2 Vision: 560 px tiles, at
most 4, so 1120 px on the long side). Anything bigger costs decode time and
bytes on the wire for nothing, so images are decoded with JPEG draft mode
(DCT scaling) straight to about the canvas size, then resized and encoded.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import InputError

DEFAULT_CANVAS = 1120  # mllama: 2 x 2 tiles of 560 px
JPEG_QUALITY = 90
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


@dataclass
class PreparedPage:
    """One page (or the one picture) ready for a model."""

    index: int  # 0-based
    jpeg: bytes
    width: int
    height: int
    source_width: int
    source_height: int


def fit(width: int, height: int, canvas: int) -> tuple[int, int]:
    """The size within a canvas x canvas box, never upscaled."""
    scale = min(1.0, canvas / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency flattened on white (not black)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB") if image.mode != "RGB" else image


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def prepare_frame(image: Image.Image, canvas: int, quality: int = JPEG_QUALITY, index: int = 0) -> PreparedPage:
    """Upright, RGB, within the canvas, as JPEG. `image` is an open frame."""
    source_size = image.size
    orientation = image.getexif().get(0x0112, 1)
    target = fit(*source_size, canvas)
    if image.format == "JPEG":
        image.draft("RGB", target)  # DCT scaling: decodes at 1/2, 1/4 or 1/8 size directly
    image.load()
    frame = to_rgb(image)
    if frame.size != target:
        # After DCT scaling at most a 2x reduction is left; Pillow's bilinear filter
        # is antialiased when shrinking and the cheapest good one. reducing_gap
        # (a fast box reduce first) covers big non-JPEG inputs.
        frame = frame.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    transpose = _TRANSPOSE.get(orientation)
    if transpose is not None:
        frame = frame.transpose(transpose)
    source_w, source_h = (source_size[1], source_size[0]) if orientation in (5, 6, 7, 8) else source_size
    return PreparedPage(index, encode_jpeg(frame, quality), frame.width, frame.height, source_w, source_h)


# EXIF orientation -> the transpose that makes the picture upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def open_image(path: Path) -> Image.Image:
    """Open by content (Pillow sniffs), refusing decompression bombs and junk."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            _bomb_guard(image)
            return image
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"image too large to decode safely, refusing a possible decompression bomb: {exc}",
                         code="too_large") from None
    except Exception as exc:  # Pillow raises many kinds for unreadable files
        raise InputError(f"corrupt or unsupported image: {exc}", code="corrupt") from None


def _bomb_guard(image: Image.Image) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    pixels = image.width * image.height
    if limit and pixels > limit:
        image.close()
        raise InputError(
            f"image is {image.width}x{image.height} ({pixels / 1e6:.0f} megapixels), over the "
            f"{limit / 1e6:.0f} megapixel limit: refusing a possible decompression bomb",
            code="too_large",
        )


def frame_count(image: Image.Image) -> int:
    """Pages of a multi-page TIFF; every other format counts as one picture."""
    return getattr(image, "n_frames", 1) if image.format == "TIFF" else 1


def pages(path: Path, canvas: int = DEFAULT_CANVAS, max_pages: int = 20,
          quality: int = JPEG_QUALITY) -> Iterator[PreparedPage]:
    """Prepared pages of an image file, one frame decoded at a time."""
    image = open_image(path)
    with image:
        for index in range(min(frame_count(image), max_pages)):
            try:
                image.seek(index)
                yield prepare_frame(image, canvas, quality, index)
            except InputError:
                raise
            except Exception as exc:
                raise InputError(f"corrupt or unsupported image (page {index + 1}): {exc}", code="corrupt") from None


def page_count(path: Path) -> int:
    with open_image(path) as image:
        return frame_count(image)

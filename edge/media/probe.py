"""Cheap facts about a media file, read without decoding its content."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import InputError

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_TAGS = {"make": 271, "model": 272, "orientation": 274, "software": 305}
_DATETIME_ORIGINAL = 36867


def image_facts(path: Path) -> dict[str, Any]:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.verify()  # must come straight after open; the image is unusable after it
            with Image.open(path) as image:
                facts = {
                    "format": image.format,
                    "width": image.width,
                    "height": image.height,
                    "mode": image.mode,
                    "frames": getattr(image, "n_frames", 1),
                }
                facts["exif"] = _exif(image.getexif())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"image too large to decode safely: {exc}", code="too_large") from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise InputError(f"corrupt or unsupported image: {exc}", code="corrupt") from None
    return facts


def _exif(exif: Any) -> dict[str, Any]:
    found: dict[str, Any] = {key: _plain(exif.get(tag)) for key, tag in _TAGS.items() if exif.get(tag) is not None}
    captured = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
    if captured:
        found["captured_at"] = _plain(captured)
    gps = _gps(exif.get_ifd(_GPS_IFD))
    if gps:
        found["gps"] = gps
    return found


def _gps(gps: dict[int, Any]) -> dict[str, float] | None:
    try:
        lat = _degrees(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = _degrees(gps[4]) * (-1 if gps.get(3) == "W" else 1)
    except (KeyError, TypeError, ZeroDivisionError, ValueError):
        return None
    return {"latitude": round(lat, 7), "longitude": round(lon, 7)}


def _degrees(dms: Any) -> float:
    d, m, s = (float(Fraction(str(part))) if not isinstance(part, (int, float)) else float(part) for part in dms)
    return d + m / 60 + s / 3600


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\x00")
    if isinstance(value, (int, float, str)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def av_facts(path: Path) -> dict[str, Any]:
    import av

    try:
        with av.open(str(path)) as container:
            streams = [_stream(stream) for stream in container.streams]
            duration = container.duration / 1e6 if container.duration else None
            return {"container": container.format.name, "duration_s": duration, "streams": streams}
    except av.FFmpegError as exc:
        raise InputError(f"corrupt or unsupported media: {exc}", code="corrupt") from None


def has_picture_stream(path: Path) -> bool | None:
    """Whether a container holds a video stream that is not just cover art; None when unreadable."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return any(not _is_cover_art(stream) for stream in container.streams.video)
    except (av.FFmpegError, OSError):
        return None


def _is_cover_art(stream: Any) -> bool:
    return bool(stream.disposition & stream.disposition.attached_pic)


def _stream(stream: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"type": stream.type, "codec": stream.codec_context.name if stream.codec_context else None}
    if stream.duration and stream.time_base:
        facts["duration_s"] = float(stream.duration * stream.time_base)
    if stream.type == "audio":
        facts.update(sample_rate=stream.codec_context.sample_rate, channels=stream.codec_context.channels)
    elif stream.type == "video":
        facts.update(width=stream.codec_context.width, height=stream.codec_context.height)
        if stream.average_rate:
            facts["fps"] = float(stream.average_rate)
    return facts


def pdf_facts(path: Path) -> dict[str, Any]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(f"corrupt or encrypted PDF: {exc}", code="corrupt") from None
    try:
        info = {key: value for key, value in document.get_metadata_dict(skip_empty=True).items()}
        return {"pages": len(document), "info": info}
    finally:
        document.close()

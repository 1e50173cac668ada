"""Media type from content (magic bytes), and a check against the name.

A file whose name promises one kind of media and whose bytes are another
(a text file called `.wav`) is mislabelled: that is a permanent error with a
clear message, not a silent fallback. A container that may hold either (MP4,
QuickTime, Matroska, WebM, Ogg) is video only when it has a picture stream:
an .m4a or .mp4 of sound alone (cover art aside) is audio.
"""

from __future__ import annotations

from pathlib import Path

import filetype

from ..errors import InputError
from ..job import MediaInfo
from .probe import has_picture_stream

HEADER_BYTES = 8192

_KIND_BY_MIME_PREFIX = {"image/": "image", "audio/": "audio", "video/": "video"}
_AUDIO_CONTAINERS = {"video/webm", "video/x-matroska", "video/mp4", "video/quicktime"}

EXTENSION_KINDS = {
    **dict.fromkeys(["jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "bmp", "heic"], "image"),
    "pdf": "pdf",
    **dict.fromkeys(["wav", "mp3", "flac", "ogg", "oga", "opus", "m4a", "aac", "wma", "amr"], "audio"),
    **dict.fromkeys(["mp4", "mkv", "mov", "avi", "m4v"], "video"),
}


def sniff(header: bytes) -> MediaInfo:
    """Classify by magic bytes alone."""
    if not header:
        return MediaInfo("other", "application/x-empty")
    guess = filetype.guess(header)
    if guess is None:
        return MediaInfo("other", "text/plain" if _looks_like_text(header) else "application/octet-stream")
    mime = guess.mime
    if mime == "application/pdf":
        return MediaInfo("pdf", mime)
    for prefix, kind in _KIND_BY_MIME_PREFIX.items():
        if mime.startswith(prefix):
            return MediaInfo(kind, mime)
    return MediaInfo("other", mime)


def detect(path: Path) -> MediaInfo:
    """Sniff a file and refuse it when its name claims another media kind."""
    with open(path, "rb") as handle:
        media = sniff(handle.read(HEADER_BYTES))
    claimed = EXTENSION_KINDS.get(path.suffix.lower().lstrip("."))
    if claimed and not _compatible(claimed, media):
        raise InputError(
            f"mislabelled file: the name says {claimed} (.{path.suffix.lstrip('.')}) "
            f"but the content is {media.mime}",
            code="mislabelled" if media.kind != "other" or media.mime != "application/x-empty" else "empty",
        )
    return _by_streams(path, media)


def _by_streams(path: Path, media: MediaInfo) -> MediaInfo:
    """A video container without a picture stream holds sound alone: audio."""
    if media.kind != "video" or not (media.mime in _AUDIO_CONTAINERS or media.mime.endswith("ogg")):
        return media
    if has_picture_stream(path) is not False:
        return media  # pictures, or unreadable: the video route (or its error sidecar) says which
    return MediaInfo("audio", "audio/" + media.mime.split("/", 1)[1])


def _compatible(claimed: str, media: MediaInfo) -> bool:
    if claimed == media.kind:
        return True
    # .webm/.mkv/.mp4 may hold audio only; .ogg may be sniffed as video/ogg.
    audio_video = {claimed, media.kind} == {"audio", "video"}
    return audio_video and (media.mime in _AUDIO_CONTAINERS or media.mime.endswith("ogg") or claimed == "audio")


def _looks_like_text(header: bytes) -> bool:
    try:
        header.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in header

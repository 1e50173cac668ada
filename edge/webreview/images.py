"""The page images a reviewer looks at: rendered as the models saw them (upright, prepared)."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

from ..errors import InputError
from ..media import image as images
from ..media import pdf

CANVAS = 1600  # long side of a rendered page, px
VIDEO_FRAMES = 6  # keyframes shown for a video


def kind(media_type: str | None) -> str | None:
    """pdf, image or video; None for what has no picture."""
    media_type = media_type or ""
    if media_type == "application/pdf":
        return "pdf"
    if media_type.startswith(("image/", "video/")):
        return media_type.split("/", 1)[0]
    return None


def page_count(path: Path, media_type: str | None) -> int:
    """Pages (PDF), frames (TIFF), keyframes (video); 0 when the file cannot be shown."""
    try:
        match kind(media_type):
            case "pdf":
                return pdf.page_count(path)
            case "image":
                return images.page_count(path)
            case "video":
                return len(_video_frames(path))
    except (InputError, OSError, ValueError):
        return 0
    return 0


def render(path: Path, media_type: str | None, index: int) -> bytes | None:
    """One page as JPEG (0-based index); None when there is no such page."""
    try:
        match kind(media_type):
            case "pdf":
                return pdf.render_page(path, index, canvas=CANVAS).jpeg if 0 <= index < pdf.page_count(path) else None
            case "image":
                page = next(itertools.islice(images.pages(path, canvas=CANVAS), index, None), None)
                return page.jpeg if page is not None else None
            case "video":
                frames = _video_frames(path)
                return frames[index] if 0 <= index < len(frames) else None
    except (InputError, OSError, ValueError):
        return None
    return None


def _video_frames(path: Path) -> list[bytes]:
    stat = path.stat()
    return _sampled(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _sampled(path: str, size: int, mtime_ns: int) -> list[bytes]:
    """Keyframes of one version of a video (size and mtime in the key), decoded once."""
    from ..media import video

    sampled = video.sample(Path(path), video.Sampling(mode="uniform", max=VIDEO_FRAMES), max_side=CANVAS)
    return [images.encode_jpeg(frame.image) for frame in sampled]

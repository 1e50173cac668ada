"""Media kind from content, checked against the name (edge/media/detect.py)."""

from __future__ import annotations

import pytest

from edge.errors import InputError
from edge.media.detect import detect


def test_detect_by_content_not_name(tmp_path):
    from PIL import Image

    disguised = tmp_path / "photo.dat"
    Image.new("RGB", (4, 4)).save(disguised, format="PNG")
    assert detect(disguised).kind == "image"
    liar = tmp_path / "song.mp3"
    liar.write_text("just text")
    with pytest.raises(InputError, match="mislabelled"):
        detect(liar)

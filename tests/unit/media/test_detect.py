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


@pytest.mark.parametrize("name", ["interview.m4a", "interview.mp4"])
def test_an_mp4_of_sound_alone_is_audio_and_takes_the_audio_route(tmp_path, name):
    from edge.configure import load_config
    from edge.routing import choose
    from tests.helpers import ROOT
    from tests.helpers import audio as h

    path = h.write_audio(tmp_path / name, h.noise(1.0), container_format="mp4")  # ftyp isom: sniffed as video/mp4
    media = detect(path)
    assert (media.kind, media.mime) == ("audio", "audio/mp4")
    assert choose(load_config(ROOT / "models.toml"), name, media.kind).name == "audio"


def test_an_mp4_with_pictures_stays_video(tmp_path):
    from tests.helpers import audio as h

    path = h.write_video(tmp_path / "clip.m4a", h.noise(1.0))
    assert detect(path).kind == "video"

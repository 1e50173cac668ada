"""The `metadata` engine through `edge process`, on generated media."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.helpers import run_edge, validate_sidecar


def exif_photo(path: Path) -> None:
    image = Image.new("RGB", (120, 80), "green")
    exif = Image.Exif()
    exif[271], exif[272], exif[274] = "EdgeCam", "Model 7", 6
    exif.get_ifd(0x8769)[36867] = "2024:03:03 10:20:30"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (Fraction(48), Fraction(51), Fraction(2964, 100))
    gps[3], gps[4] = "E", (Fraction(2), Fraction(21), Fraction(756, 100))
    image.save(path, exif=exif)


def tone_wav(path: Path, seconds: float = 1.5, rate: int = 16000) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        samples = (np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def one_page_pdf(path: Path) -> None:
    Image.new("RGB", (200, 280), "white").save(path, format="PDF", title="Edge test")


def test_metadata_of_image_audio_pdf_and_text(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    exif_photo(inbox / "photo.jpg")
    tone_wav(inbox / "tone.wav")
    one_page_pdf(inbox / "doc.pdf")
    (inbox / "notes.txt").write_text("plain text")
    Image.new("RGBA", (10, 6), (0, 0, 0, 0)).save(inbox / "alpha.png")
    config = tmp_path / "models.toml"
    config.write_text("[edge]\nworkers = 2\n")
    result = run_edge("process", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr

    photo = validate_sidecar(inbox / "photo.jpg.json")
    exif = photo["result"]["exif"]
    assert (photo["result"]["width"], photo["result"]["height"]) == (120, 80)
    assert exif["make"] == "EdgeCam" and exif["orientation"] == 6 and exif["captured_at"] == "2024:03:03 10:20:30"
    assert abs(exif["gps"]["latitude"] - 48.8582333) < 1e-5 and abs(exif["gps"]["longitude"] - 2.3521) < 1e-4

    tone = validate_sidecar(inbox / "tone.wav.json")["result"]
    assert tone["media"] == "audio" and abs(tone["duration_s"] - 1.5) < 0.05
    assert tone["streams"][0]["sample_rate"] == 16000 and tone["streams"][0]["codec"] == "pcm_s16le"

    pdf = validate_sidecar(inbox / "doc.pdf.json")["result"]
    assert pdf["pages"] == 1 and pdf["info"].get("Title") == "Edge test"
    assert validate_sidecar(inbox / "notes.txt.json")["result"]["mime"] == "text/plain"
    png = validate_sidecar(inbox / "alpha.png.json")["result"]
    assert (png["format"], png["width"], png["height"], png["mode"]) == ("PNG", 10, 6, "RGBA")


def test_process_stdout_writes_nothing_and_exit_codes(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("fine")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)  # a JPEG header and nothing after
    config = tmp_path / "models.toml"
    config.write_text("")
    result = run_edge("process", str(good), str(broken), "--stdout", "--config", str(config))
    assert result.returncode == 1
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {doc["source"]["name"]: doc for doc in docs}
    assert by_name["good.txt"]["status"] == "ok"
    assert by_name["broken.jpg"]["status"] == "failed" and by_name["broken.jpg"]["error"]["code"] == "corrupt"
    for doc in docs:
        validate_sidecar(doc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jpg", "good.txt", "models.toml"]

    again = run_edge("process", str(good), "--config", str(config), "--state-dir", str(tmp_path / "s"))
    assert again.returncode == 0 and (tmp_path / "good.txt.json").exists()
    first = (tmp_path / "good.txt.json").stat().st_mtime_ns
    third = run_edge("process", str(good), "--config", str(config), "--state-dir", str(tmp_path / "s"))
    assert third.returncode == 0 and "already up to date" in third.stderr
    assert (tmp_path / "good.txt.json").stat().st_mtime_ns == first

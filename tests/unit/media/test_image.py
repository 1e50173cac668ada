"""Preparing pictures and PDF pages for a vision model (edge/media/image.py, pdf.py)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from edge.errors import InputError
from edge.media import image as image_media
from edge.media import pdf as pdf_media
from tests.helpers import documents as docs


def decode(jpeg: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(jpeg))
    assert picture.format == "JPEG"
    picture.load()
    return picture


def test_fit_keeps_aspect_and_never_upscales():
    assert image_media.fit(6000, 4000, 1120) == (1120, 747)
    assert image_media.fit(1754, 1240, 1120) == (1120, 792)
    assert image_media.fit(800, 600, 1120) == (800, 600)


def test_large_photo_is_drafted_down_to_the_canvas(tmp_path):
    path = tmp_path / "big.jpg"
    docs.photo(4000, 3000).save(path, quality=90)
    [page] = list(image_media.pages(path, canvas=1120))
    picture = decode(page.jpeg)
    assert picture.size == (1120, 840) == (page.width, page.height)
    assert (page.source_width, page.source_height) == (4000, 3000)
    assert len(page.jpeg) * 5 < path.stat().st_size


def test_canvas_is_configurable(tmp_path):
    path = tmp_path / "invoice.png"
    docs.draw_invoice().save(path)
    [page] = list(image_media.pages(path, canvas=560))
    assert max(decode(page.jpeg).size) == 560


def test_exif_rotated_photo_arrives_upright(tmp_path):
    path = docs.save_exif_rotated(docs.draw_invoice(), tmp_path / "phone.jpg", orientation=6)
    with Image.open(path) as stored:
        assert stored.width > stored.height  # stored sideways
        assert not docs.top_is_dark(stored)
    [page] = list(image_media.pages(path))
    picture = decode(page.jpeg)
    assert picture.height > picture.width
    assert docs.top_is_dark(picture)
    assert (page.source_width, page.source_height) == docs.A4


def test_alpha_is_flattened_on_white(tmp_path):
    path = tmp_path / "logo.png"
    transparent = Image.new("RGBA", (200, 100), (255, 0, 0, 0))
    transparent.paste((0, 0, 255, 255), (0, 0, 100, 100))
    transparent.save(path)
    [page] = list(image_media.pages(path))
    picture = decode(page.jpeg).convert("RGB")
    assert picture.mode == "RGB"
    right = picture.getpixel((150, 50))
    left = picture.getpixel((50, 50))
    assert min(right) > 240, right  # transparent -> white, not black or red
    assert left[2] > 200 and left[0] < 60, left


def test_palette_and_grey_images_become_rgb(tmp_path):
    for mode in ("P", "L", "CMYK"):
        path = tmp_path / f"img_{mode}.tiff"
        docs.draw_claim_form().convert(mode).save(path)
        [page] = list(image_media.pages(path))
        assert decode(page.jpeg).mode == "RGB"


def test_multipage_tiff_gives_pages(tmp_path):
    path = docs.save_tiff([docs.draw_invoice(), docs.draw_claim_form(), docs.draw_text_page(["x"])],
                          tmp_path / "scan.tiff")
    pages = list(image_media.pages(path, canvas=800))
    assert [p.index for p in pages] == [0, 1, 2]
    assert all(max(decode(p.jpeg).size) == 800 for p in pages)
    assert image_media.page_count(path) == 3
    assert len(list(image_media.pages(path, max_pages=2))) == 2


def test_decompression_bomb_is_a_permanent_input_error(tmp_path):
    path = docs.write_bomb(tmp_path / "bomb.png", megapixels=200)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(InputError) as caught:
        list(image_media.pages(path))
    assert caught.value.code == "too_large"
    assert "megapixel" in caught.value.message or "decompression" in caught.value.message


def test_truncated_jpeg_is_a_permanent_input_error(tmp_path):
    path = docs.write_truncated_jpeg(tmp_path / "cut.jpg")
    with pytest.raises(InputError) as caught:
        list(image_media.pages(path))
    assert caught.value.code == "corrupt"
    assert "truncated" in caught.value.message


def test_text_is_not_an_image(tmp_path):
    path = docs.write_text_as_jpg(tmp_path / "note.jpg")
    with pytest.raises(InputError) as caught:
        list(image_media.pages(path))
    assert caught.value.code == "corrupt"


def test_pdf_pages_render_one_at_a_time_to_the_canvas(tmp_path):
    path = docs.save_pdf(docs.invoice_pdf_pages(), tmp_path / "three.pdf")
    assert pdf_media.page_count(path) == 3
    pages = pdf_media.pages(path, canvas=1120)
    first = next(pages)  # a generator: later pages are not rendered yet
    picture = decode(first.jpeg)
    assert picture.height == 1120 and picture.width < picture.height
    assert docs.top_is_dark(picture)
    rest = list(pages)
    assert [p.index for p in rest] == [1, 2]
    assert len(list(pdf_media.pages(path, max_pages=1))) == 1


def test_pdf_render_scale_matches_the_canvas():
    # A4 portrait is 595 x 842 pt: 1120 px on the long side is about 95.8 dpi.
    scale = pdf_media.render_scale(595, 842, 1120)
    assert round(842 * scale) == 1120
    assert 95 < scale * pdf_media.POINTS_PER_INCH < 97


def test_broken_pdf_is_a_permanent_input_error(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"garbage" * 100)
    with pytest.raises(InputError):
        list(pdf_media.pages(path))

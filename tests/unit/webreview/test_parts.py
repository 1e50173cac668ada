"""The review page's parts on their own: the form read back into corrections, the page images of PDFs and
TIFFs, the loopback rule of `edge review serve`, and `edge doctor`'s line about the queue."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from edge.cli import doctor, main
from edge.configure import parse_config
from edge.webreview import app, images, pages
from tests.helpers import documents


def test_only_changed_fields_are_corrections_and_they_come_back_typed():
    result = {"total_amount": 37.73, "quantity": 2, "vendor_name": "Acme", "date": None,
              "line_items": [{"total": 1.0}], "note": "x"}
    form = {"field:total_amount": "481213.0", "field:quantity": "3", "field:vendor_name": "Acme",
            "field:date": "2024-03-15", "field:line_items": '[\r\n {\r\n  "total": 1.0\r\n }\r\n]', "field:note": ""}
    assert pages.corrections(result, form) == {"total_amount": 481213.0, "quantity": 3, "date": "2024-03-15",
                                               "note": None}
    assert pages.corrections(result, {}) == {}  # nothing sent, nothing changed


@pytest.mark.parametrize(("text", "original", "value"), [
    ("12.5", 1.0, 12.5), ("12", 1, 12), ("12.5", 1, 12.5), ("twelve", 1.0, "twelve"),
    ('["a"]', None, ["a"]), ("[broken", [], "[broken"), ("", "x", None), ("true", "x", "true"),
])
def test_a_typed_value_is_read_by_the_field_it_replaces(text, original, value):
    assert pages.parse(text, original) == value


def test_pdf_pages_and_tiff_frames_are_rendered(tmp_path):
    def drawn():
        return [documents.draw_invoice(), documents.draw_text_page(["page two"])]

    pdf = documents.save_pdf(drawn(), tmp_path / "two.pdf")
    tiff = documents.save_tiff(drawn(), tmp_path / "two.tiff")
    for path, media_type in ((pdf, "application/pdf"), (tiff, "image/tiff")):
        assert images.page_count(path, media_type) == 2
        first, second = images.render(path, media_type, 0), images.render(path, media_type, 1)
        assert first and second and first[:2] == b"\xff\xd8" and first != second
        assert images.render(path, media_type, 2) is None
    assert images.page_count(tmp_path / "two.pdf", "text/plain") == 0


def test_a_video_shows_its_keyframes(tmp_path):
    from tests.helpers import video

    clip = video.write(tmp_path / "clip.mp4", video.Clip(seconds=3.0, cuts=[1.0, 2.0]))
    assert images.page_count(clip, "video/mp4") == images.VIDEO_FRAMES
    frames = [images.render(clip, "video/mp4", index) for index in range(images.VIDEO_FRAMES)]
    assert all(frame and frame[:2] == b"\xff\xd8" for frame in frames) and len(set(frames)) > 1
    assert images.render(clip, "video/mp4", images.VIDEO_FRAMES) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts(host):
    assert app.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_a_non_loopback_host_is_refused_without_allow_remote(tmp_path, host):
    config = tmp_path / "models.toml"
    config.write_text(f'[edge]\nreview_dir = "{tmp_path / "review"}"\n')
    out = CliRunner().invoke(main, ["review", "serve", "--host", host, "--port", "0", "--config", str(config)])
    assert out.exit_code == 2
    assert f"refusing to listen on {host}: not a loopback address" in out.output and "--allow-remote" in out.output


def test_serve_without_a_review_folder_says_how_to_set_one(tmp_path):
    config = tmp_path / "models.toml"
    config.write_text("[edge]\n")
    out = CliRunner().invoke(main, ["review", "serve", "--port", "0", "--config", str(config)])
    assert out.exit_code == 2 and "review_dir" in out.output


def test_doctor_names_the_review_page_when_files_wait(queue, tmp_path):
    [check] = doctor.check_review(queue.config)
    assert check.level == "warn" and "3 file(s) wait for review" in check.message
    assert "edge review serve" in check.fix
    [empty] = doctor.check_review(parse_config({"edge": {"review_dir": str(tmp_path / "empty")}}))
    assert empty.level == "ok" and "nothing waits" in empty.message
    assert doctor.check_review(parse_config({})) == []

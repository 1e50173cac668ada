"""`edge review serve`'s app in-process (Starlette's TestClient): the token, path traversal, the queue, one
file's boxes and candidates, and saving = `edge review accept`. Through uvicorn and headless Chromium on
really processed documents: tests/e2e/review/test_serve.py."""

from __future__ import annotations

import html
import json
import os
import re

import pytest
from click.testing import CliRunner

from edge import review
from edge.cli import main
from edge.webreview import images
from tests.helpers import sidecar_of, validate_sidecar

from .conftest import TOKEN

T = {"token": TOKEN}


def _rel(queue, index):
    return queue.docs[index].name


# -- the token ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/file?path=X", "/page?path=X&n=1", "/static/review.js", "/static/review.css"])
def test_every_get_without_the_token_is_403(client, queue, url):
    url = url.replace("X", _rel(queue, 0))
    joined = "&" if "?" in url else "?"
    assert client.get(url).status_code == 403
    assert client.get(f"{url}{joined}token=wrong").status_code == 403
    assert client.get(f"{url}{joined}token=").status_code == 403
    assert client.get(f"{url}{joined}token={TOKEN}").status_code == 200
    assert client.get(url, headers={"X-Edge-Token": TOKEN}).status_code == 200


def test_a_post_without_the_token_is_403_and_changes_nothing(client, queue):
    before = sidecar_of(queue.docs[0]).read_bytes()
    for params in ({"path": _rel(queue, 0)}, {"path": _rel(queue, 0), "token": "wrong"}):
        answer = client.post("/save", params=params, data={"action": "accept"})
        assert answer.status_code == 403
    assert sidecar_of(queue.docs[0]).read_bytes() == before
    assert len(review.list_pending(queue.config)) == 3


# -- path traversal ----------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path, queue):
    """A secret outside the review folder, and links to it inside that look like waiting files."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(queue.docs[0].read_bytes())
    (queue.folder / "linked.png").symlink_to(secret)
    sidecar_of(queue.folder / "linked.png").write_bytes(sidecar_of(queue.copy(0)).read_bytes())
    (queue.folder / "sub").symlink_to(tmp_path, target_is_directory=True)
    return secret


TRAVERSALS = ["../secret.png", "../inbox/" + "NAME", "/etc/passwd", "ABS", "linked.png", "sub/secret.png",
              "sub/review/NAME", "./../secret.png", "nothing-here.png", "", "..", "NAME/../NAME"]


@pytest.mark.parametrize("route", ["/file", "/page"])
@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_404_and_nothing_is_read(client, queue, outside, monkeypatch, route, path):
    path = path.replace("NAME", queue.docs[0].name).replace("ABS", str(queue.copy(0)))
    rendered = []
    monkeypatch.setattr(images, "render", lambda *args: rendered.append(args))
    monkeypatch.setattr(images, "page_count", lambda *args: rendered.append(args) or 1)
    assert client.get(route, params={**T, "path": path, "n": 1}).status_code == 404
    assert rendered == []


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_in_a_post_is_404_and_accepts_nothing(client, queue, outside, monkeypatch, path):
    path = path.replace("NAME", queue.docs[0].name).replace("ABS", str(queue.copy(0)))
    called = []
    monkeypatch.setattr(review, "accept", lambda *args, **kwargs: called.append(args))
    assert client.post("/save", params={**T, "path": path}, data={"action": "accept"}).status_code == 404
    assert called == []


def test_the_waiting_file_itself_is_served(client, queue, outside):
    answer = client.get("/page", params={**T, "path": _rel(queue, 0), "n": 1})
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.content[:2] == b"\xff\xd8"
    assert client.get("/page", params={**T, "path": _rel(queue, 0), "n": 2}).status_code == 404  # one page only


# -- the queue ---------------------------------------------------------------------------


def _listed(queue):
    out = CliRunner().invoke(main, ["review", "list", "--json", "--config", str(_toml(queue))])
    assert out.exit_code == 0, out.output
    return [json.loads(line) for line in out.output.splitlines()]


def _toml(queue):
    path = queue.folder.parent / "models.toml"
    path.write_text(f'[edge]\nreview_dir = "{queue.folder}"\n[models.fake]\nengine = "scripted"\n'
                    '[[routes]]\nname = "docs"\nmedia = ["image"]\ntask = "extract"\nschema = "invoice"\nmodel = "fake"\n')
    return path


def test_the_page_and_review_list_show_the_same_queue_newest_first(client, queue):
    queue.edit_copy(1, lambda doc: doc["review"]["reasons"].append({"code": "ambiguous_date", "field": "date",
                                                                    "message": "03/04 reads both ways"}))
    listed = _listed(queue)
    assert [item["origin"] for item in listed] == [str(p) for p in reversed(queue.docs)]  # the last flagged first
    assert all(item["route"] == "docs" and item["model"] == "fake" and item["flagged_at"] for item in listed)
    html = client.get("/", params=T).text
    shown = re.findall(r'<a href="/file\?path=([^&"]+)', html)
    assert shown == [os.path.basename(item["file"]) for item in listed]
    assert "required_missing" in html and ">fake<" in html and ">docs<" in html
    filtered = client.get("/", params={**T, "reason": "ambiguous_date"}).text
    assert re.findall(r'<a href="/file\?path=([^&"]+)', filtered) == [queue.docs[1].name]


def test_an_empty_queue_says_so(client, queue):
    for path in queue.docs:
        review.accept(queue.config, path)
    assert "Nothing waits for review" in client.get("/", params=T).text
    assert _listed(queue) == []


# -- one file: boxes, reasons, candidates ------------------------------------------------


def _evidence(doc):
    doc["evidence"] = {"fields": {
        "total_amount": {"page": 1, "bbox": [800, 600, 940, 630], "units": "px", "page_size": [1000, 1414],
                         "text": "Total 99.50", "source": "ocr",
                         "candidates": [{"value": 12.5, "page": 1, "bbox": [100, 1300, 160, 1320], "text": "12.50"},
                                        {"value": 7.0, "page": 1, "text": "7.00"}]},
        "vendor_name": {"page": 1, "bbox": [40.5, 50, 200, 80], "units": "pt", "page_size": [595, 842],
                        "text": "Acme Corp", "source": "text_layer"},
        "date": {"source": "model"},  # no box
    }}
    doc["review"]["reasons"].append({"code": "close_candidates", "field": "total_amount", "values": [99.5, 12.5],
                                     "message": "total_amount: 99.5 and 12.5 are equally likely"})


def test_each_box_is_drawn_in_its_page_units_and_scales_with_the_image(client, queue):
    queue.edit_copy(0, _evidence)
    html = client.get("/file", params={**T, "path": _rel(queue, 0)}).text
    # one nested SVG per box, its viewBox the page size in the box's units: it scales by W / page_size[0]
    boxes = re.findall(r'<svg viewBox="0 0 ([\d.]+) ([\d.]+)"[^>]*>\s*<rect class="(box[^"]*)" data-field="(\w+)" '
                       r'x="([\d.]+)" y="([\d.]+)"\s+width="([\d.]+)" height="([\d.]+)"', html)
    assert [(b[3], b[2]) for b in boxes] == [("vendor_name", "box"), ("total_amount", "box flagged")]
    # drawn a little outside the box (PAD of the page width), so the stroke does not cover the printed text
    assert boxes[1][:2] + boxes[1][4:] == ("1000.0", "1414.0", "796.0", "596.0", "148.0", "38.0")
    assert boxes[0][:2] + boxes[0][4:] == ("595.0", "842.0", "38.12", "47.62", "164.26", "34.76")
    assert 'data-field="date" x=' not in html  # no bbox, no box
    # the other candidates' boxes (hidden until the field has the focus), and their buttons, the current first
    assert re.findall(r'class="candidate-box" data-field="total_amount" data-index="(\d)"', html) == ["1"]
    assert re.findall(r'data-field="total_amount" data-index="\d"\s+data-value="([^"]*)"', html) == ["99.5", "12.5", "7.0"]
    # the reason beside its field
    field = html.split('data-field="total_amount">', 1)[1].split('<div class="field', 1)[0]
    assert "close_candidates" in field and "equally likely" in field


def test_an_old_sidecar_without_evidence_shows_the_page_and_no_boxes(client, queue):
    queue.edit_copy(0, lambda doc: doc.pop("evidence", None))
    answer = client.get("/file", params={**T, "path": _rel(queue, 0)})
    assert answer.status_code == 200
    assert '<rect class="box' not in answer.text and 'name="field:total_amount" value="99.5"' in answer.text
    assert f'src="/page?path={_rel(queue, 0)}&amp;n=1&amp;token={TOKEN}"' in answer.text


def test_pages_link_next_and_previous_in_queue_order(client, queue):
    html = client.get("/file", params={**T, "path": queue.docs[1].name}).text
    assert re.search(rf'id="prev" href="/file\?path={queue.docs[2].name}&', html)
    assert re.search(rf'id="next" href="/file\?path={queue.docs[0].name}&', html)


def test_the_page_is_self_contained_and_keeps_the_token_out_of_referers(client, queue):
    answer = client.get("/file", params={**T, "path": _rel(queue, 0)})
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    links = re.findall(r'(?:src|href|action)="([^"]*)"', answer.text)
    assert links and all(link.startswith("/") for link in links), links


# -- saving is accepting -----------------------------------------------------------------


def _form(page):
    """The review form's fields as the page shows them."""
    inputs = re.findall(r'<input id="[^"]*" name="(field:\w+)" value="([^"]*)"', page)
    areas = re.findall(r'<textarea id="[^"]*" name="(field:\w+)"[^>]*>(.*?)</textarea>', page, re.S)
    found = {name: html.unescape(value) for name, value in inputs + areas}
    assert "field:total_amount" in found and "field:line_items" in found, found
    return found


def test_save_corrected_is_review_accept(client, queue):
    queue.edit_copy(0, _evidence)
    form = {**_form(client.get("/file", params={**T, "path": _rel(queue, 0)}).text), "action": "save",
            "field:invoice_number": "INV-1", "field:total_amount": "12.5"}  # what a person changed
    answer = client.post("/save", params={**T, "path": _rel(queue, 0)}, data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/?token={TOKEN}"  # the oldest was the last in the queue
    doc = validate_sidecar(sidecar_of(queue.docs[0]))
    assert doc["result"]["invoice_number"] == "INV-1" and doc["result"]["total_amount"] == 12.5
    assert doc["review"]["corrected"] == ["invoice_number", "total_amount"]  # only what changed
    assert doc["review"]["history"][0]["result"]["total_amount"] == 99.5 and not doc["review"]["needs_review"]
    assert not queue.copy(0).exists() and not sidecar_of(queue.copy(0)).exists()
    assert str(queue.docs[0]) not in [item["origin"] for item in _listed(queue)]


def test_accept_keeps_the_model_answer_and_goes_to_the_next_file(client, queue):
    answer = client.post("/save", params={**T, "path": queue.docs[2].name},
                         data={"action": "accept", "field:total_amount": "1"})  # typed, but Accept is "as it is"
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/file?path={queue.docs[1].name}&")
    doc = validate_sidecar(sidecar_of(queue.docs[2]))
    assert doc["result"]["total_amount"] == 99.5 and doc["review"]["corrected"] == []
    assert len(doc["review"]["history"]) == 1


def test_a_correction_the_schema_refuses_is_shown_and_nothing_changes(client, queue):
    before = sidecar_of(queue.docs[0]).read_bytes()
    answer = client.post("/save", params={**T, "path": _rel(queue, 0)},
                         data={"action": "save", "field:total_amount": "a lot"})
    assert answer.status_code == 400 and "do not fit the invoice schema" in answer.text
    assert 'value="a lot"' in answer.text  # what the person typed stays in the form
    assert sidecar_of(queue.docs[0]).read_bytes() == before and queue.copy(0).exists()


def test_a_post_that_is_not_the_form_is_refused(client, queue):
    answer = client.post("/save", params={**T, "path": _rel(queue, 0)}, json={"action": "accept"})
    assert answer.status_code == 415 and queue.copy(0).exists()

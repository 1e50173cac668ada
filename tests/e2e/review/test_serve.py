"""Issue 20's acceptance of the review page: `edge review serve` on a folder the shipped CPU tier processed
(RapidOCR and Gemma 3 270M: a drawn invoice with a close call on its total, a receipt with an ambiguous date),
driven in headless Chromium over the DevTools protocol. The box of total_amount must be drawn over the printed
total (where the drawing code put it, recorded while the invoice was drawn); picking the second candidate and
pressing Enter must leave the sidecar corrected, with its review history, and the file out of `edge review list`.
The app's parts in-process: tests/unit/webreview/."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edge.eval import drawing
from edge.eval.makeset import make_one
from tests.helpers import read_sidecar, run_edge, start_edge
from tests.helpers.chromium import Browser
from tests.helpers.service import stop

SEED, INVOICE, RECEIPT = 3, 0, 8  # make-set documents the CPU tier flags: a close total, an ambiguous date
ACTIVE = (0, 102, 255)  # the stroke of the box of the field in focus (edge/webreview/static/review.css)

ROUTES = """
[models.ocr-small]
engine = "ocr"
text_model = "small-text"

[models.small-text]
engine = "llamacpp"
model = "embedded:gemma3-270m"

[[routes]]
name = "invoices"
match = ["invoices/**"]
media = ["image", "pdf"]
task = "extract"
schema = "invoice"
tiers = ["ocr-small"]

[[routes]]
name = "receipts"
match = ["receipts/**"]
media = ["image", "pdf"]
task = "extract"
schema = "receipt"
tiers = ["ocr-small"]
"""


def _draw(folder: Path, index: int) -> tuple[Path, list[tuple[str, tuple[int, int, int, int]]]]:
    """One make-set document, and where each printed text went on the page (px)."""
    printed: list[tuple[str, tuple[int, int, int, int]]] = []
    original = drawing.Page.text

    def recording(page, x, text, size=22, anchor="la", y=None):
        where = (x, page.y if y is None else y)
        printed.append((text, page.draw.textbbox(where, text, font=page.f(size), anchor=anchor)))
        original(page, x, text, size, anchor, y)

    folder.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drawing.Page, "text", recording)
        path = make_one(folder, index, SEED, drawing.available_fonts())
    return path, printed


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    inbox, folder = root / "inbox", root / "review"
    invoice, printed = _draw(inbox / "invoices", INVOICE)
    receipt, _ = _draw(inbox / "receipts", RECEIPT)
    truth = json.loads(invoice.with_name(invoice.name + ".truth.json").read_text())
    assert truth["hard_cases"] == []  # a clean page: what was drawn is where it was drawn
    digits = re.sub(r"\D", "", f"{truth['fields']['total_amount']:.2f}")
    [total_box] = [box for text, box in printed if re.sub(r"\D", "", text) == digits]
    config = root / "models.toml"
    config.write_text(f'[edge]\nreview_dir = "{folder}"\n' + ROUTES)
    done = run_edge("process", str(inbox), "--config", str(config), "--state-dir", str(root / "state"))
    assert done.returncode == 0, done.stderr
    return {"root": root, "config": config, "invoice": invoice, "receipt": receipt, "total_box": total_box,
            "folder": folder}


@pytest.fixture(scope="module")
def server(processed):
    proc = start_edge("review", "serve", "--port", "0", "--config", str(processed["config"]))
    lines = []
    while not (lines and lines[-1].startswith("open ")):
        line = proc.stdout.readline()
        assert line, f"edge review serve stopped: {''.join(lines)}{stop(proc)}"
        lines.append(line)
    url = lines[-1].split(" ", 1)[1].strip()
    yield url
    stop(proc)


def _listed(processed):
    out = run_edge("review", "list", "--json", "--config", str(processed["config"]))
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def _status(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _painted(shot: Path, colour: tuple[int, int, int], within: dict[str, float],
             tolerance: int = 40) -> tuple[float, float, float, float] | None:
    """The bounding box of the pixels of that colour in a screenshot, inside the rectangle `within`."""
    from PIL import Image

    left, top = round(within["x"]), round(within["y"])
    with Image.open(shot) as image:
        rgb = image.convert("RGB").crop((left, top, left + round(within["width"]), top + round(within["height"])))
        mask = Image.eval(rgb.split()[0], lambda v: 255 if abs(v - colour[0]) <= tolerance else 0)
        for band, want in zip(rgb.split()[1:], colour[1:]):
            mask = Image.composite(mask, Image.new("L", rgb.size, 0),
                                   Image.eval(band, lambda v, w=want: 255 if abs(v - w) <= tolerance else 0))
        box = mask.getbbox()
    return None if box is None else (box[0] + left, box[1] + top, box[2] + left, box[3] + top)


def test_the_cpu_tier_flagged_both_documents(processed):
    invoice, receipt = read_sidecar(processed["invoice"]), read_sidecar(processed["receipt"])
    close = [r for r in invoice["review"]["reasons"] if r["code"] == "close_candidates"]
    assert [r["field"] for r in close] == ["total_amount"], invoice["review"]
    assert invoice["evidence"]["fields"]["total_amount"]["candidates"], invoice["evidence"]
    assert "ambiguous_date" in [r["code"] for r in receipt["review"]["reasons"]], receipt["review"]
    assert {Path(item["origin"]).name for item in _listed(processed)} == {processed["invoice"].name,
                                                                          processed["receipt"].name}


def test_without_the_token_every_request_is_403(server):
    base = server.split("/?token=")[0]
    assert _status(server) == 200
    for path in ("/", "/file?path=invoices/0000-invoice.png", "/page?path=invoices/0000-invoice.png&n=1"):
        assert _status(base + path) == 403
        assert _status(base + path + ("&" if "?" in path else "?") + "token=nope") == 403
    assert _status(base + "/save?path=invoices/0000-invoice.png", data=b"action=accept") == 403
    assert _status(base + "/file?path=../inbox/invoices/0000-invoice.png&token=" + server.split("token=")[1]) == 404


def test_review_in_the_browser_box_candidate_save(processed, server, tmp_path):
    invoice = processed["invoice"]
    before = read_sidecar(invoice)
    candidates = [before["result"]["total_amount"]] + [c["value"] for c in
                                                      before["evidence"]["fields"]["total_amount"]["candidates"]]
    with Browser(tmp_path / "profile") as browser:
        page = browser.open(server)
        queue = page.evaluate("Array.from(document.querySelectorAll('#queue tbody a')).map(a => a.textContent)")
        assert sorted(queue) == sorted([f"invoices/{invoice.name}", f"receipts/{processed['receipt'].name}"])
        page.click(f'#queue a[href*="{invoice.name}"]')
        page.wait_load()
        assert page.evaluate("document.querySelectorAll('.page img')[0].complete") is True
        page.click("#f-total_amount")  # the field in focus: its box turns ACTIVE
        shot = page.screenshot(tmp_path / "file.png")
        image = page.rect(".page img")
        natural = page.evaluate("document.querySelector('.page img').naturalWidth")
        # the box on screen, against where the total was printed on the drawn page
        painted = _painted(shot, ACTIVE, within=image)
        assert painted, "no box of the field in focus on the page image"
        scale = image["width"] / natural
        x0, y0, x1, y1 = (image["x"] + v * scale if i % 2 == 0 else image["y"] + v * scale
                          for i, v in enumerate(processed["total_box"]))
        # px on screen: the OCR box is a little looser than Pillow's text box, and drawn a little outside it;
        # half a line of the totals block, so a box on the row above or below fails
        slack = 16
        assert painted[0] <= x0 + 2 and painted[1] <= y0 + 2 and painted[2] >= x1 - 2 and painted[3] >= y1 - 2, \
            (painted, (x0, y0, x1, y1))  # the box encloses the printed total...
        assert painted[0] >= x0 - slack and painted[1] >= y0 - slack and painted[2] <= x1 + slack and \
            painted[3] <= y1 + slack, (painted, (x0, y0, x1, y1))  # ...and nothing much beside it
        # the reason beside its field, the candidates one click away
        assert "close_candidates" in page.evaluate("document.querySelector('.field[data-field=total_amount]').innerText")
        page.click('.candidate[data-field="total_amount"][data-index="1"]')
        assert page.evaluate("document.getElementById('f-total_amount').value") == json.dumps(candidates[1])
        page.press("Enter", key_code=13)  # save
        page.wait_load()
        after = page.evaluate("location.pathname + location.search")
        assert processed["receipt"].name in after  # on to the next file of the queue
        date = page.evaluate("document.querySelector('.field[data-field=date]').innerText")
        assert "ambiguous_date" in date
    doc = read_sidecar(invoice)
    assert doc["result"]["total_amount"] == candidates[1] != before["result"]["total_amount"]
    assert doc["review"]["corrected"] == ["total_amount"] and not doc["review"]["needs_review"]
    assert doc["review"]["history"][-1]["result"] == before["result"]
    assert [Path(item["origin"]).name for item in _listed(processed)] == [processed["receipt"].name]


def test_keyboard_a_accepts_the_receipt(processed, server, tmp_path):
    receipt = processed["receipt"]
    before = read_sidecar(receipt)
    token = server.split("token=")[1]
    with Browser(tmp_path / "profile") as browser:
        page = browser.open(server.split("/?")[0] + f"/file?path=receipts/{receipt.name}&token={token}")
        page.press("a")
        page.wait_load()
        assert "Nothing waits for review" in page.evaluate("document.body.innerText")
    doc = read_sidecar(receipt)
    assert doc["result"] == before["result"] and doc["review"]["corrected"] == [] and not doc["review"]["needs_review"]
    assert _listed(processed) == []


def test_review_dir_on_the_command_line_and_a_refused_address(tmp_path):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    config = tmp_path / "models.toml"
    config.write_text("[edge]\n")  # no review_dir: --review-dir gives it
    proc = start_edge("review", "serve", "--port", "0", "--review-dir", str(empty), "--config", str(config))
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
        assert first.strip() == f"edge review: 0 file(s) waiting in {empty}", first + second
        url = second.split(" ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=60) as answer:
            assert "Nothing waits for review" in answer.read().decode()
    finally:
        stop(proc)
    refused = run_edge("review", "serve", "--host", "0.0.0.0", "--review-dir", str(empty), "--config", str(config))
    assert refused.returncode == 2 and "not a loopback address" in refused.stderr and "--allow-remote" in refused.stderr

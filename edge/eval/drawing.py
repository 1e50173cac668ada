"""Drawing the synthetic documents of `make-set`, and spoiling some of them.

Pure Pillow, deterministic: every random choice comes from the `rng` passed in,
never from Pillow's own noise generators (which are not seeded).
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont

PAGE = (1000, 1414)  # A4 at about 120 dpi
RECEIPT_WIDTH = 520
INK = (20, 20, 28)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
_FONT_OK = re.compile(r"(sans|serif|mono|liberation|noto|free)", re.IGNORECASE)
_FONT_BAD = re.compile(r"(oblique|italic|extralight|light|thin|math|symbol|emoji|cjk|color)", re.IGNORECASE)
STAMPS = ("PAID", "RECEIVED", "COPY", "APPROVED", "SCANNED")


def available_fonts() -> list[str]:
    """Upright text fonts on this machine (sorted, so the choice is reproducible here)."""
    found: set[str] = set()
    for folder in FONT_DIRS:
        root = Path(folder)
        if root.is_dir():
            found.update(str(p) for p in root.rglob("*.ttf") if _FONT_OK.search(p.name) and not _FONT_BAD.search(p.name))
    return sorted(found)


@lru_cache(maxsize=256)
def font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)  # Pillow's own font when the machine has none


class Page:
    """A canvas with a cursor and the document's typeface."""

    def __init__(self, size: tuple[int, int], face: str | None, scale: float):
        self.image = Image.new("RGB", size, "white")
        self.draw = ImageDraw.Draw(self.image)
        self.face, self.scale = face, scale
        self.y = int(60 * scale) + 20

    def f(self, size: int):
        return font(self.face, max(8, int(size * self.scale)))

    def text(self, x: int, text: str, size: int = 22, anchor: str = "la", y: int | None = None) -> None:
        self.draw.text((x, self.y if y is None else y), text, fill=INK, font=self.f(size), anchor=anchor)

    def line_height(self, size: int = 22) -> int:
        return int(size * self.scale * 1.55)

    def rule(self, x0: int, x1: int, width: int = 2) -> None:
        self.draw.line((x0, self.y, x1, self.y), fill=INK, width=width)


def render(doc: Any, rng: random.Random, fonts: list[str], small: bool = False) -> Image.Image:
    face = rng.choice(fonts) if fonts else None
    scale = 0.55 if small else rng.uniform(0.9, 1.15)
    if doc.kind == "receipt":
        return _receipt(doc, rng, face, scale)
    page = Page(PAGE, face, scale)
    style = rng.choice(("inline", "stacked", "columns"))
    layout = getattr(doc, "layout", None) or {}
    if layout.get("recipient_first"):
        _recipient_window(page, doc)
    _title(page, rng, layout.get("title", "INVOICE") if doc.kind == "invoice"
           else rng.choice(("CLAIM FORM", "Insurance Claim Form")))
    if doc.kind == "invoice" and not layout.get("recipient_first"):
        _party_block(page, doc)
    _fields(page, doc, rng, style)
    if doc.kind == "invoice":
        _table(page, doc, rng.choice(("lines", "grid")))
        _totals(page, doc)
        if layout.get("footer"):
            _legal_footer(page, doc)
    else:
        _claim_extras(page, rng)
    return page.image


def _recipient_window(page: Page, doc: Any) -> None:
    """The layout of many European invoices: the recipient's address window at the top left, under its
    label, and the issuer's name and address to its right."""
    top = page.y
    page.text(60, doc.labels["customer_name"], 16)
    page.y += page.line_height(16)
    page.text(60, doc.shown.get("customer_name", ""), 22)
    page.y = top
    for name, size in (("vendor_name", 26), ("vendor_address", 16)):
        if name in doc.shown:
            page.text(560, doc.shown[name], size)
            page.y += page.line_height(size)
    page.y = max(page.y, top + page.line_height(16) + page.line_height(22)) + 40


def _legal_footer(page: Page, doc: Any) -> None:
    """The issuer's legal line at the foot of the page: its registered name, register and tax number."""
    register = {"de": "Amtsgericht Hamburg HRB 48213", "fr": "RCS Lyon 512 345 678", "nl": "KvK 61234567"}
    parts = [doc.layout["legal_name"], register.get(doc.language, "Registered in England No. 0481213"),
             {"de": "USt-IdNr.", "fr": "N° TVA", "nl": "BTW-nr"}.get(doc.language, "VAT No.") + " DE293847561"]
    page.text(60, " · ".join(parts), 14, y=PAGE[1] - 60)


def _title(page: Page, rng: random.Random, title: str) -> None:
    width = page.image.width
    x, anchor = rng.choice(((60, "la"), (width // 2, "ma"), (width - 60, "ra")))
    page.text(x, title, 44, anchor)
    page.y += page.line_height(44) + 10


def _party_block(page: Page, doc: Any) -> None:
    """The vendor's name and address, unlabelled, as letterheads print them."""
    for name in ("vendor_name", "vendor_address"):
        if name in doc.shown:
            page.text(60, doc.shown[name], 26 if name == "vendor_name" else 20)
            page.y += page.line_height(24)
    page.y += 20


def _visible(doc: Any, skip: tuple[str, ...]) -> list[tuple[str, str]]:
    rows = []
    for name, label in doc.labels.items():
        if name in skip or not label:
            continue
        if name in doc.shown:
            rows.append((label, doc.shown[name]))
        elif name in doc.blank_labels:
            rows.append((label, ""))
    return rows


SKIP = ("vendor_name", "vendor_address", "subtotal", "tax_amount", "total_amount")


def _fields(page: Page, doc: Any, rng: random.Random, style: str) -> None:
    recipient_first = (getattr(doc, "layout", None) or {}).get("recipient_first")
    rows = _visible(doc, (*SKIP, *(("customer_name",) if recipient_first else ())) if doc.kind == "invoice" else ())
    if rng.random() < 0.3:
        rng.shuffle(rows)
    {"inline": _inline, "stacked": _stacked, "columns": _columns}[style](page, rows)
    page.y += 30


def _inline(page: Page, rows: list[tuple[str, str]]) -> None:
    for label, value in rows:
        page.text(60, f"{label}: {value}")
        page.y += page.line_height()


def _columns(page: Page, rows: list[tuple[str, str]]) -> None:
    for label, value in rows:
        page.text(60, label)
        page.text(int(380 * page.scale) + 60, value)
        page.y += page.line_height()


def _stacked(page: Page, rows: list[tuple[str, str]]) -> None:
    """Form boxes, two per row: the label small on top, the value below."""
    box_w, box_h = 430, page.line_height(16) + page.line_height(22) + 14
    for index, (label, value) in enumerate(rows):
        x = 60 + (index % 2) * (box_w + 20)
        top = page.y
        page.draw.rectangle((x, top, x + box_w, top + box_h), outline=INK, width=1)
        page.text(x + 8, label, 16, y=top + 4)
        page.text(x + 8, value, 22, y=top + 6 + page.line_height(16))
        if index % 2 == 1 or index == len(rows) - 1:
            page.y += box_h + 12


def _table(page: Page, doc: Any, style: str) -> None:
    cols = (60, 520, 640, 800)
    heads = (getattr(doc, "layout", None) or {}).get("heads", ("Description", "Qty", "Unit price", "Amount"))
    page.rule(60, 940)
    page.y += 8
    for x, head in zip(cols, heads):
        page.text(x, head, 20)
    page.y += page.line_height(20)
    page.rule(60, 940, 1)
    for item in doc.items:
        page.y += 8
        cells = (item["description"], str(item["quantity"]), _money(doc, item["unit_price"]), _money(doc, item["total"]))
        for x, cell in zip(cols, cells):
            page.text(x, cell, 20)
        page.y += page.line_height(20)
        if style == "grid":
            page.rule(60, 940, 1)
    page.y += 20


def _money(doc: Any, value: float) -> str:
    from .makeset import format_amount

    return format_amount(value, doc.currency)


def _totals(page: Page, doc: Any) -> None:
    for name in ("subtotal", "tax_amount", "total_amount"):
        if name in doc.shown or name in doc.blank_labels:
            page.text(600, doc.labels[name], 24 if name == "total_amount" else 22)
            page.text(940, doc.shown.get(name, ""), 24 if name == "total_amount" else 22, anchor="ra")
            page.y += page.line_height(24)


def _claim_extras(page: Page, rng: random.Random) -> None:
    """Checkboxes and a signature line: the clutter real forms have."""
    boxes = ("Outpatient", "Inpatient", "Emergency")
    ticked = rng.randrange(len(boxes))
    for index, label in enumerate(boxes):
        x = 60 + index * 260
        page.draw.rectangle((x, page.y, x + 22, page.y + 22), outline=INK, width=2)
        if index == ticked:
            page.draw.line((x + 4, page.y + 11, x + 10, page.y + 18, x + 19, page.y + 3), fill=INK, width=3)
        page.text(x + 32, label, 20)
    page.y += 90
    page.rule(60, 460, 1)
    page.y += 6
    page.text(60, "Signature of claimant", 16)


def _receipt(doc: Any, rng: random.Random, face: str | None, scale: float) -> Image.Image:
    lines = 8 + len(doc.items) + 4
    page = Page((RECEIPT_WIDTH, int(120 + lines * 38 * max(scale, 0.8))), face, scale)
    centre = RECEIPT_WIDTH // 2
    for name, size in (("merchant_name", 28), ("merchant_address", 16)):
        if name in doc.shown:
            page.text(centre, doc.shown[name], size, "ma")
            page.y += page.line_height(size)
    page.y += 10
    _receipt_row(page, f"{doc.labels['date']}: {doc.shown.get('date', '')}", "")
    page.y += 6
    for item in doc.items:
        _receipt_row(page, f"{item['description']} {item['quantity']} x {_money(doc, item['unit_price'])}",
                     _money(doc, item["total"]))
    page.rule(30, RECEIPT_WIDTH - 30, 1)
    page.y += 8
    for name in ("tax_amount", "total_amount", "payment_method"):
        if name in doc.shown or name in doc.blank_labels:
            _receipt_row(page, doc.labels[name], doc.shown.get(name, ""))
    return page.image.crop((0, 0, RECEIPT_WIDTH, min(page.image.height, page.y + 40)))


def _receipt_row(page: Page, left: str, right: str) -> None:
    page.text(30, left, 18)
    if right:
        page.text(RECEIPT_WIDTH - 30, right, 18, "ra")
    page.y += page.line_height(18)


# -- hard cases -------------------------------------------------------------------------


def degrade(image: Image.Image, rng: random.Random, hard: list[str]) -> Image.Image:
    for case in hard:
        step = _STEPS.get(case)
        if step:
            image = step(image, rng)
    return image


def _stamp(image: Image.Image, rng: random.Random) -> Image.Image:
    text = rng.choice(STAMPS)
    face = font(None, 90) if not available_fonts() else font(available_fonts()[0], 90)
    layer = Image.new("RGBA", (520, 170), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rounded_rectangle((6, 6, 514, 164), radius=18, outline=(200, 20, 30, 170), width=8)
    draw.text((260, 85), text, font=face, fill=(200, 20, 30, 150), anchor="mm")
    layer = layer.rotate(rng.uniform(-25, 25), expand=True, resample=Image.Resampling.BICUBIC)
    x = rng.randint(40, max(41, image.width - layer.width - 40))
    y = rng.randint(image.height // 6, max(image.height // 6 + 1, image.height // 2))
    out = image.convert("RGBA")
    out.alpha_composite(layer, (x, y))
    return out.convert("RGB")


def _rotation(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice((-1, 1)) * rng.uniform(2, 8)
    return image.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC, fillcolor="white")


def _blur(image: Image.Image, rng: random.Random) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 1.8)))


def _low_contrast(image: Image.Image, rng: random.Random) -> Image.Image:
    faded = ImageEnhance.Contrast(image).enhance(rng.uniform(0.22, 0.35))
    return ImageEnhance.Brightness(faded).enhance(1.2)


def _photo(image: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photo of the page: skewed on a desk, lit unevenly, a little grain."""
    w, h = image.size
    m = lambda: rng.randint(30, 150)  # noqa: E731 - how far each corner sits inside the frame
    quad = (-m(), -m(), -m(), h + m(), w + m(), h + m(), w + m(), -m())
    desk = (rng.randint(70, 120), rng.randint(60, 100), rng.randint(40, 80))
    photo = image.transform((w, h), Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC, fillcolor=desk)
    light = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize((w, h))
    light = light.point(lambda v: 175 + v * 80 // 255).convert("RGB")
    photo = ImageChops.multiply(photo, light)
    grain = Image.frombytes("L", (w, h), rng.randbytes(w * h)).convert("RGB")
    return Image.blend(photo, grain, 0.06)


_STEPS = {"stamp": _stamp, "rotation": _rotation, "blur": _blur, "low_contrast": _low_contrast, "photo": _photo}


def save(image: Image.Image, path: Path, quality: int = 90) -> None:
    """Pinned encoder parameters and no metadata: the same pixels give the same bytes."""
    clean = Image.frombytes("RGB", image.size, image.convert("RGB").tobytes())
    if path.suffix == ".png":
        clean.save(path, format="PNG", optimize=False, compress_level=6)
    else:
        clean.save(path, format="JPEG", quality=quality, optimize=False, progressive=False, subsampling=2)

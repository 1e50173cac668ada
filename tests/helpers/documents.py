"""Documents drawn with Pillow, with known contents, for extraction tests.

An invoice and a claim form (A4 at 150 dpi, portrait, a dark header band at
the top so orientation can be checked), variants a scanner or phone would
produce (rotated 5 degrees, noisy, EXIF-rotated), multi-page PDF and TIFF,
and bad inputs (decompression bomb, truncated JPEG, text named .jpg).
The truth dicts say what a perfect extraction returns. Reused by the OCR and
eval tests: keep this module free of test-framework code.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

A4 = (1240, 1754)  # 150 dpi
HEADER_BAND = 120  # px of dark band at the top of every drawn page
FONT_PATHS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf"]

INVOICE: dict[str, Any] = {
    "invoice_number": "INV-2024-0892",
    "date": "2024-03-15",
    "vendor_name": "Acme Corp",
    "total_amount": 1247.5,
    "currency": "EUR",
    "line_items": [
        {"description": "Widget A", "quantity": 10.0, "unit_price": 45.0, "total": 450.0},
        {"description": "Service hours", "quantity": 7.0, "unit_price": 95.0, "total": 665.0},
        {"description": "Shipping", "quantity": 1.0, "unit_price": 132.5, "total": 132.5},
    ],
}

CLAIM: dict[str, Any] = {
    "claim_number": "CLM-4572",
    "policy_number": "POL-88-1932",
    "claimant_name": "Maria Jensen",
    "provider_name": "Northside Medical Clinic",
    "service_date_from": "2024-02-01",
    "service_date_to": "2024-02-03",
    "diagnosis": "J06.9 Acute upper respiratory infection",
    "total_amount": 1247.5,
    "amount_paid": 200.0,
}


def invoice_truth() -> dict[str, Any]:
    return copy.deepcopy(INVOICE)


def claim_truth() -> dict[str, Any]:
    return copy.deepcopy(CLAIM)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _page(title: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    page = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle([0, 0, A4[0], HEADER_BAND], fill=(30, 40, 80))
    draw.text((60, 35), title, fill="white", font=font(48))
    return page, draw


def _money(value: float) -> str:
    return f"{value:,.2f}"


def draw_invoice(truth: dict[str, Any] | None = None) -> Image.Image:
    truth = truth or INVOICE
    page, draw = _page("INVOICE")
    body, small = font(30), font(26)
    y = 180
    for label, value in [("Vendor", truth["vendor_name"]), ("Invoice number", truth["invoice_number"]),
                         ("Date", truth["date"]), ("Currency", truth["currency"])]:
        draw.text((60, y), f"{label}:", fill="black", font=body)
        draw.text((420, y), str(value), fill="black", font=body)
        y += 55
    y += 40
    draw.line([60, y, 1180, y], fill="black", width=3)
    for x, head in [(60, "Description"), (600, "Qty"), (760, "Unit price"), (1000, "Total")]:
        draw.text((x, y + 10), head, fill="black", font=small)
    y += 60
    for item in truth["line_items"]:
        for x, text in [(60, item["description"]), (600, f"{item['quantity']:g}"),
                        (760, _money(item["unit_price"])), (1000, _money(item["total"]))]:
            draw.text((x, y), text, fill="black", font=small)
        y += 50
    draw.line([60, y + 10, 1180, y + 10], fill="black", width=3)
    draw.text((700, y + 40), f"Total due: {_money(truth['total_amount'])} {truth['currency']}", fill="black", font=body)
    draw.text((60, 1650), "Thank you for your business.", fill="gray", font=small)
    return page


def draw_claim_form(truth: dict[str, Any] | None = None) -> Image.Image:
    truth = truth or CLAIM
    page, draw = _page("HEALTH INSURANCE CLAIM FORM")
    body = font(28)
    y = 180
    rows = [("Claim number", truth["claim_number"]), ("Policy number", truth["policy_number"]),
            ("Claimant", truth["claimant_name"]), ("Provider", truth["provider_name"]),
            ("Service from", truth["service_date_from"]), ("Service to", truth["service_date_to"]),
            ("Diagnosis", truth["diagnosis"]), ("Total claimed", _money(truth["total_amount"])),
            ("Amount paid", _money(truth["amount_paid"]))]
    for label, value in rows:
        draw.rectangle([50, y - 10, 1190, y + 50], outline="black", width=2)
        draw.text((70, y), f"{label}", fill="black", font=body)
        draw.text((420, y), str(value), fill="black", font=body)
        y += 80
    draw.text((70, y + 40), "Signature: ______________________", fill="black", font=body)
    return page


def draw_text_page(lines: list[str], title: str = "CONTINUED") -> Image.Image:
    page, draw = _page(title)
    for index, line in enumerate(lines):
        draw.text((60, 180 + 50 * index), line, fill="black", font=font(28))
    return page


def rotated(page: Image.Image, degrees: float = 5.0) -> Image.Image:
    """A crooked scan: rotated, corners filled white."""
    return page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")


def noisy(page: Image.Image, sigma: float = 25.0, seed: int = 3) -> Image.Image:
    """A grainy scan: Gaussian noise with a fixed seed."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(page, dtype=np.float32)
    pixels += rng.normal(0.0, sigma, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def save_exif_rotated(page: Image.Image, path: Path, orientation: int = 6) -> Path:
    """Store the pixels turned as a phone does, with the EXIF tag that makes them upright."""
    stored = {6: page.transpose(Image.Transpose.ROTATE_90), 8: page.transpose(Image.Transpose.ROTATE_270),
              3: page.transpose(Image.Transpose.ROTATE_180)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def save_pdf(pages: list[Image.Image], path: Path, resolution: float = 150.0) -> Path:
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=resolution)
    return path


def save_tiff(pages: list[Image.Image], path: Path) -> Path:
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return path


def invoice_pdf_pages() -> list[Image.Image]:
    """Three pages: the invoice, a terms page, a notes page (only page 1 has fields)."""
    return [draw_invoice(), draw_text_page(["Terms: payment within 30 days."], "TERMS"),
            draw_text_page(["Notes: none."], "NOTES")]


def make_document_set(folder: Path) -> dict[str, Path]:
    """The acceptance set: invoice and claim form, straight, rotated 5 degrees, noisy, and 3-page PDFs."""
    folder.mkdir(parents=True, exist_ok=True)
    invoice, claim = draw_invoice(), draw_claim_form()
    files = {
        "invoice.png": lambda p: invoice.save(p),
        "invoice_rot5.jpg": lambda p: rotated(invoice).save(p, quality=90),
        "invoice_noisy.jpg": lambda p: noisy(invoice).save(p, quality=90),
        "invoice_3page.pdf": lambda p: save_pdf(invoice_pdf_pages(), p),
        "claim.png": lambda p: claim.save(p),
        "claim_rot5.jpg": lambda p: rotated(claim).save(p, quality=90),
        "claim_noisy.jpg": lambda p: noisy(claim).save(p, quality=90),
        "claim_3page.pdf": lambda p: save_pdf([claim, draw_text_page(["Attachment A"]),
                                               draw_text_page(["Attachment B"])], p),
    }
    out = {}
    for name, write in files.items():
        write(folder / name)
        out[name] = folder / name
    return out


# -- bad inputs ------------------------------------------------------------------------------


def write_bomb(path: Path, megapixels: int = 200) -> Path:
    """A real PNG of `megapixels` white 1-bit pixels: a few hundred KB on disk."""
    width = 20_000
    Image.new("1", (width, megapixels * 1_000_000 // width), 1).save(path, "PNG")
    return path


def write_truncated_jpeg(path: Path) -> Path:
    full = path.with_name(path.name + ".full")
    noisy(draw_invoice()).save(full, "JPEG", quality=90)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def write_text_as_jpg(path: Path) -> Path:
    path.write_text("This is not a picture, whatever its name says.\n")
    return path


def photo(width: int = 6000, height: int = 4000, seed: int = 1, grain: float = 12.0) -> Image.Image:
    """A camera-like picture: smooth gradients plus fine grain (sensor noise; more grain, bigger JPEG)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    base = np.stack([200 * x + 30 * y, 120 + 80 * y * x, 220 - 150 * y + 0 * x], axis=-1)
    grain = rng.normal(0, grain, (height, width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8), "RGB")


def top_is_dark(image: Image.Image) -> bool:
    """True when the dark header band is at the top: the page is upright."""
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    band = max(1, gray.shape[0] // 20)
    return float(gray[:band].mean()) < 100 < float(gray[-band:].mean())


# -- born-digital PDFs (real text objects, as e-mailed invoices are) ------------------------------------


BORN_DIGITAL = {"invoice_number": "RE-2024-00731", "date": "2024-03-15", "vendor_name": "Nordlicht Technik GmbH",
                "total_amount": 1249.5, "currency": "EUR"}


def text_rows(pdf, columns: tuple[float, float], top: float, step: float, rows: list[tuple[str, str]]) -> None:
    """Label/value (or item/amount) rows as PDF text, one pair a row at the two x positions."""
    for index, (left, right) in enumerate(rows):
        pdf.text(columns[0], top + step * index, left)
        pdf.text(columns[1], top + step * index, right)


def born_digital_invoice_pdf(path: Path, scanned: Image.Image | None = None) -> Path:
    """An invoice written as PDF text (German style: 15.03.2024, 1.249,50 EUR) and, if given,
    a scanned page (an image with no text layer) after it."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 20)
    pdf.text(50, 70, "Nordlicht Technik GmbH")
    pdf.set_font("helvetica", size=11)
    pdf.text(50, 90, "Hafenstrasse 12, 20095 Hamburg")
    pdf.set_font("helvetica", "B", 16)
    pdf.text(50, 140, "RECHNUNG / INVOICE")
    pdf.set_font("helvetica", size=11)
    rows = [("Invoice No.:", "RE-2024-00731"), ("Invoice date:", "15.03.2024"), ("Due date:", "14.04.2024"),
            ("Bill to:", "Kranich Logistik AG")]
    text_rows(pdf, (50, 170), 180, 18, rows)
    text_rows(pdf, (50, 450), 290, 18, [("Wartung Anlage", "850,00 EUR"), ("Ersatzteile", "200,00 EUR")])
    text_rows(pdf, (330, 450), 360, 18, [("Zwischensumme", "1.050,00 EUR"), ("MwSt 19%", "199,50 EUR"),
                                         ("Gesamtbetrag", "1.249,50 EUR")])
    if scanned is not None:
        pdf.add_page()
        pdf.image(scanned, x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.output(str(path))
    return path


def tracked(pdf, x: float, y: float, text: str, spacing: float) -> None:
    """Letters set one by one with extra space between them, as tracked headings are in real PDFs."""
    for char in text:
        if char != " ":
            pdf.text(x, y, char)
        x += pdf.get_string_width(char) + spacing


def customer_first_invoice_pdf(path: Path) -> Path:
    """An invoice laid out the other way round: the recipient's address window at the top, the issuer's
    name in tracked letters below it, the due date printed before the invoice date, net, VAT and gross
    in German style, and the issuer's legal line in the footer."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("dejavu", "", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.add_font("dejavu", "B", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    pdf.add_page()
    pdf.set_font("dejavu", size=10)
    for index, text in enumerate(["Rechnungsempfänger:", "Strategic Corp", "Lindenweg 4", "80331 München"]):
        pdf.text(50, 60 + 14 * index, text)
    pdf.set_font("dejavu", "B", 18)
    tracked(pdf, 330, 70, "Azure Interior", 3.0)
    pdf.set_font("dejavu", size=10)
    pdf.text(330, 88, "Hauptstrasse 7, 10115 Berlin")
    pdf.set_font("dejavu", "B", 14)
    tracked(pdf, 50, 170, "RECHNUNG", 4.0)
    pdf.set_font("dejavu", size=10)
    rows = [("Fällig am:", "30.04.2024"), ("Rechnungsdatum:", "31.03.2024"), ("Rechnung Nr.:", "2024-0417"),
            ("Kundennummer:", "K-88123")]
    text_rows(pdf, (50, 170), 200, 16, rows)
    text_rows(pdf, (50, 450), 300, 16, [("Sofa Modell Oslo", "949,00 €"), ("Lieferung", "180,00 €")])
    text_rows(pdf, (330, 450), 360, 16, [("Nettobetrag", "1.129,00 €"), ("USt. 19 %", "214,51 €"),
                                         ("Bruttobetrag", "1.343,51 €")])
    pdf.set_font("dejavu", size=8)
    pdf.text(50, 800, "Azure Interior GmbH · Amtsgericht Berlin HRB 123456 · USt-IdNr. DE123456789 · "
                      "IBAN DE02 1203 0000 0000 2020 51")
    pdf.output(str(path))
    return path


ITEM_TABLE = [  # (position, description lines, quantity, unit price, line total) as printed
    ("1", ["Kunstrasen grün", "3m breit"], "3", "3,3333", "10,00"),
    ("2", ["Personen-", "Unfallversicherung"], "2", "7,98", "15,96"),
    ("3", ["Pfand"], "20", "2,77", "55,40"),
]
ITEM_TABLE_TRUTH = [
    {"description": "Kunstrasen grün 3m breit", "quantity": 3.0, "unit_price": 3.3333, "total": 10.0},
    {"description": "Personen-Unfallversicherung", "quantity": 2.0, "unit_price": 7.98, "total": 15.96},
    {"description": "Pfand", "quantity": 20.0, "unit_price": 2.77, "total": 55.4},
]


def item_table_invoice_pdf(path: Path, subtotal: bool = True) -> Path:
    """An invoice whose item table is printed as tables are: a header naming the columns (`Pos`,
    `Bezeichnung`, `Menge`, `Einzelpreis`, `Betrag`), descriptions wrapped over two lines in a narrow
    column (one at a hyphen), a `Bruttopreis : 4,00` note and an allowance row between the items, and
    the table running over the page break to its totals and a tax breakdown on page 2. Without
    `subtotal` the sum of the line totals (81,36) is printed nowhere, only the net after the allowance."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("dejavu", "", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.add_page()
    pdf.set_font("dejavu", size=10)
    pdf.text(50, 60, "Lieferant GmbH, Lieferantenstraße 20, 80333 München")
    pdf.text(50, 100, "Rechnung Nr. 471102 vom 05.06.2018")
    columns = {"Pos": 50, "Bezeichnung": 80, "Menge": 250, "Einzelpreis": 320, "Betrag": 460}
    for label, x in columns.items():
        pdf.text(x, 160, label)
    y = 180.0
    for position, lines, quantity, price, total in ITEM_TABLE[:2]:
        y = _item_row(pdf, y, position, lines, quantity, price, total)
        pdf.text(90, y, "Bruttopreis : 4,00")  # a note under the item, not part of its name
        y += 20
    pdf.text(80, y, "Abschlag Treuerabatt")
    pdf.text(_right(pdf, 495, "-1,00"), y, "-1,00")  # an allowance: no quantity, no price
    pdf.add_page()
    pdf.text(50, 60, "Seite 2")
    y = _item_row(pdf, 90.0, *ITEM_TABLE[2])
    if subtotal:
        pdf.text(80, y, "Positionssumme")
        pdf.text(_right(pdf, 495, "81,36"), y, "81,36")
    pdf.text(80, y + 10, "Nettobetrag")
    pdf.text(_right(pdf, 495, "80,36"), y + 10, "80,36")
    for x, label in ((50, "Steuersatz"), (200, "Basisbetrag"), (400, "Steuerbetrag")):
        pdf.text(x, y + 50, label)
    for x, value in ((50, "19 %"), (200, "80,36"), (400, "15,27")):
        pdf.text(x, y + 66, value)
    pdf.output(str(path))
    return path


def _item_row(pdf, y: float, position: str, lines: list[str], quantity: str, price: str, total: str) -> float:
    """One item: its values right-aligned under their headers, its description wrapped at the column's
    edge (the next column starts at x = 250, so the first line fills the column)."""
    pdf.text(55, y, position)
    pdf.text(_right(pdf, 280, quantity), y, quantity)
    pdf.text(_right(pdf, 375, price), y, price)
    pdf.text(_right(pdf, 495, total), y, total)
    for line in lines:
        pdf.text(80, y, line)
        y += 12
    return y + 4


def _right(pdf, edge: float, text: str) -> float:
    return edge - pdf.get_string_width(text)

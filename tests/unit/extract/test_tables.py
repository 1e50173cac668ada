"""Item tables read by their columns: which header names which column, and what a row is."""

from __future__ import annotations

from edge.extract import tables
from edge.extract.layout import build_page, from_box

CHAR = 6.0  # points a character, for lines drawn by hand


def page(rows: list[list[tuple[float, str]]]):
    """A text-layer page from rows of (x, text), 14 points apart."""
    lines = [from_box(text, x, 100 + 14 * number, x + CHAR * len(text), 110 + 14 * number)
             for number, row in enumerate(rows) for x, text in row]
    return build_page(1, lines, 595, 842, "text_layer")


def test_an_amount_column_left_of_the_description_is_the_quantity():
    """GnuAccounting's English layout: `Amount | Product | VAT | Price | Total`."""
    found, _ = tables.line_items(page([
        [(60, "Amount"), (120, "Product"), (290, "VAT"), (350, "Price"), (420, "Total")],
        [(60, "400.00"), (120, "Ballons: various colors"), (290, "19%"), (350, "0.79"), (420, "316.00")],
        [(60, "Subtotal"), (420, "316.00")],
    ]))
    assert found == [{"description": "Ballons: various colors", "quantity": 400.0, "unit_price": 0.79,
                      "total": 316.0}]


def test_header_in_other_languages_and_totals_end_the_table():
    for header in (["Description", "Qty", "Unit Price", "Amount"], ["Désignation", "Qté", "Prix unitaire", "Montant HT"],
                   ["Omschrijving", "Aantal", "Prijs", "Bedrag"], ["Descrizione", "Quantità", "Prezzo", "Importo"],
                   ["Nazwa", "Ilość", "Cena", "Wartość"], ["Descripción", "Cantidad", "Precio", "Importe"]):
        found, _ = tables.line_items(page([
            list(zip((60, 260, 330, 430), header, strict=True)),
            [(60, "Consulting"), (270, "2"), (340, "100,00"), (440, "200,00")],
            [(60, "Total"), (440, "238,00")],
        ]))
        assert found == [{"description": "Consulting", "quantity": 2.0, "unit_price": 100.0, "total": 200.0}], header


def test_a_page_without_an_item_header_has_no_table():
    found, carried = tables.line_items(page([[(60, "Total"), (300, "9.00")], [(60, "Cash"), (300, "10.00")]]))
    assert found is None and carried is None


def test_a_unit_price_with_four_decimals_and_a_leading_zero():
    found, _ = tables.line_items(page([
        [(60, "Beschreibung"), (250, "Einzelpreis"), (350, "Menge"), (450, "Betrag")],
        [(60, "Wirkarbeit HT"), (250, "0,0520"), (350, "1000"), (450, "52,00")],
        [(60, "Papier A4"), (250, "0,025"), (350, "800"), (450, "20,00")],
    ]))
    assert [(item["unit_price"], item["quantity"]) for item in found] == [(0.052, 1000.0), (0.025, 800.0)]

"""Candidate finders on printed text: dates, amounts, labels, names (no model, no OCR)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from edge.extract import amounts, candidates, dates, layout
from edge.extract.fields import rules_for
from edge.extract.schemas import resolve


def page_of(rows: list[list[str]], number: int = 1, height: float = 20.0) -> layout.Page:
    """A page laid out like a receipt: each row's cells left to right, the last one right-aligned."""
    lines = []
    for r, cells in enumerate(rows):
        y = 40 + r * height * 1.6
        x = 20.0
        for c, text in enumerate(cells):
            width = 11.0 * len(text)
            if c == len(cells) - 1 and len(cells) > 1:
                x = max(x, 600 - width)
            lines.append(layout.from_box(text, x, y, x + width, y + height))
            x += width + 40
    return layout.build_page(number, lines, 620, 40 + len(rows) * height * 1.6)


def context(rows: list[list[str]], order: str | None = None) -> candidates.Context:
    page = page_of(rows)
    tokens = [t for line in page.lines for t in dates.find(line.text)]
    return candidates.Context([page], dates.resolve_order(tokens, page.text, order, environ={}), page.text)


RECEIPT = rules_for(resolve("receipt", "extract", None))


def best(rows: list[list[str]], field: str, order: str | None = None):
    found = candidates.find(context(rows, order), RECEIPT[field])
    return found[0].value if found else None


# -- dates: 44 printed forms ------------------------------------------------------------------------

DATES = [
    ("15/01/2019", "2019-01-15"), ("20-11-17", "2017-11-20"), ("23.03.18", "2018-03-23"),
    ("22 MAR 18", "2018-03-22"), ("2018-03-26 18:14", "2018-03-26"), ("05 MAR 2018", "2018-03-05"),
    ("25/12/2018", "2018-12-25"), ("29-12-2017", "2017-12-29"), ("18/03/18", "2018-03-18"),
    ("DATE:15/06/2017", "2017-06-15"), ("Date: 12/02/2018", "2018-02-12"), ("13 MAR 2018", "2018-03-13"),
    ("14-03-18 21:49", "2018-03-14"), ("12/28/2017 10:17:32 PM", "2017-12-28"), ("March 3, 2024", "2024-03-03"),
    ("Mar 3 2024", "2024-03-03"), ("3rd March 2024", "2024-03-03"), ("3 Sept 2019", "2019-09-03"),
    ("2024/03/05", "2024-03-05"), ("2024.03.05", "2024-03-05"), ("05.03.2024", "2024-03-05"),
    ("31.12.2023", "2023-12-31"), ("1. Januar 2024", "2024-01-01"), ("3. März 2024", "2024-03-03"),
    ("12 déc. 2023", "2023-12-12"), ("15 août 2022", "2022-08-15"), ("07/07/2021", "2021-07-07"),
    ("7 julio 2021", "2021-07-07"), ("12 Ogos 2018", "2018-08-12"), ("5 Mei 2019", "2019-05-05"),
    ("30-Jun-2018", "2018-06-30"), ("30-JUN-18", "2018-06-30"), ("Jun 30, 2018", "2018-06-30"),
    ("2018-Jun-30", "2018-06-30"), ("20 / 11 / 2017", "2017-11-20"), ("Bill Date : 20/12/2017", "2017-12-20"),
    ("BIZDATE: 12/03/2018", "2018-03-12"), ("Tarikh: 17/01/2018", "2018-01-17"), ("Frid-v, 29-12-2017", "2017-12-29"),
    ("28/02/2019 11:05", "2019-02-28"), ("29/02/2019", None), ("Tel: 07-3888 8888", None),
    ("GST ID 000123456789", None), ("Inv:R000721136", None), ("10:17:32", None),
]


@pytest.mark.parametrize(("printed", "iso"), DATES)
def test_date_forms(printed, iso):
    found = dates.find(printed)
    readings = {d.isoformat() for token in found for d in token.values}
    assert (iso in readings) if iso else not found, (printed, readings)


def test_day_first_and_month_first_readings_of_one_token():
    token = dates.find("03/04/2024")[0]
    assert token.ambiguous
    assert token.reading("DMY") == date(2024, 4, 3) and token.reading("MDY") == date(2024, 3, 4)
    assert not dates.find("25/12/2018")[0].ambiguous


def test_other_dates_on_the_page_decide_the_order():
    tokens = dates.find("Printed 25/12/2018 ... Due 03/04/2019")
    assert dates.resolve_order(tokens, "", None, environ={}).order == "DMY"
    tokens = dates.find("Printed 12/25/2018 ... Due 03/04/2019")
    assert dates.resolve_order(tokens, "", None, environ={}).order == "MDY"


def test_order_from_option_locale_and_printed_currency():
    ambiguous = dates.find("03/04/2024")
    assert dates.resolve_order(ambiguous, "", "MDY", environ={}).how == "option"
    assert dates.resolve_order(ambiguous, "TOTAL RM 9.00", None, environ={}).order == "DMY"
    assert dates.resolve_order(ambiguous, "", None, environ={"LANG": "en_US.UTF-8"}).order == "MDY"
    assert dates.resolve_order(ambiguous, "", None, environ={"LANG": "de_DE.UTF-8"}).order == "DMY"
    assert dates.resolve_order(ambiguous, "", None, environ={"LANG": "C.UTF-8"}).order is None


def test_ambiguous_date_without_order_keeps_both_readings_for_review():
    rows = [["SHOP"], ["Date: 03/04/2024"], ["TOTAL", "9.00"]]
    found = candidates.find(context(rows), RECEIPT["date"])
    assert found[0].alternatives == ["2024-03-04"] and found[0].value == "2024-04-03"
    decided = candidates.find(context(rows, "MDY"), RECEIPT["date"])
    assert decided[0].value == "2024-03-04" and not decided[0].alternatives


def test_labelled_date_beats_a_due_date_and_a_stamp():
    rows = [["INVOICE"], ["Due date: 30/04/2024"], ["Invoice date: 01/04/2024"]]
    assert best(rows, "date") == "2024-04-01"
    rows = [["SHOP"], ["Receipt No: 123", "Date:15/01/2018"], ["TOTAL", "9.00"], ["17 JAN 2018"]]
    assert best(rows, "date") == "2018-01-15"


# -- amounts: 34 printed lines ----------------------------------------------------------------------

AMOUNTS = [
    ("TOTAL 9.00", Decimal("9.00"), None), ("TOTAL: RM 1,247.50", Decimal("1247.50"), "MYR"),
    ("Total 1.247,50 €", Decimal("1247.50"), "EUR"), ("Gesamt 12,50 EUR", Decimal("12.50"), "EUR"),
    ("TOTAL $8.20", Decimal("8.20"), "USD"), ("Amount due £ 1,050.00", Decimal("1050.00"), "GBP"),
    ("Total CHF 1'234.50", Decimal("1234.50"), "CHF"), ("Total 1 234,56 EUR", Decimal("1234.56"), "EUR"),
    ("NETT TOTAL RM33.90", Decimal("33.90"), "MYR"), ("ROUNDING -0.02", Decimal("-0.02"), None),
    ("Rounding Adj -RM 0.02", Decimal("-0.02"), "MYR"), ("Total (RM) : 112.45", Decimal("112.45"), None),
    ("TOTAL INCL. GST 6% 37.10", Decimal("37.10"), None), ("Total Amount: $57.80", Decimal("57.80"), "USD"),
    ("Summe EUR 23,90", Decimal("23.90"), "EUR"), ("Total TTC 45,00 €", Decimal("45.00"), "EUR"),
    ("GRAND TOTAL 10,000.00", Decimal("10000.00"), None), ("Total: 3.000,00 EUR", Decimal("3000.00"), "EUR"),
    ("TOTAL ₹ 2,499.00", Decimal("2499.00"), "INR"), ("Total USD 99.99", Decimal("99.99"), "USD"),
    ("AMOUNT RM 5.00", Decimal("5.00"), "MYR"), ("TOTAL 0.50", Decimal("0.50"), None),
    ("Balance due: 1,000", Decimal("1000"), None), ("CASH RM 50.00", Decimal("50.00"), "MYR"),
    ("CHANGE RM 16.10", Decimal("16.10"), "MYR"), ("Total 12.5", Decimal("12.5"), None),
    ("TOTAL 14.10", Decimal("14.10"), None), ("Total S$ 18.00", Decimal("18.00"), "SGD"),
    ("Total A$ 7.95", Decimal("7.95"), "AUD"), ("1 X 19.00 19.00", Decimal("19.00"), None),
]


@pytest.mark.parametrize(("printed", "value", "currency"), AMOUNTS)
def test_amount_forms(printed, value, currency):
    tokens = amounts.find(printed)
    assert tokens, printed
    assert tokens[-1].value == value and tokens[-1].currency == currency, (printed, tokens[-1])


def test_a_number_longer_than_twelve_digits_is_not_an_amount():
    assert amounts.find("Ref 12345678901234567890") == []
    assert amounts.parse_number("123456789012") == Decimal("123456789012")
    assert amounts.parse_number("1.23456") is None


def test_change_and_cash_lose_to_total():
    rows = [["SHOP SDN BHD"], ["Item A", "4.50"], ["SUBTOTAL", "8.50"], ["TOTAL", "RM", "9.00"],
            ["CASH", "RM 10.00"], ["CHANGE", "RM 1.00"]]
    assert best(rows, "total_amount") == 9.0


def test_tax_summary_total_row_loses_to_the_total():
    rows = [["SHOP"], ["TOTAL", "27.55"], ["CASH", "27.55"], ["CHANGE", "0.00"], ["GST SUMMARY"],
            ["TOTAL :", "26.00", "1.56"]]
    assert best(rows, "total_amount") == 27.55


def test_the_last_total_printed_wins_over_a_total_before_tax():
    rows = [["SUBTOTAL", "79.60"], ["Total Amount :", "49.60"], ["GST @ 6%", "3.27"], ["Total Amount:", "57.80"]]
    assert best(rows, "total_amount") == 57.8


def test_total_excluding_tax_loses_to_total_including_tax():
    rows = [["Total Excl. 6% GST", "RM", "15.00"], ["GST 6%", "RM", "0.90"], ["Total Incl. 6% GST", "RM", "15.90"]]
    assert best(rows, "total_amount") == 15.9


def test_paid_minus_change_finds_the_total_when_its_label_is_unreadable():
    rows = [["SUB-TOTAL (EX)", "144.68"], ["TOTAL TAX", "8.68"], ["TOTL, :", "1 2 FER"], ["CASH", "153.35"],
            ["CHANGE", "0.00"]]
    assert best(rows, "total_amount") == 153.35


def test_eu_amount_with_label_on_the_row():
    rows = [["Rechnung"], ["Zwischensumme", "1.050,00 €"], ["MwSt 19%", "199,50 €"], ["Gesamtbetrag", "1.249,50 €"]]
    assert best(rows, "total_amount") == 1249.5


# -- names --------------------------------------------------------------------------------------------


def test_merchant_is_the_legal_name_at_the_top_not_a_note_or_the_address():
    rows = [["tan woon yann"], ["BOOK TA .K (TAMAN DAYA) SDN BHD"], ["(CO.REG 933109-X)"],
            ["NO.53 55,57 & 59, JALAN SAGU 18,"], ["81100 JOHOR BAHRU,"], ["TOTAL", "9.00"]]
    assert best(rows, "merchant_name") == "BOOK TA .K (TAMAN DAYA) SDN BHD"


def test_merchant_printed_over_two_lines_is_joined_and_loses_its_registration_number():
    rows = [["HOME MASTER HARDWARE &"], ["ELECTRICAL"], ["(1234567-X)"], ["NO.113G, JALAN SETIA"]]
    assert best(rows, "merchant_name") == "HOME MASTER HARDWARE & ELECTRICAL"
    rows = [["99 SPEED MART S/B (519537-X)"], ["LOT P.T. 2811, JALAN ANGSA,"]]
    assert best(rows, "merchant_name") == "99 SPEED MART S/B"


def test_identifier_next_to_its_label():
    rules = rules_for(resolve("invoice", "extract", None))
    rows = [["INVOICE"], ["Invoice No.:", "INV-2024-00042"], ["PO Number: PO-7781"]]
    found = candidates.find(context(rows), rules["invoice_number"])
    assert found[0].value == "INV-2024-00042"


# -- invoices from other countries: roles from labels and places (issue: real invoices) --------------

INVOICE = rules_for(resolve("invoice", "extract", None))


def best_invoice(rows: list[list[str]], field: str):
    found = candidates.find(context(rows, "DMY"), INVOICE[field])
    return found[0].value if found else None


@pytest.mark.parametrize("rows, number", [
    ([["Mietrechnung Nr. 9314110911/00/M/00/N vom 01.10.2018"]], "9314110911/00/M/00/N"),
    ([["Baurechnung (204)", "Nr.", "181301674", "vom", "25.04.2018"]], "181301674"),
    ([["Facture FA-2017-0010"], ["Votre référence", "PO445"]], "FA-2017-0010"),
    ([["Rechnungsnummer:", "RE-77"], ["Kundennummer:", "K-88123"]], "RE-77"),
    ([["Factuurnummer: 2024-118"], ["Klantnummer: 5531"]], "2024-118"),
    ([["Numero fattura: FT/2024/031"], ["Partita IVA: 01234567890"]], "FT/2024/031"),
    ([["Order/Invoice No.: 4471-A"], ["Order ID: 99812"]], "4471-A"),
])
def test_invoice_numbers_under_their_labels_in_other_languages(rows, number):
    assert best_invoice(rows, "invoice_number") == number


@pytest.mark.parametrize("rows, iso", [
    ([["Fällig am:", "30.04.2024"], ["Rechnungsdatum:", "31.03.2024"]], "2024-03-31"),
    ([["Lieferdatum: 02.04.2024"], ["Datum: 05.04.2024"]], "2024-04-05"),
    ([["Date d'échéance", "13/12/2017"], ["Date de facture", "13/11/2017"]], "2017-11-13"),
    ([["Rapport-Nr.: 42389 vom 08.03.2018"], ["Baurechnung (204)", "Nr.", "181301674", "vom", "25.04.2018"]],
     "2018-04-25"),
])
def test_the_invoice_date_not_the_due_delivery_or_report_date(rows, iso):
    assert best_invoice(rows, "date") == iso


def test_net_and_vat_lose_to_the_gross_amount():
    rows = [["Nettobetrag", "1.129,00 €"], ["USt. 19 %", "214,51 €"], ["Bruttobetrag", "1.343,51 €"]]
    assert best_invoice(rows, "total_amount") == pytest.approx(1343.51)


@pytest.mark.parametrize("printed, value", [("1.129,00", 1129.0), ("1.129.00", 1129.0), ("€1,95", 1.95)])
def test_german_amounts_keep_their_cents(printed, value):
    assert float(amounts.find(printed)[0].value) == value


def test_a_recipient_block_printed_above_the_issuer_is_never_the_vendor():
    rows = [["Bill to:", "Azure Interior GmbH"], ["ATTN: iViveLabs Limited", "Hauptstrasse 7"],
            ["Strategic Corp Ltd", "10115 Berlin"], ["12 Harbour Road"]]
    vendor = best_invoice(rows, "vendor_name")
    assert vendor is not None and "Strategic" not in vendor and "iVive" not in vendor


def test_the_vendor_is_the_name_in_the_sellers_section_not_its_number():
    rows = [["Verkäufer:"], ["Nummer : 549910"], ["MUSTER-Autovermietung"], ["Musterstr. 99"],
            ["Käufer/Leistungsempfänger:"], ["Nummer : 9314110911"], ["MUSTER-KUNDE GMBH"]]
    assert best_invoice(rows, "vendor_name") == "MUSTER-Autovermietung"


def test_a_letterhead_line_gives_the_name_without_its_address():
    rows = [["Au bon moulin SARL - 1242 chemin de l'olive - 84340 Malaucène - France"], ["Facture FA-2017-0010"],
            ["Adresse de livraison"], ["Ma jolie boutique"], ["35 rue de la République"]]
    assert best_invoice(rows, "vendor_name") == "Au bon moulin SARL"


@pytest.mark.parametrize("slogan", ["MO.-SA. 9.00 Uhr - 20.00 Uhr", "I N V O I C E", "RECHNUNG", "SUPERCENTER"])
def test_opening_hours_and_headings_are_no_merchant(slogan):
    rows = [[slogan], ["ALDI SÜD GmbH & Co. KG"], ["Hauptstr. 5"], ["Summe", "12,50"]]
    assert best(rows, "merchant_name") == "ALDI SÜD GmbH & Co. KG"


def test_a_guest_is_no_merchant():
    rows = [["Guest Name: Sanjay"], ["Hotel Lotus Pvt. Ltd."], ["Room 204"], ["Total", "Rs 4,500.00"]]
    assert best(rows, "merchant_name") == "Hotel Lotus Pvt. Ltd."


def test_the_balance_left_after_an_advance_is_the_amount_to_pay():
    rows = [["Total HT", "391,79 €"], ["Total taxes", "78,36 €"], ["Total TTC", "470,15 €"],
            ["Acompte versé", "141,05 €"], ["Solde à payer", "329,10 €"]]
    assert best_invoice(rows, "total_amount") == pytest.approx(329.10)


def test_a_label_joined_to_another_word_is_a_label_of_its_own():
    """`Verkäufer-IBAN` and `Verkäufer-Kontoname` are the seller's bank details, not the seller."""
    rows = [["Rohstoff AG"], ["Verkäufer-Kontoname", ": Global Supplies Financial Services"],
            ["Verkäufer-IBAN", ": DE12 1234 4321 9876 00"], ["Art (Kategorie) Warenwert Steuer basisbetrag"]]
    assert best_invoice(rows, "vendor_name") == "Rohstoff AG"


def test_friday_in_opening_hours_is_not_swiss_francs():
    rows = [["Währung:", "EUR"], ["Mo.-Fr. 08.30 - 12.30 Uhr"], ["Mo.-Fr. 14.00 - 17.00 Uhr"]]
    assert best_invoice(rows, "currency") == "EUR"
    assert amounts.currencies("Summe Fr. 12.50") == ["CHF"]


@pytest.mark.parametrize("printed, value", [("0,025", 0.025), ("1.000,0000", 1000.0), ("15.387,0800", 15387.08)])
def test_prices_with_four_decimals_and_a_leading_zero(printed, value):
    assert float(amounts.find(printed)[0].value) == value


def test_an_amount_ocr_glued_to_its_label_is_still_read():
    rows = [["Nettobetrag", "962,73 €"], ["USt.", "182,92 €"], ["Gesamtbetrag1.145,65 €"]]
    assert best_invoice(rows, "total_amount") == pytest.approx(1145.65)
    assert amounts.find("INV2023 V1.00") == []  # a code, a version: no money


@pytest.mark.parametrize("rows", [
    [["Facture n°", "Date de facture"], ["F-2025-10870"], ["Date d'échéance"]],  # boxes: label over value
    [["Facture n° F-2025-10870"]],
])
def test_the_number_under_or_after_facture_n(rows):
    assert best_invoice(rows, "invoice_number") == "F-2025-10870"


def test_a_list_of_dates_is_not_a_date_with_its_time():
    rows = [["Rechnung Nr. 471102 vom 03.10.2018"], ["Termine: 11.09.2018; 14.09.2018; 19.09.2018"]]
    found = candidates.find(context(rows, "DMY"), INVOICE["date"])
    assert found[0].value == "2018-10-03" and found[0].score - found[1].score >= 1.0


def test_the_amount_still_open_beats_a_gross_total_its_parts_add_up_to():
    rows = [["Nettobetrag", "193,83"], ["USt.", "21,31"], ["Rechnungssumme", "215,14"],
            ["Offener Betrag", "165,14"]]
    assert best_invoice(rows, "total_amount") == pytest.approx(165.14)


@pytest.mark.parametrize("printed, value, currency", [
    ("₹ 1,23,456.00", 123456.0, "INR"), ("Rs. 12,34,567.50", 1234567.5, "INR"),  # Indian lakh grouping
    ("12,50- EUR", -12.5, "EUR"), ("-12,50 €", -12.5, "EUR"),  # the sign after or before
])
def test_indian_grouping_and_a_sign_after_the_number(printed, value, currency):
    (token,) = amounts.find(printed)
    assert float(token.value) == value and token.currency == currency


def test_opening_hours_are_not_negative_amounts():
    assert [float(t.value) for t in amounts.find("8.00-20.00 Uhr")] == [8.0]

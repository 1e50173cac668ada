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

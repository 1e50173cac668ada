"""Acceptance 1: checkers and outcome classification on crafted prediction/truth pairs."""

from datetime import date

import pytest

from edge.eval import checkers as ck


@pytest.mark.parametrize("text, value", [
    ("1,247.50", 1247.5), ("$1247.5", 1247.5), ("1.247,50", 1247.5), ("EUR 1 247,50", 1247.5),
    ("1247,5", 1247.5), ("£12", 12.0), ("1.247.500", 1247500.0), ("(12.00)", -12.0), (1247.5, 1247.5),
    ("CHF 1'247.50", 1247.5), ("1,247", 1247.0),
])
def test_amount_formats_parse_to_the_same_number(text, value):
    assert ck.parse_amount(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["twelve", "", True, [1], {"a": 1}])
def test_amounts_that_are_not_amounts_are_schema_mismatches(bad):
    with pytest.raises(ck.SchemaMismatch):
        ck.parse_amount(bad)


@pytest.mark.parametrize("text", [
    "2024-03-07", "07/03/2024", "03/07/2024", "7 March 2024", "March 7, 2024", "07.03.2024",
    "2024/03/07", "07-Mar-2024", "Mar 7th 2024", "2024-03-07T00:00:00.000Z",
])
def test_date_formats_normalise(text):
    assert date(2024, 3, 7) in ck.parse_dates(text)


def test_date_ambiguity_keeps_both_readings_but_unambiguous_dates_do_not():
    assert ck.parse_dates("03/07/2024") == {date(2024, 3, 7), date(2024, 7, 3)}
    assert ck.parse_dates("25/12/2024") == {date(2024, 12, 25)}
    assert ck.check_date("2024-12-25", "12/25/2024")[0]
    assert not ck.check_date("2024-12-25", "2024-12-26")[0]


@pytest.mark.parametrize("name, truth, predicted, outcome", [
    # exact after normalisation, for identifiers
    ("invoice_number", "INV-2024-0892", "inv-2024-0892", "correct"),
    ("invoice_number", "INV-2024-0892", " INV\u20132024\u20130892 ", "correct"),
    ("invoice_number", "INV-2024-0892", "INV-2024-0893", "wrong"),
    # numeric within tolerance
    ("total_amount", 1247.5, "1,247.50", "correct"),
    ("total_amount", 1247.5, "$1247.5", "correct"),
    ("total_amount", 1247.5, "1.247,50", "correct"),
    ("total_amount", 1247.5, 1247.504, "correct"),
    ("total_amount", 1247.5, 1274.5, "wrong"),
    ("total_amount", 1247.5, "one thousand", "schema_error"),
    # dates
    ("invoice_date", "2024-03-03", "03/03/2024", "correct"),
    ("invoice_date", "2024-03-03", "3 March 2024", "correct"),
    ("invoice_date", "2024-03-03", "2024-03-08", "wrong"),
    ("invoice_date", "2024-03-03", "last Tuesday", "schema_error"),
    # fuzzy token ratio for names and addresses
    ("vendor_name", "Acme Corp", "ACME Corp.", "correct"),
    ("vendor_address", "12 High Street, Springfield", "12 High Stret Springfield", "correct"),
    ("vendor_name", "Acme Corp", "Globex Industries", "wrong"),
    # the truth is null: a value is a hallucination, null is correct
    ("po_number", None, "PO-5531", "hallucinated"),
    ("po_number", None, None, "correct"),
    ("po_number", None, "", "correct"),
    # the truth has a value: null is missing
    ("invoice_number", "INV-1", None, "missing"),
    ("invoice_number", "INV-1", "null", "missing"),
    # refusals
    ("invoice_number", "INV-1", "I cannot read this field", "refusal"),
    ("vendor_name", "Acme", "[unclear]", "refusal"),
])
def test_field_outcomes(name, truth, predicted, outcome):
    result = ck.check_field(name, truth, predicted)
    assert result.outcome == outcome, result


ITEMS = [{"description": "Widget A", "quantity": 2, "unit_price": 10.0, "total": 20.0},
         {"description": "Service fee", "quantity": 1, "unit_price": 5.5, "total": 5.5}]


def test_line_items_match_in_any_order_with_formatted_numbers():
    predicted = [{"description": "service fee", "quantity": "1", "unit_price": "5,50", "total": "$5.50"},
                 {"description": "Widget A", "quantity": 2, "unit_price": "10.00", "total": 20}]
    assert ck.check_field("line_items", ITEMS, predicted).outcome == "correct"


@pytest.mark.parametrize("predicted, outcome", [
    ([ITEMS[0]], "wrong"),  # one item missing
    ([*ITEMS, {"description": "Extra", "quantity": 1, "unit_price": 1, "total": 1}], "wrong"),  # an extra
    ([ITEMS[0], {**ITEMS[1], "total": 55.0}], "wrong"),  # a misread amount inside an item
    ("Widget A x2", "schema_error"),
    (None, "missing"),
    ([], "missing"),
])
def test_line_items_outcomes(predicted, outcome):
    assert ck.check_field("line_items", ITEMS, predicted).outcome == outcome


def test_line_items_invented_where_none_exist_are_hallucinated():
    assert ck.check_field("line_items", [], ITEMS).outcome == "hallucinated"


def test_checker_chosen_by_field_name_and_truth_type():
    assert ck.checker_for("claim_number", "C-1") == "exact"
    assert ck.checker_for("total_amount", 3.0) == "numeric"
    assert ck.checker_for("date_of_service", "2024-01-01") == "date"
    assert ck.checker_for("claimant_name", "Ann Lee") == "fuzzy"
    assert ck.checker_for("line_items", []) == "list"


def test_document_level_schema_error_refusal_and_absent_keys():
    truth = {"invoice_number": "INV-1", "total_amount": 10.0, "po_number": None}
    assert {r.outcome for r in ck.check_document(truth, {}, None)} == {"schema_error"}
    assert {r.outcome for r in ck.check_document(truth, {}, {}, refused=True)} == {"refusal"}
    results = ck.check_document(truth, {}, {"invoice_number": "INV-1", "total_amount": "10"})
    assert [r.outcome for r in results] == ["correct", "correct", "schema_error"]


def test_truth_file_can_name_the_checker():
    # "exact" instead of the default fuzzy: a near miss is now wrong
    assert ck.check_document({"vendor_name": "Acme Corp"}, {"vendor_name": "exact"},
                             {"vendor_name": "Acme Corp Ltd"})[0].outcome == "wrong"


@pytest.mark.parametrize("predicted, outcome", [("EUR", "correct"), ("€", "correct"), ("eur", "correct"),
                                                ("euros", "correct"), ("$", "wrong"), (12, "schema_error")])
def test_currency_reads_signs_and_codes(predicted, outcome):
    assert ck.check_field("currency", "EUR", predicted).outcome == outcome


PAGE = "ACME TRADING SDN BHD\nDate: 25/12/2018\nTOTAL RM 9.00\nCASH RM 10.00\nCHANGE RM 1.00"


@pytest.mark.parametrize(("name", "truth", "predicted", "outcome"), [
    ("merchant_name", "ACME TRADING SDN BHD", "Shop or merchant name", "hallucinated"),  # a description
    ("merchant_name", "ACME TRADING SDN BHD", "CHANGE", "wrong"),  # printed, but not the merchant
    ("total_amount", 9.0, 1000000000000000.0, "hallucinated"),  # a runaway number
    ("total_amount", 9.0, 10.0, "wrong"),  # the CASH line: printed, wrong
    ("date", "2018-12-25", "2018-09-02", "hallucinated"),
    ("date", "2018-12-25", "2018-12-25", "correct"),
    ("merchant_name", None, "ACME TRADING SDN BHD", "hallucinated"),  # the truth is null
])
def test_a_wrong_value_the_page_does_not_print_is_hallucinated(name, truth, predicted, outcome):
    [result] = ck.check_document({name: truth}, {}, {name: predicted}, text=PAGE)
    assert result.outcome == outcome, result


def test_without_the_document_text_a_wrong_value_stays_wrong():
    [result] = ck.check_document({"merchant_name": "ACME"}, {}, {"merchant_name": "Shop or merchant name"})
    assert result.outcome == "wrong"


def test_the_report_gives_the_hallucination_rate_per_engine():
    from pathlib import Path

    from edge.eval.dataset import Sample
    from edge.eval.run import DocResult, Report

    sample = Sample(path=Path("a.png"), fields={}, schema="receipt")
    fields = ck.check_document({"merchant_name": "ACME TRADING SDN BHD", "total_amount": 9.0}, {},
                               {"merchant_name": "Shop or merchant name", "total_amount": 9.0}, text=PAGE)
    doc = {"model": {"name": "ocr-small", "engine": "ocr"}}
    summary = Report("set", "documents", [DocResult(sample, fields, "ok", doc=doc)]).summary()
    assert summary["hallucination_rate"] == 0.5
    assert summary["by_engine"]["ocr:ocr-small"] == {"fields": 2, "accuracy": 0.5, "hallucinated": 1,
                                                      "hallucination_rate": 0.5}


# -- company names and currencies as a person judges them ----------------------------


@pytest.mark.parametrize("truth, predicted", [
    ("Coolblue B.V.", "Coolblue"),
    ("toom Baumarkt GmbH", "TOOM BAUMARKT"),
    ("IKEA", "IKEA Deutschland GmbH & Co. KG"),
    ("Tata Consultancy Services Pvt. Ltd.", "TATA CONSULTANCY SERVICES"),
    ("Société Générale S.A.", "Societe Generale"),
    ("SYARIKAT PERNIAGAAN GIN KEE SDN BHD", "Syarikat Perniagaan Gin Kee"),
])
def test_company_names_compare_without_legal_forms(truth, predicted):
    assert ck.checker_for("vendor_name", truth) == "company"
    assert ck.check_field("vendor_name", truth, predicted).outcome == "correct"


@pytest.mark.parametrize("truth, predicted", [
    ("Coolblue B.V.", "Bol.com B.V."),
    ("toom Baumarkt GmbH", "OBI GmbH & Co. KG"),
    ("IKEA Deutschland GmbH & Co. KG", "Deutschland GmbH"),
    ("Azure Interior", "Me gusta olive"),
])
def test_company_checker_still_fails_a_different_company(truth, predicted):
    assert ck.check_field("merchant_name", truth, predicted).outcome == "wrong"


@pytest.mark.parametrize("truth, predicted", [("INR", "Rs"), ("INR", "₹"), ("INR", "Rs."), ("EUR", "€"),
                                              ("PLN", "zł"), ("USD", "dollars")])
def test_currency_signs_and_codes_are_one(truth, predicted):
    assert ck.check_field("currency", truth, predicted).outcome == "correct"


def test_currency_checker_fails_another_currency():
    assert ck.check_field("currency", "INR", "$").outcome == "wrong"

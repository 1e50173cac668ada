"""The printed labels that anchor a value, as data.

Each field role has labels that point at its value (weighted: `strong` beats
`labels`) and labels that must not (`exclude`: CHANGE is not the total). A
line's label is its longest matching phrase, so `TOTAL (INCL GST)` is a
total while `TOTAL GST` is a tax line. Matching is on upper-cased words with
punctuation removed. `[labels.SCHEMA.FIELD]` in models.toml adds to these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class LabelSet:
    strong: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def extended(self, labels: list[str] | tuple[str, ...] = (), exclude: list[str] | tuple[str, ...] = ()) -> LabelSet:
        return LabelSet(self.strong, (*self.labels, *map(normal, labels)), (*self.exclude, *map(normal, exclude)))


@dataclass(frozen=True)
class LabelHit:
    phrase: str
    weight: float  # 3 strong, 2 label, 0 excluded
    start: int  # in the normalised text
    end: int


def normal(text: str) -> str:
    """Upper case, letters and digits only, single spaces: `Total (Incl. GST):` -> `TOTAL INCL GST`."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w%#]+", " ", text.upper().replace("_", " "))).strip()


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w]){re.escape(phrase)}(?![\w])")


def best_label(text: str, labels: LabelSet) -> LabelHit | None:
    """The longest label phrase in `text` (normalised); weight 0 when it is an excluded one."""
    line = normal(text)
    hits = []
    for weight, phrases in ((3.0, labels.strong), (2.0, labels.labels), (0.0, labels.exclude)):
        for phrase in phrases:
            match = _pattern(phrase).search(line)
            if match:
                hits.append(LabelHit(phrase, weight, match.start(), match.end()))
    if not hits:
        return None
    return max(hits, key=lambda hit: (len(hit.phrase), hit.weight == 0))  # a tie goes to the exclusion


def after_label(text: str, phrase: str) -> str:
    """What is printed after a label on the same line: `Invoice No.: INV-12` -> `INV-12`."""
    match = _printed_label(text, phrase)
    if not match or compound(text, phrase):
        return ""
    return text[match.end():].lstrip(" .:#-=|\t°º").strip()


def compound(text: str, phrase: str) -> bool:
    """`Verkäufer-IBAN: DE12…` is the seller's IBAN, a label of its own: the label joined to a word."""
    match = _printed_label(text, phrase)
    return bool(match and re.match(r"-\w", text[match.end():]))


def _printed_label(text: str, phrase: str) -> re.Match[str] | None:
    pattern = r"[^\w%#]*".join(re.escape(word) for word in phrase.split())
    return re.search(rf"(?<!\w){pattern}(?!\w)", text, re.IGNORECASE)


# -- amounts ----------------------------------------------------------------------------------------

# The balance left to pay after an advance or a payment, printed after the gross total: the amount due.
BALANCE = ("SOLDE À PAYER", "SOLDE A PAYER", "RESTE À PAYER", "OFFENER BETRAG", "RESTBETRAG", "NOCH ZU ZAHLEN",
           "OPENSTAAND BEDRAG", "SALDO A PAGAR", "SALDO DA PAGARE", "POZOSTAŁO DO ZAPŁATY")
TOTAL = LabelSet(
    strong=(
        "GRAND TOTAL", "TOTAL DUE", "AMOUNT DUE", "BALANCE DUE", "TOTAL PAYABLE", "AMOUNT PAYABLE", "NETT TOTAL", "TOTAL NETT", "ROUNDED TOTAL", "TOTAL ROUNDED", "TOTAL AFTER ROUNDING", "TOTAL INCL",
        "TOTAL INCLUSIVE", "INCL GST", "INCLUSIVE OF GST", "INCL VAT", "TOTAL INC", "TOTAL AMOUNT DUE",
        "TOTAL TO PAY", "AMOUNT TO PAY", "NETT AMOUNT", "TOTAL SALES INCLUSIVE",
        "GESAMTBETRAG", "ZU ZAHLEN", "SUMME", "TOTAL TTC", "NET A PAYER", "MONTANT TTC", "IMPORTE TOTAL",
        "TOTALE", "TE BETALEN", "TOTAAL", "JUMLAH BESAR", "JUMLAH PERLU DIBAYAR",
        # invoices in EN/DE/FR/NL/ES/IT/PL: the gross amount or the amount due
        "INVOICE TOTAL", "TOTAL INVOICE AMOUNT", "GROSS AMOUNT", "GROSS TOTAL", "TOTAL GROSS", "TOTAL INCL TAX",
        "TOTAL INCL VAT", "RECHNUNGSBETRAG", "BRUTTOBETRAG", "ZAHLBETRAG", "ENDBETRAG", "GESAMTSUMME", "GESAMT BRUTTO",
        "SUMME BRUTTO", "BRUTTOSUMME", "ZU ZAHLENDER BETRAG", "RECHNUNGSSUMME", "MONTANT TOTAL TTC", "TOTAL A PAYER",
        "TOTAL À PAYER", "NET À PAYER", "MONTANT DU", "MONTANT DÛ", "TOTAALBEDRAG", "TOTAAL INCL BTW", "TOTAAL TE BETALEN",
        "TOTAL A PAGAR", "TOTAL FACTURA", "IMPORTE A PAGAR", "TOTALE DOCUMENTO", "TOTALE FATTURA", "IMPORTO TOTALE",
        "TOTALE DA PAGARE", "DA PAGARE", "RAZEM DO ZAPŁATY", "DO ZAPŁATY", "DO ZAPLATY", "KWOTA BRUTTO", "RAZEM BRUTTO",
        *BALANCE,
    ),
    labels=(
        "TOTAL", "TOTAL AMOUNT", "TOTAL RM", "TOTAL SALES", "TOTAL AMT", "AMOUNT", "AMT", "GESAMT", "JUMLAH",
        "MONTANT", "IMPORTE", "TOTAL EUR", "TOTAL USD", "TOTAL CHF", "TOTAL GBP", "BALANCE", "AMOUNT CLAIMED",
        "TOTAL CLAIMED", "CLAIM AMOUNT", "TOTAL CHARGES", "TOTAL CHARGE",
        # "net" is the final sum on a Malaysian receipt and the sum before tax on an invoice: weaker than gross
        "NET TOTAL", "NET AMOUNT", "BRUTTO", "TOTAAL", "TOTALE", "RAZEM",
    ),
    exclude=(
        "SUBTOTAL", "SUB TOTAL", "SUB TOTAL AMOUNT", "CHANGE", "CHANGE DUE", "CASH", "TENDERED", "TENDER",
        "CASH TENDERED", "AMOUNT TENDERED", "DISCOUNT", "DISC", "TOTAL DISCOUNT", "TOTAL SAVINGS", "SAVINGS",
        "GST", "TAX", "VAT", "SST", "TOTAL GST", "TOTAL TAX", "TOTAL VAT", "GST AMOUNT", "TAX AMOUNT",
        "GST SUMMARY", "SERVICE CHARGE", "SERVICE TAX", "ROUNDING", "ROUNDING ADJ", "ROUNDING ADJUSTMENT", "ROUND ADJ",
        "TOTAL QTY", "TOT QTY", "TOTAL QUANTITY", "NO OF QTY", "QTY", "TOTAL ITEMS", "TOTAL ITEM", "NO OF ITEMS", "ITEM COUNT", "TOTAL EXCL",
        "TOTAL EXCLUDING", "EXCL GST", "EXCLUSIVE OF GST", "TOTAL EXCLUSIVE", "TOTAL SALES EXCLUDING",
        "TOTAL BEFORE", "POINTS", "BALANCE POINTS", "AMOUNT PAID", "PAID", "DEPOSIT", "NETTO", "MWST",
        "PAYMENT", "VISA", "MASTERCARD", "CREDIT CARD", "DEBIT", "CARD",
        # net, tax, discount and advance lines of invoices in EN/DE/FR/NL/ES/IT/PL
        "TOTAL NET", "NET", "NETTOBETRAG", "NETTOSUMME", "SUMME NETTO", "GESAMT NETTO", "NETTOWERT", "WARENWERT",
        "UST", "UMSATZSTEUER", "MEHRWERTSTEUER", "STEUERBETRAG", "TOTAL HT", "MONTANT HT", "TOTAL TVA", "TVA",
        "MONTANT TVA", "SUBTOTAAL", "TOTAAL EXCL BTW", "BTW", "BTW BEDRAG", "BASE IMPONIBLE", "IVA", "IMPONIBILE",
        "TOTALE IMPONIBILE", "IMPOSTA", "KWOTA NETTO", "RAZEM NETTO", "PODATEK", "KWOTA VAT", "ANZAHLUNG",
        "BEREITS BEZAHLT", "BEREITS GEZAHLT", "ADVANCE", "ADVANCE PAID", "PREPAID", "PREPAYMENT", "ACOMPTE",
        "AANBETALING", "ANTICIPO", "ACCONTO", "ZALICZKA", "SKONTO", "RABATT", "REMISE", "KORTING", "DESCUENTO",
        "SCONTO", "RABAT", "TAX RATE", "VAT RATE", "STEUERSATZ",
        # sums of the charges or allowances, and sums said to be without tax
        "GESAMTBETRAG DER ZUSCHLÄGE", "GESAMTBETRAG DER ABSCHLÄGE", "SUMME ZUSCHLÄGE", "SUMME ABSCHLÄGE",
        "RECHNUNGSSUMME OHNE UST", "SUMME OHNE UST", "GESAMTBETRAG OHNE UST", "BETRAG OHNE UST", "TOTAL WITHOUT VAT",
        "TOTAL EXCL VAT", "TOTAL EXCL TAX", "TOTAL BEFORE TAX", "TOTAL SANS TVA", "TOTAAL EXCL BTW",
    ),
)
# Payment lines: the total when nothing else says so (CASH 9.00 with CHANGE 0.00).
PAYMENT = LabelSet(labels=("CASH", "VISA", "MASTERCARD", "MASTER", "CREDIT CARD", "DEBIT CARD", "CARD", "PAYMENT",
                           "AMOUNT TENDERED", "CASH TENDERED", "TENDERED", "PAID", "E WALLET", "EFTPOS"))
SUBTOTAL = LabelSet(labels=("SUBTOTAL", "SUB TOTAL", "SUB TOTAL EX", "SUB TOTAL EXCL", "TOTAL EXCL", "TOTAL EXCLUDING",
                            "EXCL GST", "ZWISCHENSUMME", "NETTO", "SOUS TOTAL", "TOTAL HT",
                            "NET TOTAL", "TOTAL NET", "NET AMOUNT", "NETTOBETRAG", "NETTOSUMME", "SUMME NETTO",
                            "GESAMT NETTO", "MONTANT HT", "SUBTOTAAL", "TOTAAL EXCL BTW", "BASE IMPONIBLE",
                            "SUBTOTALE", "IMPONIBILE", "RAZEM NETTO", "KWOTA NETTO"))
ADJUSTMENT = LabelSet(labels=("ROUNDING", "ROUNDING ADJ", "ROUNDING ADJUSTMENT", "ROUND ADJ", "SERVICE CHARGE",
                              "SERVICE CHARGE 10%", "SVC CHARGE", "DISCOUNT", "SHIPPING", "DELIVERY"))
CHANGE = LabelSet(labels=("CHANGE", "CHANGE DUE", "BAKI", "RÜCKGELD", "RENDU"))
TAX = LabelSet(
    strong=("GST AMOUNT", "TAX AMOUNT", "TOTAL GST", "TOTAL TAX", "TOTAL VAT", "VAT AMOUNT", "SST AMOUNT", "GST 6%",
            "GST 6", "SR 6%", "MWST", "USt", "TVA"),
    labels=("GST", "TAX", "VAT", "SST", "SALES TAX", "SERVICE TAX", "IVA", "BTW", "UST", "UMSATZSTEUER",
            "MEHRWERTSTEUER", "IMPOSTA", "PODATEK"),
    exclude=("GST ID", "GST REG", "GST NO", "GST REG NO", "TAX INVOICE", "VAT NO", "VAT REG", "TAX ID", "EXCL GST",
             "INCL GST", "TOTAL INCL", "INCLUSIVE OF GST", "EXCLUSIVE OF GST", "GST SUMMARY", "ZR", "TAX CODE",
             "TOTAL EXCL", "AMOUNT RM", "SUBTOTAL"),
)
AMOUNT_PAID = LabelSet(strong=("AMOUNT PAID", "PAID AMOUNT", "ALREADY PAID", "TOTAL PAID", "DEPOSIT PAID"),
                       labels=("PAID", "DEPOSIT"), exclude=("UNPAID", "TO BE PAID", "PAID BY"))

# -- dates ----------------------------------------------------------------------------------------

DATE = LabelSet(
    strong=("INVOICE DATE", "DATE OF ISSUE", "ISSUE DATE", "RECEIPT DATE", "TRANSACTION DATE", "BILL DATE",
            "DOCUMENT DATE", "RECHNUNGSDATUM", "DATE DE FACTURE", "FECHA DE FACTURA", "TARIKH", "DATE ISSUED",
            "INVOICE DT", "BELEGDATUM", "AUSSTELLUNGSDATUM", "RECHNUNGS DATUM", "DATE DE FACTURATION",
            "DATE D ÉMISSION", "DATE D EMISSION", "FACTUURDATUM", "FECHA DE EMISIÓN", "FECHA DE EMISION",
            "FECHA FACTURA", "DATA FATTURA", "DATA DOCUMENTO", "DATA DI EMISSIONE", "DATA WYSTAWIENIA"),
    labels=("DATE", "DATED", "ISSUED", "DATUM", "FECHA", "DATA", "DT", "TIME"),
    exclude=("DUE DATE", "DUE", "PAYMENT DUE", "EXPIRY", "EXPIRY DATE", "EXP", "VALID UNTIL", "DELIVERY DATE",
             "DATE OF BIRTH", "DOB", "BIRTH", "FÄLLIG", "ECHEANCE", "SHIP DATE", "PERIOD", "BEST BEFORE",
             # due, delivery, service, order and print dates in EN/DE/FR/NL/ES/IT/PL
             "DUE ON", "PAY BY", "PAYABLE BY", "ORDER DATE", "PRINT DATE", "PRINTED", "SERVICE PERIOD",
             "BILLING PERIOD", "DELIVERED", "SHIPPED", "DISPATCH DATE", "LIEFERDATUM", "LEISTUNGSDATUM",
             "LEISTUNGSZEITRAUM", "LIEFERZEITRAUM", "FÄLLIGKEITSDATUM", "FÄLLIG AM", "ZAHLBAR BIS", "ZAHLUNGSZIEL",
             "BESTELLDATUM", "AUFTRAGSDATUM", "DRUCKDATUM", "ÉCHÉANCE", "DATE D ÉCHÉANCE", "DATE D ECHEANCE",
             "DATE DE LIVRAISON", "DATE DE COMMANDE", "VERVALDATUM", "LEVERDATUM", "ORDERDATUM",
             "FECHA DE VENCIMIENTO", "VENCIMIENTO", "FECHA DE ENTREGA", "FECHA DE PEDIDO", "SCADENZA",
             "DATA SCADENZA", "DATA CONSEGNA", "DATA ORDINE", "TERMIN PŁATNOŚCI", "TERMIN PLATNOSCI",
             "DATA DOSTAWY", "DATA SPRZEDAŻY"),
)
SERVICE_FROM = LabelSet(strong=("SERVICE FROM", "DATE OF SERVICE", "SERVICE DATE", "ADMISSION DATE", "ADMITTED",
                                "TREATMENT DATE", "FROM DATE", "DATE FROM"),
                        labels=("FROM", "START", "VISIT DATE"),
                        exclude=("DATE OF CLAIM", "CLAIM DATE", "DATE OF BIRTH", "SERVICE TO", "TO"))
SERVICE_TO = LabelSet(strong=("SERVICE TO", "DISCHARGE DATE", "DISCHARGED", "TO DATE", "DATE TO", "END DATE"),
                      labels=("TO", "UNTIL", "END"),
                      exclude=("DATE OF CLAIM", "CLAIM DATE", "DATE OF BIRTH", "SERVICE FROM", "FROM"))

# -- identifiers ----------------------------------------------------------------------------------

INVOICE_NUMBER = LabelSet(
    strong=("INVOICE NO", "INVOICE NUMBER", "INVOICE #", "INVOICE NR", "INV NO", "INV #", "TAX INVOICE NO",
            "RECHNUNGSNUMMER", "RECHNUNG NR", "FACTURE NO", "NUMERO DE FACTURE", "FACTURA NO", "BILL NO",
            "RECEIPT NO", "DOCUMENT NO", "INVOICE ID", "INVOICE REF", "ORDER INVOICE NO", "INVOICE NO #",
            "RECHNUNGS NR", "RECHNUNGSNR", "RECHNUNG NUMMER", "BELEGNUMMER", "BELEG NR", "FACTURE N", "FACTURE Nº",
            "N DE FACTURE", "Nº DE FACTURE", "NUMÉRO DE FACTURE", "NUMERO FACTURE", "FACTUURNUMMER", "FACTUUR NR",
            "FACTUURNR", "NÚMERO DE FACTURA", "NUMERO DE FACTURA", "N DE FACTURA", "Nº DE FACTURA", "FACTURA N",
            "FACTURA Nº", "NUMERO FATTURA", "FATTURA N", "FATTURA NR", "FATTURA Nº", "NUMER FAKTURY", "FAKTURA NR",
            "FAKTURA VAT NR"),

    labels=("INVOICE", "NO", "NUMBER", "REF", "REFERENCE", "#", "NR", "Nº", "RECHNUNG", "FACTURE", "FACTUUR", "FACTURA",
            "FATTURA", "FAKTURA"),
    exclude=("PO NUMBER", "PO NO", "ORDER NO", "ORDER NUMBER", "CUSTOMER NO", "ACCOUNT NO", "VAT NO", "GST NO",
             "TAX ID", "TEL NO", "PHONE", "FAX", "REG NO", "COMPANY NO", "PAGE",
             # order, customer, booking and tax numbers in EN/DE/FR/NL/ES/IT/PL
             "ORDER ID", "ORDER #", "PO #", "CUSTOMER NUMBER", "CUSTOMER ID", "CUSTOMER #", "CLIENT NO", "ACCOUNT NUMBER",
             "BOOKING NO", "BOOKING NUMBER", "BOOKING REF", "IBAN", "BIC", "SWIFT", "GSTIN", "PAN", "CIN", "VAT ID",
             "VAT NUMBER", "TAX NUMBER", "KUNDENNUMMER", "KUNDEN NR", "KUNDENNR", "AUFTRAGSNUMMER", "AUFTRAG NR",
             "AUFTRAGSNR", "BESTELLNUMMER", "BESTELL NR", "BESTELLNR", "STEUERNUMMER", "STEUER NR", "UST ID",
             "UST IDNR", "UST ID NR", "USTIDNR", "HRB", "HANDELSREGISTER", "N TVA", "TVA INTRACOMMUNAUTAIRE", "SIRET",
             "SIREN", "N CLIENT", "NUMÉRO CLIENT", "NUMERO CLIENT", "N COMMANDE", "KLANTNUMMER", "KLANT NR",
             "BTW NR", "BTW NUMMER", "KVK", "ORDERNUMMER", "NÚMERO DE CLIENTE", "NUMERO DE PEDIDO", "NIF", "CIF",
             "PARTITA IVA", "CODICE FISCALE", "NUMERO ORDINE", "NIP", "REGON", "NR ZAMÓWIENIA"),
)
CLAIM_NUMBER = LabelSet(strong=("CLAIM NO", "CLAIM NUMBER", "CLAIM #", "CLAIM ID", "CLAIM REF"),
                        labels=("CLAIM", "REFERENCE", "REF"), exclude=("POLICY NO", "POLICY NUMBER", "MEMBER NO"))
POLICY_NUMBER = LabelSet(strong=("POLICY NO", "POLICY NUMBER", "POLICY #", "MEMBER NO", "MEMBER NUMBER",
                                 "MEMBERSHIP NO", "MEMBER ID", "INSURANCE NO", "CERTIFICATE NO"),
                         labels=("POLICY", "MEMBER"), exclude=("CLAIM NO", "CLAIM NUMBER"))

# -- names ----------------------------------------------------------------------------------------

LEGAL_SUFFIX = re.compile(
    r"\b(SDN\.? ?BHD|BHD|S/B|LTD|LIMITED|LLC|L\.L\.C|INC|INCORPORATED|CORP|CORPORATION|CO\.|COMPANY|GMBH|AG|KG|"
    r"S\.A\.?|SA|S\.L\.?|SARL|SAS|S\.P\.A\.?|SRL|B\.V\.?|BV|N\.V\.?|PTY|PLC|LLP|PTE|OY|AB|A/S|& SONS|& CO)\b\.?",
    re.IGNORECASE)
TRADE_WORDS = re.compile(
    r"\b(ENTERPRISE|ENTERPRISES|TRADING|HARDWARE|STATIONERY|RESTAURANT|RESTORAN|PERNIAGAAN|KEDAI|MART|MARKET|"
    r"SUPERMARKET|STORE|STORES|SHOP|BOOKS|PHARMACY|FARMASI|CAFE|BAKERY|GALLERY|MOTOR|MACHINERY|INDUSTRIES|"
    r"SUPPLIES|LOGISTICS|SERVICES|HOLDINGS|GROUP|INTERNATIONAL|CLINIC|KLINIK|HOSPITAL|MEDICAL|DENTAL|CENTRE|CENTER|"
    r"PRACTICE|PHYSIOTHERAPY|PETRO|STATION|HOTEL|DECO)\b", re.IGNORECASE)
NOT_A_NAME = re.compile(
    r"\b(TEL|TELEPHONE|PHONE|FAX|EMAIL|E-MAIL|WWW|HTTP|GST|VAT|REG|REGISTRATION|CO REG|COMPANY NO|ROC|"
    r"INVOICE|RECEIPT|TAX|CASH|BILL|DATE|TIME|WELCOME|THANK|CASHIER|TABLE|ORDER|MEMBER|POS|TERMINAL|DOC|QTY|PAGE|"
    r"SIMPLIFIED|RECHNUNG|FACTURE|FACTUUR|FACTURA|FATTURA|FAKTURA|QUITTUNG|KASSENBON|BELEG|UHR|OPENING|HOURS|"
    r"ÖFFNUNGSZEITEN|GEÖFFNET|HORAIRES|OUVERT|GUEST|SUPERCENTER|DEPARTMENT|DEPT|PAYMENT|STATEMENT|CREDIT NOTE|"
    r"GUTSCHRIFT|AVOIR|PROFORMA|SEITE|PAGINA)\b|@|\.COM\b|\d{4,}|\d{1,2}[.:]\d{2}\s*(?:-|–|BIS)",
    re.IGNORECASE)
ADDRESS = re.compile(r"\b(JALAN|JLN|TAMAN|TMN|LORONG|ROAD|RD|STREET|ST|AVENUE|AVE|LANE|STRASSE|STR|RUE|NO\.|LOT|"
                     r"BLOCK|BLK|FLOOR|LEVEL|SUITE|UNIT|BANDAR|KAWASAN|SEKSYEN|PO BOX)\b", re.IGNORECASE)
REGISTRATION = re.compile(r"\s*[(\[]?\s*(?:CO\.?\s*(?:REG|NO)\.?\s*:?\s*)?\d{4,}[-\s]?[A-Z]?\s*[)\]]?\s*$", re.IGNORECASE)
ORG_FROM = LabelSet(strong=("FROM", "SELLER", "SUPPLIER", "VENDOR", "ISSUED BY", "SOLD BY", "MERCHANT", "COMPANY",
                            "PAYEE", "BILL FROM", "INVOICE FROM", "VERKÄUFER", "LIEFERANT", "RECHNUNGSSTELLER",
                            "VENDEUR", "FOURNISSEUR", "ÉMETTEUR", "LEVERANCIER", "VERKOPER", "PROVEEDOR", "VENDEDOR",
                            "EMISOR", "FORNITORE", "CEDENTE", "SPRZEDAWCA", "WYSTAWCA"),
                    exclude=("BILL TO", "SHIP TO", "SOLD TO", "CUSTOMER", "INVOICE TO", "DELIVER TO", "CLIENT",
                             "BUYER", "RECIPIENT", "ATTENTION", "ATTN"))
PROVIDER = LabelSet(strong=("PROVIDER", "SERVICE PROVIDER", "PROVIDER NAME", "DOCTOR", "PHYSICIAN", "CLINIC",
                            "HOSPITAL", "TREATING DOCTOR", "PRACTITIONER", "FACILITY"),
                    exclude=("PROVIDER NO", "PROVIDER ID", "PROVIDER NUMBER"))
PERSON = LabelSet(strong=("CLAIMANT", "CLAIMANT NAME", "NAME OF CLAIMANT", "PATIENT", "PATIENT NAME",
                          "INSURED", "INSURED NAME", "MEMBER NAME", "POLICYHOLDER", "POLICY HOLDER", "EMPLOYEE NAME"),
                  labels=("NAME", "FULL NAME"),
                  exclude=("COMPANY NAME", "PROVIDER NAME", "DOCTOR", "SIGNATURE", "SIGNATURE OF CLAIMANT",
                           "NAME OF BANK", "BANK NAME"))
DIAGNOSIS = LabelSet(strong=("DIAGNOSIS", "DIAGNOSIS CODE", "ICD", "ICD 10", "CONDITION", "NATURE OF ILLNESS"),
                     labels=("REASON", "ILLNESS", "INJURY", "TREATMENT"))

# A document's title that names its number and date: `Mietrechnung Nr. 9314 vom 01.10.2018`,
# `Baurechnung (204) Nr. 181301674`, `Facture n° F-2024-12`, `Invoice # 0892`.
_TITLE_WORD = r"[\w\-]*(?:rechnung|invoice|facture|factuur|factura|fattura|faktura|gutschrift|avoir|credit note)"
_NUMBER_WORD = r"(?:(?:nr|no|number|nummer|numéro|numero|número)\b|n[°º]|#)\s*[.:]?\s*"
DOCUMENT_TITLE = re.compile(
    rf"^\s*{_TITLE_WORD}(?:skorrektur|korrektur)?(?:\s*\(\d+\))?\s*(?:{_NUMBER_WORD}|\s(?=\S*\d))", re.IGNORECASE)
# The heading in large type may qualify its title: `Rechnung des Versicherers (575) Nr. 00.123.456.7-2018-1`.
TITLE_HEADING = re.compile(rf"^\s*{_TITLE_WORD}\w*(?:\s+[^\s\d]+){{0,3}}?(?:\s*\(\d+\))?\s*{_NUMBER_WORD}",
                           re.IGNORECASE)

# A party's name inside its section (`Verkäufer` / `Name: ELEKTRON GmbH`).
PARTY_NAME = LabelSet(labels=("NAME", "FIRMA", "FIRMENNAME", "COMPANY NAME", "COMPANY", "NOM", "RAISON SOCIALE",
                              "NAAM", "BEDRIJFSNAAM", "NOMBRE", "RAZÓN SOCIAL", "RAZON SOCIAL", "RAGIONE SOCIALE",
                              "DENOMINAZIONE", "NAZWA", "NAZWA FIRMY"))

# The recipient's block: what follows these labels is the customer, never the issuer.
RECIPIENT = LabelSet(labels=(
    "BILL TO", "BILLED TO", "SHIP TO", "SHIPPED TO", "SOLD TO", "INVOICE TO", "INVOICED TO", "DELIVER TO", "CUSTOMER",
    "CUSTOMER NAME", "CLIENT", "BUYER", "RECIPIENT", "ATTENTION", "ATTN", "GUEST", "GUEST NAME", "PATIENT",
    "RECHNUNGSEMPFÄNGER", "RECHNUNGSANSCHRIFT", "LIEFERANSCHRIFT", "LIEFERADRESSE", "EMPFÄNGER", "KUNDE", "KÄUFER",
    "DELIVERY ADDRESS", "SHIPPING ADDRESS", "BILLING ADDRESS", "ADRESSE DE LIVRAISON", "LEVERADRES",
    "DIRECCIÓN DE ENTREGA", "INDIRIZZO DI CONSEGNA", "DESTINATAIRE", "FACTURÉ À", "FACTURE A", "FACTURER À", "LIVRÉ À", "ADRESSE DE FACTURATION", "ACHETEUR",
    "KLANT", "FACTUURADRES", "AFLEVERADRES", "AFNEMER", "CLIENTE", "FACTURAR A", "DESTINATARIO", "COMPRADOR",
    "CESSIONARIO", "COMMITTENTE", "NABYWCA", "ODBIORCA", "WARENEMPFÄNGER", "ABWEICHENDER WARENEMPFÄNGER",
    "LEISTUNGSEMPFÄNGER", "KÄUFER LEISTUNGSEMPFÄNGER", "SHIP TO PARTY", "CONSIGNEE", "DELIVERY TO",
))

RECIPIENT_FIELDS = ("GUEST", "GUEST NAME", "CUSTOMER NAME", "PATIENT", "ATTN", "ATTENTION")  # one line, no block

# -- keywords -------------------------------------------------------------------------------------

PAYMENT_METHODS = ("VISA", "MASTERCARD", "MASTER CARD", "AMEX", "AMERICAN EXPRESS", "DEBIT CARD", "CREDIT CARD",
                   "DEBIT", "CREDIT", "CASH", "CHEQUE", "CHECK", "E-WALLET", "EWALLET", "GRABPAY", "BOOST",
                   "TOUCH N GO", "PAYPAL", "APPLE PAY", "GOOGLE PAY", "MAESTRO", "EC KARTE", "GIROCARD", "BANK TRANSFER")
PAYMENT_LABELS = LabelSet(strong=("PAID BY", "PAYMENT METHOD", "PAYMENT MODE", "PAYMENT TYPE", "TENDER TYPE",
                                  "PAID WITH", "ZAHLART", "MODE DE PAIEMENT"))
DOCUMENT_TYPES = (
    ("TAX INVOICE", "invoice"), ("INVOICE", "invoice"), ("RECHNUNG", "invoice"), ("FACTURE", "invoice"),
    ("FACTURA", "invoice"), ("RECEIPT", "receipt"), ("CASH BILL", "receipt"), ("CASH SALE", "receipt"),
    ("KASSENBON", "receipt"), ("QUITTUNG", "receipt"), ("CLAIM FORM", "claim form"), ("CLAIM", "claim form"),
    ("STATEMENT", "statement"), ("CONTRACT", "contract"), ("AGREEMENT", "contract"), ("CREDIT NOTE", "credit note"),
    ("DELIVERY NOTE", "delivery note"), ("PURCHASE ORDER", "purchase order"), ("QUOTATION", "quotation"),
    ("QUOTE", "quotation"), ("LETTER", "letter"), ("CERTIFICATE", "certificate"), ("FORM", "form"),
)

# -- table columns: an invoice's item table, by the header printed over each column -------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "position": ("POS", "POSITION", "POS NR", "LFD NR", "NR", "NO", "#", "LP", "LINE", "LIGNE", "REGEL"),
    "code": ("ART NR", "ARTIKELNUMMER", "ARTIKEL NR", "ART NR KUNDE", "ART NR LIEF", "SKU", "CODE", "ITEM NO",
             "ITEM CODE", "PART NO", "REF", "RÉF", "REFERENCE", "RÉFÉRENCE", "ARTIKELCODE", "CÓDIGO", "CODICE",
             "INDEKS", "GTIN", "EAN", "HSN", "HSN SAC", "SAC"),
    "description": ("DESCRIPTION", "ITEM", "ITEMS", "PRODUCT", "PRODUCTS", "SERVICE", "SERVICES", "ARTICLE",
                    "DETAILS", "PARTICULARS", "ITEM DESCRIPTION", "DESCRIPTION OF GOODS", "BESCHREIBUNG",
                    "BEZEICHNUNG", "ARTIKEL", "ARTIKELBEZEICHNUNG", "LEISTUNG", "LEISTUNGEN", "PRODUKT",
                    "TEXT", "POSITIONSTEXT", "DÉSIGNATION", "DESIGNATION", "LIBELLÉ", "LIBELLE", "PRODUIT",
                    "PRESTATION", "OMSCHRIJVING", "ARTIKELOMSCHRIJVING", "PRODUCTO", "DESCRIPCIÓN", "DESCRIPCION",
                    "CONCEPTO", "ARTÍCULO", "DESCRIZIONE", "ARTICOLO", "PRODOTTO", "NAZWA", "NAZWA TOWARU",
                    "NAZWA TOWARU LUB USŁUGI", "OPIS", "TOWAR", "USŁUGA"),
    "quantity": ("QTY", "QUANTITY", "QTÉ", "QTE", "QUANTITÉ", "QUANTITE", "MENGE", "ANZAHL", "AANTAL",
                 "CANTIDAD", "CANT", "QUANTITÀ", "QUANTITA", "QTÀ", "QTA", "ILOŚĆ", "ILOSC", "HOURS", "HRS",
                 "UNITS", "NOS", "STÜCK", "STK"),
    "unit": ("UNIT", "UOM", "EINHEIT", "ME", "UNITÉ", "UNITE", "EENHEID", "UNIDAD", "UNITÀ", "UM", "JM",
             "JEDNOSTKA"),
    "unit_price": ("UNIT PRICE", "PRICE", "RATE", "UNIT COST", "PRICE PER UNIT", "EINZELPREIS", "PREIS",
                   "NETTOPREIS", "STÜCKPREIS", "E PREIS", "EP", "PREIS JE EINHEIT", "PRIX UNITAIRE", "PRIX",
                   "PU", "P U", "PRIX UNIT HT", "PRIX UNITAIRE HT", "PU HT", "PRIJS", "STUKPRIJS",
                   "EENHEIDSPRIJS", "PRECIO", "PRECIO UNITARIO", "PREZZO", "PREZZO UNITARIO", "CENA",
                   "CENA JEDN", "CENA JEDNOSTKOWA", "CENA NETTO", "UNIT PRICE EXCL VAT", "RATE PER UNIT"),
    "vat": ("VAT", "VAT %", "TAX", "TAX %", "GST", "GST %", "MWST", "MWST %", "UST", "UST %", "STEUER",
            "STEUERSATZ", "MWST SATZ", "UST SATZ", "TVA", "TVA %", "TAUX TVA", "BTW", "BTW %", "IVA", "IVA %",
            "STAWKA VAT", "VAT RATE", "TAX RATE", "IGST", "CGST", "SGST"),
    "discount": ("DISCOUNT", "DISC", "RABATT", "REMISE", "KORTING", "DESCUENTO", "SCONTO", "RABAT"),
    "total": ("AMOUNT", "TOTAL", "LINE TOTAL", "NET AMOUNT", "NET", "BETRAG", "GESAMT", "GESAMTPREIS",
              "GESAMTBETRAG", "NETTOBETRAG", "POSITIONSBETRAG", "ENTGELT", "SUMME", "WERT", "MONTANT",
              "MONTANT HT", "TOTAL HT", "PRIX TOTAL", "BEDRAG", "TOTAAL", "IMPORTE", "TOTAL LÍNEA", "IMPORTO",
              "TOTALE", "WARTOŚĆ", "WARTOSC", "WARTOŚĆ NETTO", "WARTOSC NETTO", "SUBTOTAL", "EXTENDED",
              "AMOUNT EXCL VAT", "TOTAL PRICE", "LINE AMOUNT", "PRICE TOTAL"),
}

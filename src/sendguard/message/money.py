"""Find money amounts in text, with their currency: $400, $12,400.00, USD 1,240.50, €1.240,50, 9 dollars."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

SYMBOLS = {
    "$": None,
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "A$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "CHF": "CHF",
    "R$": "BRL",
}
CODES = "USD|EUR|GBP|JPY|CAD|AUD|NZD|CHF|SEK|NOK|DKK|INR|BRL|PLN|CZK|ZAR|SGD|HKD|MXN"
WORDS = {"dollars": None, "dollar": None, "euros": "EUR", "euro": "EUR", "pounds": "GBP", "pound": "GBP"}

NUMBER = r"\d{1,3}(?:[,.\u00a0 ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
AMOUNT_RE = re.compile(
    rf"(?P<pre>US\$|CA\$|NZ\$|[AC]\$|R\$|[$€£¥₹]|\b(?:{CODES}|CHF)\b)\s?(?P<n1>{NUMBER})(?P<k1>\s?[kK]\b|\s?(?:million|m)\b)?"
    rf"|(?<![\w.,])(?P<n2>{NUMBER})(?P<k2>\s?[kK]\b)?\s?(?P<post>\b(?:{CODES})\b|€|\b(?:dollars?|euros?|pounds?)\b)",
)
# Every amount has a digit (NUMBER starts with \d) and one of these markers (see AMOUNT_RE).
DIGIT = re.compile(r"\d")
CURRENCY_HINT = re.compile(rf"[$€£¥₹]|{CODES}|CHF|dollar|euro|pound")


def may_hold_amounts(text: str) -> bool:
    """False when `text` has no amount: two scans far cheaper than AMOUNT_RE, which tries every place."""
    return DIGIT.search(text) is not None and CURRENCY_HINT.search(text) is not None


def parse_number(text: str) -> Decimal | None:
    """Parse '1,240.50', '1.240,50', '1 240,50', '400' -> Decimal. Ambiguous '1,240' is thousands."""
    s = text.replace("\u00a0", " ").replace(" ", "")
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
    elif "," in s:
        decimal_sep = "," if re.search(r",\d{1,2}$", s) else None
    elif "." in s:
        decimal_sep = None if re.fullmatch(r"\d{1,3}(\.\d{3})+", s) else "."
    else:
        decimal_sep = None
    thousands = {",", "."} - {decimal_sep}
    for t in thousands:
        s = s.replace(t, "")
    if decimal_sep:
        s = s.replace(decimal_sep, ".")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def find_amounts(text: str, dollar_currency: str = "USD") -> list[tuple[int, int, Decimal, str | None, str]]:
    """[(start, end, value, currency or None, text as written)] for each amount in `text`."""
    out = []
    if not may_hold_amounts(text):
        return out  # most lines
    for m in AMOUNT_RE.finditer(text):
        number = m.group("n1") or m.group("n2")
        value = parse_number(number)
        if value is None:
            continue
        marker = (m.group("pre") or m.group("post") or "").strip()
        if marker in SYMBOLS:
            currency = SYMBOLS[marker] or dollar_currency
        elif marker.lower() in WORDS:
            currency = WORDS[marker.lower()] or dollar_currency
        else:
            currency = marker.upper()
        scale = (m.group("k1") or m.group("k2") or "").strip().lower()
        if scale == "k":
            value *= 1000
        elif scale in ("m", "million"):
            value *= 1_000_000
        out.append((m.start(), m.end(), value, currency, m.group(0)))
    return out

"""Split a body into the author's new text and quoted / forwarded text.

Recognised: `>` quoting, attribution lines ("On <date>, X wrote:", also wrapped over two lines
and common translations), forward separators ("---------- Forwarded message ---------",
"Begin forwarded message:", "-----Original Message-----") and Outlook / Lotus Notes header blocks
("From: ... / Sent: ... / To: ... / Subject: ...", also after a "____" rule, or indented and
wrapped as Lotus Notes forwards them).
"""

from __future__ import annotations

import re

# "> text", and Supercite's initials before the marker ("GAB> text", "Jason> text")
QUOTE_PREFIX = re.compile(r"^\s*(?:>|[A-Za-z][\w.-]{0,9}> )")
ATTRIBUTION = re.compile(
    r"^\s*(On\b.{0,200}\b(wrote|writes)|Am\b.{0,200}\bschrieb|Le\b.{0,200}\ba écrit|El\b.{0,200}\bescribió"
    r"|Op\b.{0,200}\bschreef|.{0,120}<[^>@\s]+@[^>\s]+>\s*(wrote|writes))\s*:\s*$",
    re.IGNORECASE,
)
ATTRIBUTION_START = re.compile(r"^\s*(On|Am|Le|El|Op)\s.{5,}$", re.IGNORECASE)
ATTRIBUTION_END = re.compile(
    r"^.{0,200}\b(wrote|writes|schrieb|a écrit|escribió|schreef)\s*:\s*$", re.IGNORECASE
)
SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(Forwarded message|Original Message|Weitergeleitete Nachricht|Ursprüngliche Nachricht"
    r"|Message transféré|Message d'origine)\s*-{2,}|Begin forwarded message:|-{3,}\s*Forwarded by\b.*)\s*$",
    re.IGNORECASE,
)
OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De|Van)\*?\s*:\s*\S", re.IGNORECASE)
OUTLOOK_FIELDS = re.compile(
    r"^\s*\*?(Sent|Date|To|Subject|Cc|Gesendet|Datum|An|Betreff|Envoyé|Objet)\*?\s*:", re.IGNORECASE
)
RULE_LINE = re.compile(r"^\s*_{10,}\s*$")


def quoted_flags(lines: list[str]) -> list[bool]:
    """For each line, True when it is quoted or forwarded text rather than the author's own."""
    flags = [bool(QUOTE_PREFIX.match(ln)) for ln in lines]
    n = len(lines)
    for i in range(n):
        if flags[i]:
            continue
        start = _quote_block_start(lines, i)
        if start is None:
            continue
        kind, header_end = start
        if kind == "attribution" and _next_nonblank_is_prefixed(lines, header_end + 1):
            # Interleaved (bottom-posted) replies: `>` marks what is quoted; lines between
            # quotes remain the author's.
            for j in range(i, header_end + 1):
                flags[j] = True
            continue
        for j in range(i, n):
            flags[j] = True
        break
    return flags


def _quote_block_start(lines: list[str], i: int) -> tuple[str, int] | None:
    line = lines[i]
    # Each pattern but ATTRIBUTION_START needs a colon (SEPARATOR a colon or a dash, RULE_LINE an
    # underscore): testing for the character first spares most lines the scans (ATTRIBUTION's
    # `.{0,120}<` tries up to 120 places on every line).
    colon = ":" in line
    if (colon or "-" in line) and SEPARATOR.match(line):
        return "separator", i
    if colon and ATTRIBUTION.match(line):
        return "attribution", i
    if (
        ATTRIBUTION_START.match(line)
        and i + 1 < len(lines)
        and ATTRIBUTION_END.match(lines[i + 1])
        and not (colon and ATTRIBUTION_END.match(line))
    ):
        return "attribution", i + 1
    if "_" in line and RULE_LINE.match(line) and i + 1 < len(lines) and OUTLOOK_FROM.match(lines[i + 1]):
        return "separator", i
    if colon and OUTLOOK_FROM.match(line):
        # Lotus Notes wraps the From line and the To list, so its Subject can come 8 lines down.
        following = [ln for ln in lines[i + 1 : i + 10] if ln.strip()]
        if sum(1 for ln in following[:7] if OUTLOOK_FIELDS.match(ln)) >= 2:
            return "separator", i
    return None


QUOTE_MARKERS = re.compile(r"^(?:\s*>)+\s?")
EMAIL_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def quoted_authors(lines: list[str], flags: list[bool]) -> list[str | None]:
    """For each quoted line, the address of whoever wrote it, when its quote names one.

    A forwarded header ("From: julia@northwind.com ...") or an attribution ("On ..., Julia
    <julia@northwind.com> wrote:") starts an author's text; it runs until the next such line or
    the next line of new text. A header or attribution without an address leaves the author
    unknown (None), as does any new line.
    """
    authors: list[str | None] = []
    author: str | None = None
    for text, quoted in zip(lines, flags, strict=True):
        if not quoted:
            author = None
        else:
            bare = QUOTE_MARKERS.sub("", text)
            # All three patterns end in a colon; most quoted lines have none.
            if ":" in bare and (
                OUTLOOK_FROM.match(bare) or ATTRIBUTION.match(bare) or ATTRIBUTION_END.match(bare)
            ):
                found = EMAIL_IN_TEXT.search(bare)
                author = found.group(0).lower().rstrip(".") if found else None
        authors.append(author)
    return authors


def _next_nonblank_is_prefixed(lines: list[str], start: int) -> bool:
    for ln in lines[start:]:
        if ln.strip():
            return bool(QUOTE_PREFIX.match(ln))
    return False


SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
LIST_FOOTER_RULE = re.compile(r"^\s*_{20,}\s*$")
LIST_FOOTER_TEXT = re.compile(
    r"mailing list|^\s*to unsubscribe|list-?(?:info|unsubscribe)|https?://\S*/(?:mailman|listinfo)/",
    re.IGNORECASE,
)


def footer_start(lines: list[str]) -> int | None:
    """Index of the first line of the signature ("-- " delimiter) or of a mailing-list footer, if any."""
    for i, line in enumerate(lines):
        if SIGNATURE_DELIMITER.match(line):
            return i
        if LIST_FOOTER_RULE.match(line) and any(LIST_FOOTER_TEXT.search(ln) for ln in lines[i + 1 : i + 4]):
            return i
    return None

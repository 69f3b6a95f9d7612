"""Test or draft markers, or links to test hosts, in a message to external recipients.

Why it matters: a vendor once sent a "{Test}" draft of a purchase confirmation to over a
million live addresses. Drafts carry tell-tale marks: "[TEST]" or "DRAFT" in the subject,
lorem ipsum, "do not send", and links to staging, dev or localhost servers. Any of them in mail
leaving the company means the wrong version is about to go out. Ordinary uses of the word
("test results", "the test plan", "a draft contract") are not markers.

Bad:
    Subject: {Test} Your purchase of SecureHome Plus
    Track your order at https://staging.revcalc.io/orders/123

Good:
    Subject: Your purchase of SecureHome Plus
    Your test results are attached. Track your order at https://app.revcalc.io/orders/123

Option: `internal_hosts = ["intranet.revcalc.io", ...]` adds hosts that must never appear in
external mail (hosts under the internal domains that are not public should be listed here).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from sendguard.message.model import Message
from sendguard.report import Finding, Location, Severity
from sendguard.rules.base import Rule, body_location, header_location

MARKERS = [
    (re.compile(r"[{\[(<]\s*(?:test(?:ing)?|draft|dummy|placeholder)\s*[}\])>]", re.I), "a test/draft tag"),
    (re.compile(r"^\s*DRAFT\b\s*(?:[:\-–]|$)|^\s*draft\s*[:\-–]", re.M), "a DRAFT label"),
    (re.compile(r"^\s*(?:test|testing)\s*(?::|\s[-–])\s", re.I | re.M), "a 'Test:' prefix"),
    (re.compile(r"\blorem ipsum\b|\bdolor sit amet\b", re.I), "lorem ipsum filler text"),
    # "DO NOT SEND" as a label, or "do not send (yet)" standing alone; not "please don't send me faxes".
    (
        re.compile(
            r"\bDO NOT SEND\b|(?i:[\[(]\s*do not send\b|\bdo not send(?: yet| out| this)?\s*(?:[.!)\]]|-|$))"
        ),
        "'do not send'",
    ),
    (
        re.compile(
            r"\bthis is (?:just )?a test (?:e-?mail|message|send)\b|\btest (?:e-?mail|message|send),? please ignore\b|\bplease ignore this (?:e-?mail|message)\b",
            re.I,
        ),
        "a test-send sentence",
    ),
    (
        re.compile(r"(?:^|\s)(?:TODO|FIXME|TBD)\s*[:(]|\[(?:TODO|FIXME|TBD)\]|\$\s?XX+\b"),
        "an unfinished-text marker",
    ),
]
# Every pattern in MARKERS needs one of these (in any case).
MARKER_WORDS = (
    "test",
    "draft",
    "dummy",
    "placeholder",
    "lorem",
    "dolor",
    "do not send",
    "ignore",
    "todo",
    "fixme",
    "tbd",
    "$",
)
MARKER_WORD = re.compile("|".join(map(re.escape, MARKER_WORDS)))  # one scan instead of a test per word
TEST_HOST_LABELS = {
    "staging",
    "stage",
    "stg",
    "test",
    "testing",
    "dev",
    "develop",
    "development",
    "qa",
    "uat",
    "sandbox",
    "preprod",
    "pre-prod",
    "localhost",
    "local",
}
IPV4_CHARS = "0123456789."
INTERNAL_SUFFIXES = (
    ".local",
    ".internal",
    ".intranet",
    ".corp",
    ".lan",
    ".localdomain",
    ".test",
    ".example",
    ".invalid",
)


class TestMarker(Rule):
    id = "test-marker"
    default_severity = Severity.BLOCK
    options = {"internal_hosts": list}

    def check(self, msg: Message) -> Iterator[Finding]:
        if not msg.has_external_recipients:
            return
        for m, what in _markers(msg.subject):
            yield self.finding(
                f"The subject carries {what}: this looks like a test or draft, and it goes to external recipients",
                header_location("Subject", msg.subject, m.start(), m.end()),
                m.group(0),
                "Send the final version: remove the marker, and check the text and recipients are the live ones.",
            )
        new_lines = msg.new_lines
        # One look at the whole new text (no marker word spans a line) spares most messages one per line.
        if not MARKER_WORD.search("\n".join(ln.text for ln in new_lines).lower()):
            new_lines = []
        for line in new_lines:
            for m, what in _markers(line.text):
                yield self.finding(
                    f"The text carries {what}: this looks like a test or draft, and it goes to external recipients",
                    body_location(line, m.start(), m.end()),
                    m.group(0),
                    "Replace the draft text with the final wording before sending.",
                )
        extra = {h.lower() for h in self.config.get("internal_hosts", [])}
        seen: set[str] = set()
        for link in msg.links:
            if link.quoted or link.url in seen:
                continue
            why = _test_host(link.host, extra)
            if why is None:
                continue
            seen.add(link.url)
            line = next((ln for ln in msg.lines if ln.number == link.line), None) if link.line else None
            location = (
                body_location(line, *(_span(line.text, link.url)))
                if line is not None and link.url in line.text
                else Location("html", start=0, end=len(link.url), text=link.url)
            )
            yield self.finding(
                f"A link points to {link.host}, {why}: external recipients cannot use it, and it shows this is a test build",
                location,
                link.url,
                "Use the production URL.",
            )


def _markers(text: str) -> Iterator[tuple[re.Match[str], str]]:
    lower = text.lower()
    if not MARKER_WORD.search(lower):
        return  # most lines: no pattern above can match without one of these
    for pattern, what in MARKERS:
        for m in pattern.finditer(text):
            yield m, what


def _span(text: str, needle: str) -> tuple[int, int]:
    start = text.find(needle)
    return start, start + len(needle)


def _test_host(host: str, extra: set[str]) -> str | None:
    if host in extra:
        return "an internal-only host"
    ip = _ip_address(host.strip("[]"))
    if ip is not None:
        return "a private/loopback address" if (ip.is_private or ip.is_loopback or ip.is_link_local) else None
    if host == "localhost" or host.endswith(INTERNAL_SUFFIXES):
        return "an internal-only host name"
    labels = host.split(".")[:-2] if host.count(".") >= 2 else []
    for label in labels:
        parts = set(re.split(r"[-_]", label)) | {label}
        if parts & TEST_HOST_LABELS:
            return "a test/staging host"
    return None


def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Only an IPv6 address has a colon, and an IPv4 one is digits and dots: most hosts are neither,
    # and ip_address() is slow to say so (it raises twice).
    if ":" not in text and text.strip(IPV4_CHARS):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None

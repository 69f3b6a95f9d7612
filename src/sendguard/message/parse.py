"""Parse raw RFC 5322 / MIME into the one `Message` model every rule reads."""

from __future__ import annotations

import email
import re
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from sendguard.errors import InputError
from sendguard.message.html import html_to_lines
from sendguard.message.model import Address, Amount, Attachment, BodyLine, Link, Message, Party
from sendguard.message.money import find_amounts, may_hold_amounts
from sendguard.message.quotes import footer_start, quoted_authors, quoted_flags
from sendguard.org.model import Org

RECIPIENT_FIELDS = ("To", "Cc", "Bcc")
HEADER_LINE = re.compile(rb"^[!-9;-~]+:")  # a field name is printable ASCII except ':'
URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)
UUENCODE_BEGIN = re.compile(r"^begin [0-7]{3,4} (\S[^\r\n]*)\r?\n(?=M)", re.MULTILINE)
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

MessageSource = bytes | str | Path | EmailMessage


class _Headers(HeaderRegistry):
    """policy.default's header registry, building each header class once instead of per field read.

    The stock registry calls `type()` for every header it parses (a new class each time).
    """

    _classes: dict[type, type] = {}  # registry class -> class combined with the base (a handful)

    def __getitem__(self, name: str) -> type:
        cls = self.registry.get(name.lower(), self.default_class)
        combined = self._classes.get(cls)
        if combined is None:
            combined = self._classes[cls] = type("_" + cls.__name__, (cls, self.base_class), {})
        return combined


_HEADERS = _Headers()


class _MessagePolicy(EmailPolicy):
    """policy.default for one message, parsing each of its header fields at most once.

    The stock policy parses a field again at every read, and the email package reads
    Content-Type (and Content-Disposition) many times per part while parsing and walking a
    message. A fresh policy per message keeps the cache per message: nothing is shared between
    messages except the header classes above. Same header objects, same results.
    """

    def __init__(self, **kw: object) -> None:
        kw.setdefault("header_factory", _HEADERS)
        super().__init__(**kw)
        object.__setattr__(self, "_parsed", {})

    def header_fetch_parse(self, name: str, value: str) -> object:
        if hasattr(value, "name"):
            return value
        key = (name, value)
        header = self._parsed.get(key)  # type: ignore[attr-defined]
        if header is None:
            header = self._parsed[key] = super().header_fetch_parse(name, value)  # type: ignore[attr-defined]
        return header

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return _MessagePolicy, ()  # the cache stays behind (its header classes are not picklable)


def read_source(
    source: MessageSource, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[bytes | None, EmailMessage | None, str | None]:
    """Return (raw bytes or None, an already-parsed message or None, path label or None)."""
    if isinstance(source, EmailMessage):
        return None, source, None
    if isinstance(source, bytes):
        _check_size(len(source), max_bytes, None)
        return source, None, None
    path = Path(source)
    try:
        size = path.stat().st_size
        _check_size(size, max_bytes, str(path))
        return path.read_bytes(), None, str(path)
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory (use `sendguard scan` for archives)", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None


def _check_size(size: int, max_bytes: int, path: str | None) -> None:
    if size > max_bytes:
        raise InputError(
            f"message is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:.0f} MB limit "
            "(raise [organization] max_message_mb to check larger messages)",
            path=path,
        )


def parse(
    source: MessageSource, org: Org, *, max_bytes: int = DEFAULT_MAX_BYTES, dollar_currency: str = "USD"
) -> Message:
    raw, parsed, path = read_source(source, max_bytes)
    if parsed is None:
        assert raw is not None
        _require_headers(raw, path)
        parsed = email.message_from_bytes(raw, policy=_MessagePolicy())  # type: ignore[assignment]
    size = len(raw) if raw is not None else len(parsed.as_bytes())
    defects = [type(d).__name__ for d in parsed.defects]

    recipients: list[Address] = []
    for field_name in RECIPIENT_FIELDS:
        recipients += _addresses(parsed, field_name, org, path)
    if not recipients:
        raise InputError("message has no recipients (no To, Cc or Bcc address)", path=path)
    senders = _addresses(parsed, "From", org, path)
    reply_to = _addresses(parsed, "Reply-To", org, path)

    text, html, attachments = _walk(parsed)
    html_lines: list[BodyLine] = []
    links: list[Link] = []
    if html is not None:
        reduced, html_links = html_to_lines(html)
        html_lines = [BodyLine(i + 1, t, q) for i, (t, q) in enumerate(reduced)]
        if text is None:
            text = "\n".join(("> " + t if q else t) for t, q in reduced)
    lines = _body_lines(text or "", org)
    # Old mailers put files inline, uuencoded: "begin 644 report.pdf" ... "end".
    attachments += [
        Attachment(m.group(1), "application/octet-stream", 0, True)
        for m in UUENCODE_BEGIN.finditer(text or "")
    ]
    footer = footer_start([ln.text for ln in lines])
    for line in lines:
        if "." not in line.text and "://" not in line.text:
            continue  # most lines: every URL has "://" or "www."
        for m in URL_RE.finditer(line.text):
            url = m.group(0).rstrip(".,;:!?")
            host = _host(url if "://" in url else "http://" + url)
            if host is not None:
                links.append(Link(url, host, "", line.number, line.quoted))
    seen_urls = {lk.url for lk in links}
    if html is not None:
        for href, anchor, idx in html_links:
            host = _host(href)
            if host is not None and href not in seen_urls:
                line = html_lines[min(idx, len(html_lines) - 1)] if html_lines else None
                links.append(
                    Link(href, host, anchor, line.number if line else None, line.quoted if line else False)
                )

    # Most bodies have no amount at all: one look at the whole text spares a look per line.
    amounts = [
        Amount(value, currency, line.number, start, end, written, line.quoted)
        for line in (lines if may_hold_amounts(text or "") else ())
        for start, end, value, currency, written in find_amounts(line.text, dollar_currency)
    ]
    return Message(
        source=parsed,
        subject=_header_text(parsed, "Subject"),
        sender=senders[0] if senders else None,
        recipients=recipients,
        reply_to=reply_to,
        message_id=_header_text(parsed, "Message-ID") or None,
        in_reply_to=_header_text(parsed, "In-Reply-To") or None,
        references=_header_text(parsed, "References").split(),
        lines=lines,
        html_lines=html_lines,
        html_source=html,
        links=links,
        attachments=attachments,
        amounts=amounts,
        size=size,
        defects=defects,
        footer_line=footer + 1 if footer is not None else None,
    )


def _require_headers(raw: bytes, path: str | None) -> None:
    head = raw.lstrip(b"\r\n")[:4096]
    if head.startswith(b"From "):  # an mbox envelope line ("From sender date") before the headers
        head = head.split(b"\n", 1)[1] if b"\n" in head else b""
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if not head or not HEADER_LINE.match(first):
        shown = first[:40].decode("ascii", "backslashreplace")
        raise InputError(f"not an RFC 5322 message: first line {shown!r} is not a header field", path=path)


def _header_text(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, TypeError, IndexError):  # policy.default can fail on mangled headers
        value = msg.get_all(name, failobj=[None])[0] if name in msg else None
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def _addresses(msg: EmailMessage, field_name: str, org: Org, path: str | None) -> list[Address]:
    pairs: list[tuple[str, str]] = []
    try:
        for header in msg.get_all(field_name, []):
            for a in getattr(header, "addresses", ()):
                if a.addr_spec and "@" in a.addr_spec:
                    pairs.append((a.display_name, a.addr_spec))
    except (ValueError, TypeError, IndexError, AttributeError):
        pairs = [(n, e) for n, e in getaddresses([str(v) for v in msg.get_all(field_name, [])]) if "@" in e]
    seen: set[str] = set()
    out: list[Address] = []
    for display_name, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if addr in seen:
            continue
        seen.add(addr)
        domain = _unicode_domain(addr.rsplit("@", 1)[1])
        out.append(resolve_address(addr, display_name, field_name, domain, org))
    return out


def resolve_address(addr: str, display_name: str, field_name: str, domain: str, org: Org) -> Address:
    listed = org.is_listed_mailing_list(addr, domain)
    if org.is_internal_domain(domain):
        return Address(addr, display_name, field_name, domain, Party.INTERNAL, listed_as_mailing_list=listed)
    account_id, via = org.directory.resolve(addr, domain)
    party = Party.ACCOUNT if account_id else Party.UNKNOWN
    return Address(addr, display_name, field_name, domain, party, account_id, via, listed)


def _unicode_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    if "xn--" not in domain:
        return domain
    try:
        return domain.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return domain  # leave invalid punycode visible as written


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return _unicode_domain(host)


def _walk(msg: EmailMessage) -> tuple[str | None, str | None, list[Attachment]]:
    """The first text/plain and text/html bodies, and every attachment (a forwarded .eml counts as one)."""
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []

    def visit(part: EmailMessage) -> None:
        nonlocal text, html
        ctype = part.get_content_type()
        try:
            filename = part.get_filename()
        except (ValueError, TypeError):
            filename = None
        disposition = (part.get_content_disposition() or "").lower()
        if ctype == "message/rfc822":
            attachments.append(
                Attachment(filename or "(forwarded message)", ctype, len(part.as_bytes()), False)
            )
            return
        if part.is_multipart():
            for sub in part.iter_parts():
                visit(sub)
            return
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            if ctype == "text/plain" and text is None:
                text = _decode_text(part)
            elif ctype == "text/html" and html is None:
                html = _decode_text(part)
            return
        payload = part.get_payload(decode=True) or b""
        attachments.append(Attachment(filename or "(unnamed)", ctype, len(payload), disposition == "inline"))

    visit(msg)
    return text, html, attachments


def _decode_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    charset = (part.get_content_charset() or "utf-8").lower()
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def _body_lines(text: str, org: Org) -> list[BodyLine]:
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while raw_lines and not raw_lines[-1].strip():
        raw_lines.pop()
    flags = quoted_flags(raw_lines)
    authors = quoted_authors(raw_lines, flags)
    resolved = {
        a: resolve_address(a, "", "quoted", _unicode_domain(a.rsplit("@", 1)[1]), org)
        for a in set(authors)
        if a is not None
    }
    return [
        BodyLine(i + 1, t, q, resolved[a] if a is not None else None)
        for i, (t, q, a) in enumerate(zip(raw_lines, flags, authors, strict=True))
    ]

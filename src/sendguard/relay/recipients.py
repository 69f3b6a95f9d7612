"""Edit a held message's recipients: new To/Cc header fields, body bytes untouched.

The header block is edited line by line instead of re-serialising the parsed message, because
a round trip through the email package may re-fold headers or re-encode parts, and the reviewer
only changed the recipients.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy
from email.utils import getaddresses

from sendguard.relay.errors import QueueError

_ADDR = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$|^[^@\s<>]+@\[[0-9.:A-Fa-f]+\]$")
_REPLACED = (b"to", b"cc", b"bcc")


def envelope_addresses(values: Sequence[str]) -> list[str]:
    """`["Ann <ann@x.com>", "bob@y.org"]` → `["ann@x.com", "bob@y.org"]`; QueueError names a bad one."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        if "\r" in value or "\n" in value:
            raise QueueError(f"not an email address: {value!r}")
        parsed = getaddresses([value])
        if len(parsed) != 1 or not _ADDR.match(parsed[0][1]):
            raise QueueError(f"not an email address: {value!r}")
        addr = parsed[0][1]
        if addr.lower() not in seen:
            seen.add(addr.lower())
            out.append(addr)
    if not out:
        raise QueueError("a message needs at least one recipient")
    return out


def rewrite_recipients(raw: bytes, to: Sequence[str], cc: Sequence[str] = ()) -> bytes:
    """`raw` with its To/Cc/Bcc fields replaced by `to` and `cc` (Bcc dropped), at the first one's place."""
    envelope_addresses([*to, *cc])  # validates: a bad address must not reach the header block
    head, sep, body, eol = split_message(raw)
    new_fields = [_fold("To", to, eol)] + ([_fold("Cc", cc, eol)] if cc else [])
    out: list[bytes] = []
    inserted = False
    for field in _fields(head, eol):
        name = field.split(b":", 1)[0].strip().lower()
        if name in _REPLACED:
            if not inserted:
                out.extend(new_fields)
                inserted = True
            continue
        out.append(field)
    if not inserted:
        out.extend(new_fields)
    return eol.join(out) + sep + body


def split_message(raw: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(header block, separator, body, line ending) of a message."""
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf <= lf):
        return raw[:crlf], b"\r\n\r\n", raw[crlf + 4 :], b"\r\n"
    if lf != -1:
        return raw[:lf], b"\n\n", raw[lf + 2 :], b"\n"
    eol = b"\r\n" if b"\r\n" in raw else b"\n"
    return raw.rstrip(b"\r\n"), eol + eol, b"", eol


def _fields(head: bytes, eol: bytes) -> list[bytes]:
    """Header fields, each with its continuation lines joined back by `eol`."""
    fields: list[bytes] = []
    for line in head.split(eol) if head else []:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += eol + line
        else:
            fields.append(line)
    return fields


def _fold(name: str, addresses: Sequence[str], eol: bytes) -> bytes:
    # policy.SMTP folds long lines and RFC 2047-encodes non-ASCII display names.
    folded = policy.SMTP.fold(name, ", ".join(addresses)).encode("ascii")
    return folded.rstrip(b"\r\n").replace(b"\r\n", eol)

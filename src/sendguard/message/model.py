"""The one parsed form of a message. Rules read it; nothing else parses mail."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from enum import StrEnum

LIST_LOCAL = re.compile(
    r"(?:^|[-_.])(?:list|lists|users|talk|devel|discuss|announce|workers|digest)$"
    r"|-(?:request|admin|owner|unsubscribe|subscribe|bounces|return)(?:[-+].*)?$",
    re.IGNORECASE,
)
LIST_HOST = re.compile(
    r"^(?:lists?|listserv|mailman)\.|(?:^|\.)(?:yahoogroups|egroups|googlegroups)\.", re.IGNORECASE
)


class Party(StrEnum):
    """Who an address belongs to, from the organisation's point of view."""

    INTERNAL = "internal"  # one of our own domains
    ACCOUNT = "account"  # a contact or domain of a known customer account
    UNKNOWN = "unknown"  # external, not in the directory

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Address:
    address: str  # lower-cased addr-spec, e.g. "peter@acme.com"
    display_name: str
    field: str  # "From", "To", "Cc", "Bcc", "Reply-To"
    domain: str  # lower-cased, IDNA-decoded to Unicode where it was punycode
    party: Party
    account_id: str | None = None
    via: str | None = None  # "contact" or "domain": how the account was resolved
    listed_as_mailing_list: bool = False  # named in [organization] mailing_lists

    @property
    def is_external(self) -> bool:
        return self.party is not Party.INTERNAL

    @property
    def is_mailing_list(self) -> bool:
        """A list or list-management address: a public audience, not a customer's person."""
        if self.listed_as_mailing_list or LIST_HOST.search(self.domain):
            return True
        return bool(LIST_LOCAL.search(self.address.split("@", 1)[0]))

    @property
    def is_public_list(self) -> bool:
        """A list anyone may read: named in `[organization] mailing_lists`, on an outside list
        server (`lists.*`), or list-like (`*-users@`) on a domain that is no customer's, because
        such an address on a customer's own domain is more likely its private distribution list."""
        if self.listed_as_mailing_list:
            return True
        if self.party is Party.INTERNAL:
            return False  # our own lists are staff lists unless [organization] mailing_lists says otherwise
        if LIST_HOST.search(self.domain):
            return True
        return self.party is Party.UNKNOWN and bool(LIST_LOCAL.search(self.address.split("@", 1)[0]))


@dataclass(frozen=True)
class BodyLine:
    number: int  # 1-based line number in `Message.lines`
    text: str
    quoted: bool  # part of quoted / forwarded text, not written by the author now
    quoted_from: Address | None = None  # who wrote this quoted line, when its quote header names them


@dataclass(frozen=True)
class Link:
    url: str
    host: str  # lower-cased host name, IDNA-decoded
    anchor: str  # visible link text ("" for bare URLs)
    line: int | None  # body line where it appears, when known
    quoted: bool


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # decoded bytes
    inline: bool


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None  # ISO 4217 code ("USD", "EUR", "GBP", ...) or None when not stated
    line: int
    start: int
    end: int
    text: str  # the amount as written, e.g. "$1,240.50"
    quoted: bool


@dataclass
class Message:
    """A parsed message.

    `lines` is the body as the author sees it (the text/plain part, or the HTML part reduced to
    text when there is no plain part), each line marked new or quoted. `html_lines` holds the HTML
    part reduced to text when the message has one (for rules that must look at both renderings);
    `html_source` the raw HTML, for checks on markup such as merge tags inside attributes.
    """

    source: EmailMessage
    subject: str
    sender: Address | None
    recipients: list[Address]  # To, Cc and Bcc, in header order, de-duplicated per field
    reply_to: list[Address]
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    lines: list[BodyLine]
    html_lines: list[BodyLine]
    html_source: str | None
    links: list[Link]
    attachments: list[Attachment]
    amounts: list[Amount]
    size: int
    defects: list[str] = field(default_factory=list)
    footer_line: int | None = None  # first line of the signature ("-- ") or mailing-list footer

    @property
    def new_lines(self) -> list[BodyLine]:
        return [ln for ln in self.lines if not ln.quoted]

    def new_blocks(self) -> list[list[BodyLine]]:
        """Runs of consecutive new lines: a sentence may wrap across lines, but never across a quote."""
        blocks: list[list[BodyLine]] = []
        for line in self.new_lines:
            if blocks and line.number == blocks[-1][-1].number + 1:
                blocks[-1].append(line)
            else:
                blocks.append([line])
        return blocks

    @property
    def content_lines(self) -> list[BodyLine]:
        """New and quoted lines above the signature / list footer: what the message says."""
        if self.footer_line is None:
            return list(self.lines)
        return [ln for ln in self.lines if ln.number < self.footer_line]

    @property
    def quoted_lines(self) -> list[BodyLine]:
        return [ln for ln in self.lines if ln.quoted]

    @property
    def new_text(self) -> str:
        return "\n".join(ln.text for ln in self.lines if not ln.quoted)

    @property
    def has_external_recipients(self) -> bool:
        return any(a.is_external for a in self.recipients)

    @property
    def is_list_post(self) -> bool:
        """Posted to a public mailing list: the whole list reads it, and its thread is public."""
        return any(a.is_public_list for a in self.recipients if a.field in ("To", "Cc"))

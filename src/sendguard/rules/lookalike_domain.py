"""A recipient's domain imitates a customer's or your own domain (acrne.com for acme.com).

Why it matters: a domain that looks like a customer's but is not theirs is either a slip (a
mistyped or auto-completed address that sends the customer's business to a stranger) or a
phishing domain registered to receive exactly that mail, often the address a fraudster has just
asked you to "update" for invoices. Either way the message must not leave. The check compares
every recipient that is in neither the directory nor your own domains with all known domains:
look-alike letters (`rn` for `m`, `0` for `o`, Cyrillic `а` for `a`, punycode), one slipped key,
swapped or repeated letters, added or dropped hyphens and dots, another suffix (`.co` for
`.com`), British/American spellings and added words (`acme-billing.com`). Big mail providers
(gmail.com, outlook.com, ...) are never reported. Names of two or three letters are reported
for look-alike letters or another suffix, not for a changed letter: nearly every such name is
one letter away from another. From four letters a slip is reported even when it is somebody
else's real domain (`acke.com` for `acme.com`): mail typed to it still goes to a stranger; if
you really write to them, list the domain under `allow`. The same short name (four letters or
fewer) under .com, .net or .org is not reported, since every short name there has long belonged
to somebody, unless the suffix is one slip away (`acme.co`).

Bad:
    To: peter.jones@acrne.com          <- 'rn' looking like 'm': not Acme Corp's acme.com
    To: julia.meyer@northwind-telcom.com   <- a letter missing from northwind-telecom.com
    To: peter.jones@acme.de            <- Acme Corp's short name under another suffix
    To: peter.jones@acke.com           <- one slip from acme.com (whoever owns acke.com)
    Cc: billing@revcalc-io.com         <- imitates your own revcalc.io

Good:
    To: peter.jones@acme.com
    To: julia.meyer@northwind-telecom.com
    Cc: consultant@example.org         <- unknown, but like no known domain
    To: info@acme.org                  <- a short name under .org: long someone else's

Option: `allow = ["acme-events.com"]` lists domains never to report (their subdomains too),
for look-alikes that are genuine but do not belong to any account.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sendguard.lookalike import LookalikeIndex, LookalikeMatch
from sendguard.message.model import Address, Message, Party
from sendguard.org.model import Org, domain_candidates
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, header_location

INTERNAL = "internal"


class LookalikeDomain(Rule):
    id = "lookalike-domain"
    default_severity = Severity.BLOCK
    options = {"allow": list}

    def __init__(self, org: Org, options: Mapping[str, Any], severity: Severity) -> None:
        super().__init__(org, options, severity)
        known = dict(org.directory.account_by_domain)
        known.update(dict.fromkeys(org.internal_domains, INTERNAL))
        self.index = LookalikeIndex(known)
        self.allow = {str(d).strip().lower().rstrip(".") for d in self.config.get("allow", [])}

    def check(self, msg: Message) -> Iterator[Finding]:
        for addr in msg.recipients:
            if addr.party is not Party.UNKNOWN:
                continue
            domain = addr.address.rsplit("@", 1)[-1]  # as written: punycode stays punycode
            if any(d in self.allow for d in (*domain_candidates(domain), *domain_candidates(addr.domain))):
                continue
            match = self.index.match(domain)
            if match is not None:
                yield self._finding(addr, domain, match)

    def _finding(self, addr: Address, domain: str, match: LookalikeMatch) -> Finding:
        local = addr.address.rsplit("@", 1)[0]
        if match.owner == INTERNAL:
            whose = f"your own domain {match.known}"
            fix = f"add it to [organization] internal_domains if {domain} is yours"
        else:
            name = self.org.directory.accounts[match.owner].name
            whose = f"{name}'s domain {match.known}"
            fix = f"add {domain} to {name}'s domains if it is genuine"
        start = len(addr.address) - len(domain)
        return self.finding(
            f"{addr.address} looks like {whose} but is not it: {match.explanation}",
            header_location(addr.field, addr.address, start, len(addr.address)),
            f"{addr.field}: {addr.address} ({match.kind}, imitating {match.known})",
            f"Did you mean {local}@{match.known}? Fix the address, or {fix} "
            f"(or list it under [rules.{self.id}] allow).",
        )

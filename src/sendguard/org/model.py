"""The organisation a message is checked against: its accounts, contacts, domains and ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    domains: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    email: str  # lower-cased
    name: str
    account_id: str


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str  # ISO 4217


def domain_candidates(domain: str) -> Iterable[str]:
    """`mail.eu.acme.com` -> `mail.eu.acme.com`, `eu.acme.com`, `acme.com` (a known domain covers its subdomains)."""
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        yield ".".join(parts[i:])


@dataclass
class Directory:
    """Customer accounts and their contacts, indexed for the look-ups every check needs."""

    accounts: dict[str, Account]
    contacts: dict[str, Contact]  # by lower-cased email

    @cached_property
    def account_by_domain(self) -> dict[str, str]:
        return {d: a.account_id for a in self.accounts.values() for d in a.domains}

    @cached_property
    def contacts_by_account(self) -> dict[str, list[Contact]]:
        out: dict[str, list[Contact]] = {}
        for c in self.contacts.values():
            out.setdefault(c.account_id, []).append(c)
        return out

    def resolve(self, email: str, domain: str) -> tuple[str | None, str | None]:
        """Return (account_id, via) for an external address; via is "contact" or "domain"."""
        contact = self.contacts.get(email)
        if contact is not None:
            return contact.account_id, "contact"
        for candidate in domain_candidates(domain):
            account_id = self.account_by_domain.get(candidate)
            if account_id is not None:
                return account_id, "domain"
        return None, None


@dataclass
class Org:
    """Everything rules may know about the sending organisation. Built once per Guard."""

    name: str
    internal_domains: tuple[str, ...]
    directory: Directory
    ledger: dict[str, Balance] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()
    # Public mailing lists the organisation's people post to: addresses, and "@host" for every
    # address on a list server. A post to one is read by the whole list, not by one customer.
    mailing_lists: frozenset[str] = frozenset()

    def is_internal_domain(self, domain: str) -> bool:
        return any(c in self.internal_domains for c in domain_candidates(domain))

    def is_listed_mailing_list(self, email: str, domain: str) -> bool:
        return email in self.mailing_lists or f"@{domain}" in self.mailing_lists

"""Find mentions of customer accounts in text: names, aliases, domains and contacts' addresses.

An index of normalised word n-grams and of domains/addresses, so a line is matched in time
proportional to its length, not to the size of the directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sendguard.message.parse import URL_RE
from sendguard.org.model import Directory, domain_candidates

WORD_RE = re.compile(r"[\w&'’]+(?:[-.][\w&]+)*", re.UNICODE)
EMAIL_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
DOMAIN_RE = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\b", re.IGNORECASE)
DOMAIN_HINT = re.compile(r"[a-z0-9]\.[a-z0-9]", re.IGNORECASE)  # a label's end, its dot, the next one's start
# List-management addresses in footers ("fork-unsubscribe@xent.com") are boilerplate, not a customer.
LIST_MANAGEMENT = re.compile(
    r"-(?:request|admin|owner|unsubscribe|subscribe|bounces)(?:[-+][^@]*)?@", re.IGNORECASE
)
MAX_NGRAM = 5


@dataclass(frozen=True)
class Mention:
    account_id: str
    start: int
    end: int
    text: str
    kind: str  # "name", "alias", "domain", "contact"


def _norm(words: list[str]) -> str:
    return " ".join(w.lower().replace("’", "'") for w in words)


class MentionIndex:
    def __init__(self, directory: Directory) -> None:
        self.terms: dict[str, tuple[str, str, bool]] = {}  # ngram -> (account_id, kind, needs capital)
        self.first_words: set[str] = set()  # first word of every term: most words start none
        for account in directory.accounts.values():
            for kind, term in [("name", account.name), *(("alias", a) for a in account.aliases)]:
                words = WORD_RE.findall(term)
                if not words:
                    continue
                # A one-word name like "Target" or "Apple" is only a mention when written as a name.
                needs_capital = len(words) == 1
                self.terms.setdefault(_norm(words), (account.account_id, kind, needs_capital))
                self.first_words.add(_norm(words[:1]))
        self.domains = dict(directory.account_by_domain)
        self.contacts = {email: c.account_id for email, c in directory.contacts.items()}

    def find(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        emails, domains, norms = self._scans(text)
        if not (emails or domains or norms):
            return found  # most lines: nothing to look up, and so no link to keep apart either
        # A link is public (a customer's website is not their business); nothing inside one is a mention.
        # Every URL has "://" or "www.".
        taken: list[tuple[int, int]] = (
            [m.span() for m in URL_RE.finditer(text)] if "." in text or "://" in text else []
        )
        for m in EMAIL_RE.finditer(text) if emails else ():
            if _overlaps(m.start(), m.end(), taken) or LIST_MANAGEMENT.search(m.group(0)):
                taken.append(m.span())
                continue
            email = m.group(0).lower()
            account_id = self.contacts.get(email) or self._domain_owner(email.rsplit("@", 1)[1])
            if account_id:
                found.append(Mention(account_id, m.start(), m.end(), m.group(0), "contact"))
            taken.append((m.start(), m.end()))
        for m in DOMAIN_RE.finditer(text) if domains else ():
            if _overlaps(m.start(), m.end(), taken):
                continue
            account_id = self._domain_owner(m.group(0).lower())
            if account_id:
                found.append(Mention(account_id, m.start(), m.end(), m.group(0), "domain"))
                taken.append((m.start(), m.end()))
        if norms:
            found += self._terms(text, norms, taken)
        return sorted(found, key=lambda mt: mt.start)

    def _scans(self, text: str) -> tuple[bool, bool, list[str] | None]:
        """(can hold an address, can hold a domain, its words normalised if one may start a name).

        Each is a necessary condition, far cheaper to test than the scan it spares: every address
        has an "@", every domain a DOMAIN_HINT, and a name starts with one of `first_words`.
        """
        emails = "@" in text
        domains = "." in text and DOMAIN_HINT.search(text) is not None
        # All words normalised at once, as _norm would one by one: the NUL between them is in no
        # word, and lower() treats it like the end of a string (even for a final sigma).
        words = WORD_RE.findall(text)
        norms = "\0".join(words).lower().replace("’", "'").split("\0") if words else []
        return emails, domains, None if self.first_words.isdisjoint(norms) else norms

    def _terms(self, text: str, norms: list[str], taken: list[tuple[int, int]]) -> list[Mention]:
        """Names and aliases in `text`, whose words normalised are `norms`: longest match first."""
        found: list[Mention] = []
        words = list(WORD_RE.finditer(text))
        i = 0
        while i < len(words):
            match = None
            if norms[i] not in self.first_words:
                i += 1
                continue
            for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
                hit = self.terms.get(" ".join(norms[i : i + n]))
                if hit is None:
                    continue
                account_id, kind, needs_capital = hit
                if needs_capital and not words[i].group(0)[:1].isupper():
                    continue
                start, end = words[i].start(), words[i + n - 1].end()
                if _overlaps(start, end, taken):
                    continue
                match = (n, Mention(account_id, start, end, text[start:end], kind))
                break
            if match:
                found.append(match[1])
                i += match[0]
            else:
                i += 1
        return found

    def _domain_owner(self, domain: str) -> str | None:
        for candidate in domain_candidates(domain):
            if candidate in self.domains:
                return self.domains[candidate]
        return None


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)

"""The greeting names someone who is not among the recipients.

Why it matters: "Dear Julia" in a mail to Peter means the text was written for someone else,
or copied from another thread, and Peter now knows it. Greetings to groups ("Hi all", "Hello
team") and to several recipients who are all addressed ("Dear Peter and Anna") are fine. A name
matches a recipient by display name, directory contact name, or the address itself
(peter.jones@... for "Peter"), ignoring case and accents, with common short forms
(Bob/Robert, Liz/Elizabeth, ...).

Bad (To: Peter Jones <peter.jones@acme.com>):
    Dear Julia,

Good:
    Dear Peter,
    Hi Peter and Anna,      (both in To/Cc)
    Hi all,
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from sendguard.message.model import Message
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, body_location

NAME = r"(?-i:(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?\s)?[A-Z][\w'’-]*(?:\s[A-Z][\w'’-]*){0,2})"
GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings|morning|hiya|howdy|bonjour|hallo)\b[ ,]+"
    rf"(?P<names>{NAME}(?:\s*(?:,|&|\band\b)\s*{NAME})*)\s*(?:[,:!.—–-].*)?$",
    re.IGNORECASE,
)
GROUP_WORDS = {
    "all", "everyone", "everybody", "team", "folks", "there", "sir", "madam", "sirs", "colleagues", "guys", "both",
    "you", "friends", "customer", "customers", "client", "valued", "support", "hiring", "manager", "y'all", "again",
    "or", "to", "whom", "it", "may", "concern", "partners", "member", "members", "user", "users", "i", "i'm", "we",
    # family and role greetings: they name a relationship or a function, not a person
    "dad", "mom", "mum", "mother", "father", "cuz", "cousin", "honey", "darling", "son", "sis", "bro", "gentlemen",
    "ladies", "colleague", "friend", "neighbor", "neighbour", "world", "administrator", "admin", "investor",
    "investors", "subscriber", "subscribers", "shareholder", "shareholders", "applicant", "participant",
    "participants", "reader", "readers", "editor", "webmaster", "student", "students", "parent", "parents",
    "owner", "owners", "supplier", "suppliers", "vendor", "vendors", "partner", "patient", "guest", "guests",
}  # fmt: skip
TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "mx", "sir", "herr", "frau", "mme", "m"}
NICKNAMES = {
    "bob": "robert", "rob": "robert", "bobby": "robert", "bill": "william", "will": "william", "liz": "elizabeth",
    "beth": "elizabeth", "betty": "elizabeth", "jim": "james", "jimmy": "james", "mike": "michael", "kate": "katherine",
    "katie": "katherine", "kathy": "katherine", "tom": "thomas", "tony": "anthony", "dave": "david", "dan": "daniel",
    "danny": "daniel", "chris": "christopher", "matt": "matthew", "nick": "nicholas", "alex": "alexander",
    "sam": "samuel", "ben": "benjamin", "joe": "joseph", "steve": "steven", "andy": "andrew", "drew": "andrew",
    "rick": "richard", "dick": "richard", "ed": "edward", "ted": "edward", "jen": "jennifer", "jenny": "jennifer",
    "sue": "susan", "pat": "patricia", "peg": "margaret", "maggie": "margaret", "meg": "margaret", "ron": "ronald",
    "greg": "gregory", "jeff": "jeffrey", "larry": "lawrence", "charlie": "charles", "chuck": "charles",
    "vicky": "victoria", "becky": "rebecca", "nate": "nathan", "abby": "abigail", "jo": "johanna", "hank": "henry",
}  # fmt: skip
SPLIT = re.compile(r"\s*(?:,|&|\band\b|\bund\b|\bet\b)\s*", re.IGNORECASE)
NAMED_LOCAL = re.compile(r"^[a-z]{2,}[._-][a-z]{2,}$", re.IGNORECASE)  # first.last: a name we can read
# Lists and role mailboxes reach people we cannot name: a greeting to anyone may be right.
ROLE_LOCAL = re.compile(
    r"(?:^|[._-])(?:list|lists|users|user|admin|info|support|sales|team|help|contact|office|all|staff|dev|devel"
    r"|discuss|announce|talk|group|members|noreply|no-reply|billing|accounts|hr|jobs|service|request)(?:$|[._-])|list$",
    re.IGNORECASE,
)
LOCAL_SPLIT = re.compile(r"[._\-+0-9]+")


def fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
    ).replace("’", "'")


def canonical(token: str) -> str:
    return NICKNAMES.get(token, token)


def _known(token: str, known: set[str]) -> bool:
    """A greeting name matches a recipient's name, its canonical form, or is a short form of it (Kim, Kimberly)."""
    if token in known or canonical(token) in known:
        return True
    return len(token) >= 3 and any(k.startswith(token) for k in known)


class GreetingMismatch(Rule):
    id = "greeting-mismatch"
    default_severity = Severity.WARN

    def check(self, msg: Message) -> Iterator[Finding]:
        line = next((ln for ln in msg.new_lines if ln.text.strip()), None)
        if line is None:
            return
        m = GREETING.match(line.text)
        if not m:
            return
        if re.match(r"[\w-]+\.[a-z]{2,}\b", line.text[m.start("names") :], re.IGNORECASE):
            return  # "Dear Amazon.com Customer": a site or company, not a person
        known = self._recipient_tokens(msg)
        if known is None:
            return  # a recipient we cannot put a name to may be the one greeted
        start = m.start("names")
        for part in SPLIT.split(m.group("names")):
            tokens = [t.strip("-'’") for t in re.split(r"[\s.]+", fold(part)) if t.strip("-'’")]
            name_tokens = [t for t in tokens if t not in TITLES]
            if (
                not name_tokens
                or any(t in GROUP_WORDS for t in name_tokens)
                or any(t.endswith("team") for t in name_tokens)
            ):
                continue
            if any(_known(t, known) for t in name_tokens):
                continue
            offset = line.text.find(part.strip(), start)
            names = ", ".join(a.display_name or a.address for a in msg.recipients if a.field in ("To", "Cc"))
            yield self.finding(
                f"The greeting addresses {part.strip()!r}, but no recipient has that name (To/Cc: {names})",
                body_location(line, offset, offset + len(part.strip()))
                if offset >= 0
                else body_location(line),
                part.strip(),
                "Check the recipients, or correct the greeting: was this text written for someone else?",
            )

    def _recipient_tokens(self, msg: Message) -> set[str] | None:
        """Name tokens of all recipients, or None when some recipient's name cannot be known."""
        tokens: set[str] = set()
        contacts = self.org.directory.contacts
        for addr in msg.recipients:
            local = addr.address.split("@", 1)[0]
            names = [addr.display_name]
            if addr.address in contacts:
                names.append(contacts[addr.address].name)
            if ROLE_LOCAL.search(local) and addr.field != "Bcc":
                return None
            if (
                addr.field != "Bcc"
                and not addr.display_name.strip()
                and addr.address not in contacts
                and not NAMED_LOCAL.match(local)
            ):
                return None
            names.append(" ".join(LOCAL_SPLIT.split(local)))
            account = self.org.directory.accounts.get(addr.account_id or "")
            if account is not None:
                names += [account.name, *account.aliases]
            for name in names:
                for token in re.split(r"[\s,.()\"']+", fold(name or "")):
                    if token:
                        tokens.add(token)
                        tokens.add(canonical(token))
        return tokens

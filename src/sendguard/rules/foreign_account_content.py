"""Text going to one customer names a different customer.

Why it matters: replies and forwards drag history along. A thread forwarded to Acme that still
quotes Northwind's complaint, or a template reused with the previous customer's name, tells one
customer about another. The check looks at new *and* quoted or forwarded text, and fires only
when the message goes to a customer account (not for internal-only mail). It names the account
that would leak and the line where it appears.

What does not count: the sender's own account, the signature (below "-- "), a mailing-list
footer, links (a customer's public website) and list-management addresses; a mailing list
among the recipients is not a customer. Quoted text that the recipient's own account wrote (its
forwarded header or attribution names them) is theirs already. In a post to a public mailing
list only new text counts (the quoted thread is already public there), and the list's own host
is part of the audience.

Bad (to peter.jones@acme.com):
    Hi Peter, as with Northwind Telecom last week, the fix ships on Friday.
    > From: julia.meyer@northwind-telecom.com

Good (to peter.jones@acme.com):
    Hi Peter, the fix for Acme ships on Friday.

Option: `ignore_accounts = ["id", ...]` for accounts that may be named freely (public
reference customers, say).
"""

from __future__ import annotations

from collections.abc import Iterator

from sendguard.message.model import BodyLine, Message, Party
from sendguard.org.mentions import MentionIndex
from sendguard.org.model import Org
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, body_location, header_location

KIND_WORDS = {
    "name": "its name",
    "alias": "its alias",
    "domain": "its domain",
    "contact": "one of its contacts",
}


class ForeignAccountContent(Rule):
    id = "foreign-account-content"
    default_severity = Severity.BLOCK
    options = {"ignore_accounts": list}

    def __init__(self, org: Org, options: dict, severity: Severity) -> None:
        super().__init__(org, options, severity)
        self.index = MentionIndex(org.directory)
        self.ignored = {str(a) for a in self.config.get("ignore_accounts", [])}

    def check(self, msg: Message) -> Iterator[Finding]:
        recipient_accounts = {
            a.account_id
            for a in msg.recipients
            if a.party is Party.ACCOUNT and a.account_id and not a.is_mailing_list
        }
        if not recipient_accounts:
            return
        # Naming yourself is not a leak: a partner or reseller sending through us signs with its own name.
        own = {msg.sender.account_id} if msg.sender is not None and msg.sender.account_id else set()
        # Nor is naming the host of a list the message is posted to: its readers are the audience.
        own |= {a.account_id for a in msg.recipients if a.account_id and a.is_public_list}
        accounts = self.org.directory.accounts
        audience = " and ".join(sorted(accounts[a].name for a in recipient_accounts))
        reported: set[tuple[str, str]] = set()
        # A list's thread is public, and a customer's own mail quoted back to them is theirs already.
        public_thread = msg.is_list_post
        lines = [
            ln
            for ln in msg.content_lines
            if not (ln.quoted and (public_thread or _written_by_recipient(ln, recipient_accounts)))
        ]
        places = [("Subject", None, msg.subject)] + [("body", ln, ln.text) for ln in lines]
        for field, line, text in places:
            for mention in self.index.find(text):
                leaked = mention.account_id
                if leaked in recipient_accounts or leaked in self.ignored or leaked in own:
                    continue
                key = (leaked, mention.text.lower())
                if key in reported:
                    continue
                reported.add(key)
                where = (
                    body_location(line, mention.start, mention.end)
                    if line
                    else header_location(field, text, mention.start, mention.end)
                )
                origin = (
                    "quoted/forwarded text"
                    if where.quoted
                    else ("the subject" if field == "Subject" else "your new text")
                )
                yield self.finding(
                    f"This goes to {audience}, but {origin} names another customer, {accounts[leaked].name} "
                    f"({KIND_WORDS[mention.kind]}: {mention.text!r})",
                    where,
                    mention.text,
                    (
                        "Cut the quoted history before sending, or forward only what this customer may see."
                        if where.quoted
                        else f"Remove the reference to {accounts[leaked].name}; check the text was not written for them."
                    ),
                )


def _written_by_recipient(line: BodyLine, recipient_accounts: set[str]) -> bool:
    """Quoting a customer's own mail back to them tells them nothing new, whoever it names."""
    author = line.quoted_from
    return author is not None and author.account_id in recipient_accounts

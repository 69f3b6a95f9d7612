"""Recipients belong to more than one customer account.

Why it matters: a reply to one customer that Cc's another discloses the first customer's
business (and usually their complaint) to a stranger, and tells the second that you mix up your
customers. It is the mistake a tired person makes by auto-completing an address, and it cannot
be undone once sent. Internal recipients never count; an address belongs to an account when it
is one of the account's contacts or its domain is one of the account's domains.

Bad:
    To: peter.jones@acme.com
    Cc: julia.meyer@northwind-telecom.com     <- a different customer

Good:
    To: peter.jones@acme.com
    Cc: anna.berg@acme.com, support@revcalc.io

Three or more accounts in one message reads as an announcement and is a warning (everyone sees
everyone's address), not a block. Mailing-list addresses (`*-users@`, `lists.*`, ...) are a
public audience, not a customer, and do not count. A post to a public mailing list (one named
in `[organization] mailing_lists`, or a list address on no customer's domain) does not fire at
all: whoever is copied on it, the whole list reads it anyway.

Option: `allowed_groups = [["acme", "northwind"]]` lists account ids that may be addressed
together (a reseller and its end customer, say).
"""

from __future__ import annotations

from collections.abc import Iterator

from sendguard.message.model import Address, Message, Party
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, header_location

BROADCAST_ACCOUNTS = 3


class CrossAccountRecipients(Rule):
    id = "cross-account-recipients"
    default_severity = Severity.BLOCK
    options = {"allowed_groups": list}

    def check(self, msg: Message) -> Iterator[Finding]:
        if msg.is_list_post:
            return
        by_account: dict[str, dict[str, Address]] = {}  # account -> address -> first header it is in
        for addr in msg.recipients:
            if addr.party is Party.ACCOUNT and addr.account_id and not addr.is_mailing_list:
                by_account.setdefault(addr.account_id, {}).setdefault(addr.address, addr)
        if len(by_account) < 2 or self._allowed(set(by_account)):
            return
        accounts = self.org.directory.accounts
        groups = "; ".join(f"{accounts[a].name} ({', '.join(addrs)})" for a, addrs in by_account.items())
        first = accounts[next(iter(by_account))].name
        # Three or more customers in one message is an announcement, not a slip of the address book:
        # still worth a warning (everyone sees everyone's address), but not a block.
        broadcast = len(by_account) >= BROADCAST_ACCOUNTS
        for account_id, addrs in list(by_account.items())[1:]:
            name = accounts[account_id].name
            for addr in addrs.values():
                if broadcast:
                    message = f"This message goes to {len(by_account)} customer accounts, who all see each other's addresses: {groups}"
                    suggestion = "Put the recipients in Bcc, or send it as a campaign, unless they are meant to see each other."
                else:
                    message = f"{addr.address} belongs to {name}, but this message also goes to {first}: recipients span two customer accounts: {groups}"
                    suggestion = f"Remove {addr.address} unless {name} is meant to read everything written to {first}; write to them separately."
                yield self.finding(
                    message,
                    header_location(addr.field, addr.address, 0, len(addr.address)),
                    f"{addr.field}: {addr.address} ({name}, matched by {addr.via})",
                    suggestion,
                    severity=Severity.WARN if broadcast else None,
                )
                if broadcast:
                    return

    def _allowed(self, account_ids: set[str]) -> bool:
        return any(account_ids <= {str(a) for a in group} for group in self.config.get("allowed_groups", []))

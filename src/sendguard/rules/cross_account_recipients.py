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

Option: `allowed_groups = [["acme", "northwind"]]` lists account ids that may be addressed
together (a reseller and its end customer, say).
"""

from __future__ import annotations

from collections.abc import Iterator

from sendguard.message.model import Address, Message, Party
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, header_location


class CrossAccountRecipients(Rule):
    id = "cross-account-recipients"
    default_severity = Severity.BLOCK
    options = {"allowed_groups": list}

    def check(self, msg: Message) -> Iterator[Finding]:
        by_account: dict[str, list[Address]] = {}
        for addr in msg.recipients:
            if addr.party is Party.ACCOUNT and addr.account_id:
                by_account.setdefault(addr.account_id, []).append(addr)
        if len(by_account) < 2 or self._allowed(set(by_account)):
            return
        accounts = self.org.directory.accounts
        groups = [
            f"{accounts[a].name} ({', '.join(x.address for x in addrs)})" for a, addrs in by_account.items()
        ]
        first_account = next(iter(by_account))
        for account_id, addrs in list(by_account.items())[1:]:
            for addr in addrs:
                yield self.finding(
                    f"{addr.address} belongs to {accounts[account_id].name}, but this message also goes to "
                    f"{accounts[first_account].name}: recipients span {len(by_account)} customer accounts: "
                    + "; ".join(groups),
                    header_location(addr.field, addr.address, 0, len(addr.address)),
                    f"{addr.field}: {addr.address} ({accounts[account_id].name}, matched by {addr.via})",
                    f"Remove {addr.address} unless {accounts[account_id].name} is meant to read everything "
                    f"written to {accounts[first_account].name}; write to them separately.",
                )

    def _allowed(self, account_ids: set[str]) -> bool:
        return any(account_ids <= {str(a) for a in group} for group in self.config.get("allowed_groups", []))

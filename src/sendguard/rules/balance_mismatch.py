"""The text states what the customer owes, and it is not what the ledger says.

Why it matters: a payment reminder once said $400 when the customer owed $9. A wrong balance
in a dunning mail is at best an apology and a correction to everyone who got it, at worst a
customer who pays the wrong amount or leaves. The check reads the author's new text for balance
claims ("outstanding balance of", "amount due", "you owe", "past due", ...) and compares the
amount with the recipient account's balance in the ledger, currency aware. Other amounts —
credits, refunds, prices, payments received — are not balance claims.

Bad (ledger: Acme Corp owes USD 9.00):
    Your outstanding balance of $400.00 is now past due.

Good:
    Your outstanding balance of $9.00 is now past due. A credit of $400 was applied last month.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from sendguard.message.model import Amount, BodyLine, Message, Party
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, body_location

CLAIM_BEFORE = re.compile(
    r"(?:outstanding|remaining|unpaid|open|current|overdue|past[- ]due|total|account) (?:balance|amount|total)"
    r"|balance (?:of|is|due|owed|owing|outstanding|stands at|remains)|\bbalance:"
    r"|(?:amount|total|sum|payment) (?:due|owed|owing|outstanding|payable|overdue)|\bdue (?:amount|balance)"
    r"|you (?:still |currently )?owe(?: us)?|(?:still |currently )?owing|outstanding (?:invoices? )?(?:of|totals?|amounts? to)"
    r"|(?:invoice|payment) (?:of|for) (?=\S*\d)(?=[^.]*\b(?:is|are|was|remains) (?:now )?(?:due|overdue|past due|outstanding|unpaid))"
    r"|(?:please|kindly) (?:pay|remit|settle)|(?:pay|remit|settle) the (?:outstanding|remaining|full|total|due) (?:balance|amount)",
    re.IGNORECASE,
)
CLAIM_AFTER = re.compile(
    r"^\W{0,3}(?:is|are|remains?|was) (?:still |now )?(?:due|overdue|past due|outstanding|unpaid|owed|owing)|^\s*(?:outstanding|overdue|past due|owed|owing|due)\b",
    re.IGNORECASE,
)
NOT_A_CLAIM = re.compile(
    r"\b(?:credit(?:ed)?|refund(?:ed)?|discount|price|pricing|costs?|fee|per (?:month|year|user|seat)|/mo\b|/month|saving|paid|received|payment of [^ ]+ (?:was|has been) received)",
    re.IGNORECASE,
)
WINDOW = 60


def balance_claims(text: str, amounts: list[Amount]) -> list[Amount]:
    """Amounts on this line that are stated as what the reader owes."""
    claims = []
    for amount in amounts:
        before = text[max(0, amount.start - WINDOW) : amount.start]
        after = text[amount.end : amount.end + 40]
        # The nearest clause only: "refund of $10; your balance is $9" must judge each amount alone.
        before = re.split(r"[.;!?]\s|,\s(?:and|but)\s", before)[-1]
        after = re.split(r"[.;!?](?:\s|$)", after)[0]
        if not (CLAIM_BEFORE.search(before) or CLAIM_AFTER.search(after)):
            continue
        if NOT_A_CLAIM.search(before[-30:]) or NOT_A_CLAIM.search(after[:25]):
            continue
        claims.append(amount)
    return claims


class BalanceMismatch(Rule):
    id = "balance-mismatch"
    default_severity = Severity.BLOCK

    def check(self, msg: Message) -> Iterator[Finding]:
        accounts = list(
            dict.fromkeys(
                a.account_id for a in msg.recipients if a.party is Party.ACCOUNT and a.field != "Bcc"
            )
        )
        if not accounts or not msg.amounts:
            return
        by_line: dict[int, list[Amount]] = {}
        for amount in msg.amounts:
            if not amount.quoted:
                by_line.setdefault(amount.line, []).append(amount)
        for line in msg.new_lines:
            for claim in balance_claims(line.text, by_line.get(line.number, [])):
                yield from self._compare(claim, line, accounts)

    def _compare(self, claim: Amount, line: BodyLine, accounts: list[str | None]) -> Iterator[Finding]:
        directory = self.org.directory.accounts
        for account_id in accounts:
            assert account_id is not None
            name = directory[account_id].name
            balance = self.org.ledger.get(account_id)
            where = body_location(line, claim.start, claim.end)
            if balance is None:
                yield self.finding(
                    f"The text states a balance of {claim.text} for {name}, but the ledger has no balance for this account",
                    where,
                    claim.text,
                    f"Check the amount against billing before sending; add {name} to the ledger so it can be verified.",
                    severity=Severity.INFO,
                )
                continue
            if claim.currency != balance.currency:
                message = f"The text states a balance of {claim.text} ({claim.currency}), but {name}'s ledger balance is in {balance.currency}: {_money(balance.amount, balance.currency)}"
            elif claim.value != balance.amount:
                message = f"The text states a balance of {claim.text}, but {name}'s ledger balance is {_money(balance.amount, balance.currency)}"
            else:
                continue
            yield self.finding(
                message,
                where,
                claim.text,
                f"Use the ledger balance ({_money(balance.amount, balance.currency)}), or fix the ledger first if it is out of date.",
            )


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"

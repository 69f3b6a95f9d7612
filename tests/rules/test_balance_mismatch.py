import pytest

from rules_support import Case, assert_fires, assert_quiet
from sendguard.report import Severity

RULE = "balance-mismatch"
ACME = "peter.jones@acme.com"  # ledger: USD 9.00

TRIGGERS = [
    Case(
        "outstanding-balance",
        dict(to=ACME, body="Dear Peter,\nYour outstanding balance of $400.00 is past due.\n"),
        "USD 9.00",
    ),
    Case("amount-due", dict(to=ACME, body="Dear Peter,\nAmount due: $400\n"), "$400"),
    Case("you-owe", dict(to=ACME, body="Dear Peter,\nYou currently owe us $12.50.\n"), "$12.50"),
    Case("amount-then-due", dict(to=ACME, body="Dear Peter,\nThe $90 is now overdue.\n"), "$90"),
    Case("currency", dict(to=ACME, body="Dear Peter,\nYour balance is €9.00.\n"), "EUR"),
    Case(
        "northwind-thousands",
        dict(
            to="julia.meyer@northwind-telecom.com",
            body="Hi Julia,\nThe remaining balance of $12,000.00 is due Friday.\n",
        ),
        "12,400.00",
    ),
    Case(
        "eur-ledger-comma-decimal",
        dict(
            to="bill.lumbergh@initech.com",
            body="Hi Bill,\nDer offene Betrag: the amount due is 1.204,50 EUR.\n",
        ),
        "1,240.50",
    ),
]
NEAR_MISSES = [
    Case("correct", dict(to=ACME, body="Dear Peter,\nYour outstanding balance is $9.00.\n")),
    Case("correct-without-cents", dict(to=ACME, body="Dear Peter,\nYou owe $9.\n")),
    Case("credit", dict(to=ACME, body="Dear Peter,\nA credit of $400.00 was applied.\n")),
    Case("price", dict(to=ACME, body="Dear Peter,\nThe Pro plan costs $400 per month.\n")),
    Case(
        "refund-then-correct-balance",
        dict(to=ACME, body="Dear Peter,\nWe refunded $400; your balance is $9.00.\n"),
    ),
    Case("paid", dict(to=ACME, body="Dear Peter,\nThank you, we received your payment of $400.\n")),
    Case(
        "quoted",
        dict(
            to=ACME,
            body="Noted.\n\nOn Mon, Peter <peter.jones@acme.com> wrote:\n> You said the balance is $400.\n",
        ),
    ),
    Case("internal", dict(to="dana@revcalc.io", body="Acme's outstanding balance is $400.\n")),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    found = assert_fires(RULE, case)
    assert all(f.severity == Severity.BLOCK for f in found)


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)


def test_account_without_ledger_entry_is_info_only() -> None:
    found = assert_fires(
        RULE,
        Case(
            "hooli", dict(to="gavin.belson@hooli.xyz", body="Hi Gavin,\nYour outstanding balance is $50.\n")
        ),
    )
    assert found[0].severity == Severity.INFO and "no balance" in found[0].message

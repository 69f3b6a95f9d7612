import pytest

from rules_support import Case, assert_fires, assert_quiet
from sendguard.report import Severity

RULE = "apology-quality"
SAM = "Sam Carter <sam.carter@revcalc.io>"

TRIGGERS = [
    Case(
        "form-letter",
        dict(
            sender="Support <support@revcalc.io>",
            body="Dear customer,\nWe apologise for any inconvenience caused.\n\nThe Support Team\n",
        ),
        "named person",
    ),
    Case(
        "no-plan",
        dict(sender=SAM, body="Hi Peter,\nSorry about the outage, and thank you for your patience.\n\nSam\n"),
        "plan or date",
    ),
    Case(
        "no-thanks",
        dict(
            sender=SAM, body="Hi Peter,\nSorry about the outage. I will send the report by Friday.\n\nSam\n"
        ),
        "thank-you",
    ),
]
NEAR_MISSES = [
    Case(
        "complete",
        dict(
            sender=SAM,
            body="Hi Peter,\nI'm sorry for the outage, and thank you for your patience.\nI will send the incident report by Wednesday.\n\nSam Carter\n",
        ),
    ),
    Case("no-apology", dict(sender=SAM, body="Hi Peter,\nThe report is ready.\n\nSam\n")),
    Case(
        "quoted-apology",
        dict(
            sender=SAM, body="Noted.\n\nOn Mon, Peter <peter.jones@acme.com> wrote:\n> Sorry for the delay.\n"
        ),
    ),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    found = assert_fires(RULE, case)
    assert found[0].severity == Severity.INFO


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)

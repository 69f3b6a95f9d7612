import pytest

from rules_support import Case, assert_fires, assert_quiet

RULE = "greeting-mismatch"
PETER = "Peter Jones <peter.jones@acme.com>"

TRIGGERS = [
    Case("wrong-name", dict(to=PETER, body="Dear Julia,\nHere is the schedule.\n"), "Julia"),
    Case(
        "one-of-two-wrong",
        dict(to=PETER, cc="Anna Berg <anna.berg@acme.com>", body="Hi Peter and Maria,\nUpdate below.\n"),
        "Maria",
    ),
    Case("greeting-then-text", dict(to=PETER, body="Hi Julia, thanks for the call.\n"), "Julia"),
    Case("title-surname", dict(to=PETER, body="Dear Ms Meyer,\nThank you.\n"), "Meyer"),
]
NEAR_MISSES = [
    # A mailing list reaches people we cannot name (SpamAssassin ham, easy-ham-1/…eeb4cd901867d74f5676c85809.txt)
    Case("mailing-list", dict(to="Exmh Users <exmh-users@redhat.com>", body="Hi, Ben,\nTry the patch.\n")),
    # Seen on real mail (Enron corpus: buy-r/inbox/329., 424., grigsby-m/inbox/26., watson-k/paris/8.)
    Case(
        "dashes-after-name",
        dict(to="Rick Buy <rick.buy@acme.com>", body="Hi, Rick---If you don't mind, join us.\n"),
    ),
    Case("family", dict(to=PETER, body="Hey Dad. I know you're busy.\n")),
    Case("role", dict(to=PETER, body="Dear Amazon.com Customer,\nYour order shipped.\n")),
    Case("role-word", dict(to=PETER, body="Dear Investor,\nOur results are in.\n")),
    Case(
        "short-form",
        dict(to="Kimberly Watson <kimberly.watson@acme.com>", body="Hi Kim,\nSee you in Paris.\n"),
    ),
    Case("right-name", dict(to=PETER, body="Dear Peter,\nHere is the schedule.\n")),
    Case(
        "both-addressed",
        dict(to=PETER, cc="Anna Berg <anna.berg@acme.com>", body="Dear Peter and Anna,\nUpdate below.\n"),
    ),
    Case("group", dict(to=PETER, body="Hi all,\nUpdate below.\n")),
    Case("team", dict(to=PETER, body="Hello Acme team,\nUpdate below.\n")),
    Case("nickname", dict(to="Robert Lindqvist <bob.lindqvist@gmail.com>", body="Hi Bob,\nUpdate below.\n")),
    Case("name-from-address", dict(to="peter.jones@acme.com", body="Hi Peter,\nUpdate below.\n")),
    Case(
        "contact-name-from-directory",
        dict(to="julia.meyer@northwind-telecom.com", body="Dear Ms Meyer,\nThanks.\n"),
    ),
    Case("unknowable-recipient", dict(to="pj77@acme.com", body="Hi Julia,\nUpdate below.\n")),
    Case("accent", dict(to="Renée Dubois <renee.dubois@acme.com>", body="Bonjour Renee,\nMerci.\n")),
    Case("no-greeting", dict(to=PETER, body="Julia asked me to send you the schedule.\n")),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    assert_fires(RULE, case)


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)

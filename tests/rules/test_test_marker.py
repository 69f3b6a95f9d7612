import pytest

from rules_support import Case, assert_fires, assert_quiet

RULE = "test-marker"

TRIGGERS = [
    Case("todo-note", dict(body="Hi Peter,\nTODO: add the pricing table\n"), "TODO"),
    Case("amount-placeholder", dict(body="Hi Peter,\nYour renewal is $XXX per year.\n"), "$XXX"),
    Case("brace-test-subject", dict(subject="{Test} Your purchase"), "{Test}"),
    Case("bracket-test-subject", dict(subject="[TEST] Renewal"), "[TEST]"),
    Case("draft-subject", dict(subject="DRAFT: pricing update"), "DRAFT"),
    Case("lorem", dict(body="Hi Peter,\nLorem ipsum dolor sit amet.\n"), "Lorem ipsum"),
    Case("do-not-send", dict(body="Hi Peter,\nDO NOT SEND - waiting for legal.\n"), "DO NOT SEND"),
    Case(
        "do-not-send-yet",
        dict(body="Hi Peter,\nThe numbers below are final (do not send yet).\n"),
        "do not send",
    ),
    Case(
        "staging-link",
        dict(body="Hi Peter,\nLog in at https://staging.revcalc.io/login\n"),
        "staging.revcalc.io",
    ),
    Case("localhost-link", dict(body="Hi Peter,\nOpen http://localhost:8080/report\n"), "localhost"),
    Case("private-ip", dict(body="Hi Peter,\nDownload from http://10.0.3.17/files/q3.pdf\n"), "10.0.3.17"),
    Case(
        "html-only-link",
        dict(body="Hi Peter", html='<p>Hi Peter, <a href="https://app-dev.revcalc.io/x">open</a></p>'),
        "app-dev",
    ),
    Case("test-send-sentence", dict(body="This is a test email, please ignore.\n"), "test"),
]
NEAR_MISSES = [
    # Seen in SpamAssassin ham (exmh list): TODO in code and file names, package names
    Case(
        "todo-in-code",
        dict(body="Hi Peter,\n   # TODO -- open DNS cache etc.\nI'll add it to the exmh.TODO file.\n"),
    ),
    Case("package-name", dict(body="Hi Peter,\nTest-Simple-0.44 is on CPAN.\n")),
    # Seen on real mail (Enron corpus, south-s/all_documents/4., stokley-c/.../mrkt_info/17., lewis-a/inbox/78.)
    Case(
        "draft-as-status-word",
        dict(body='Hi Peter,\nHighlight the "BID IN DRAFT STATUS" that you want to submit.\n'),
    ),
    Case(
        "draft-document-announced",
        dict(subject="Revised DRAFT ISO Charge Matrix and Statement File Specification"),
    ),
    Case("masked-phone", dict(body="Hi Peter,\nCall 1-413-644-XXXX (fax).\n")),
    Case(
        "test-results",
        dict(subject="Your test results", body="Hi Peter,\nThe test plan and test results are ready.\n"),
    ),
    Case("draft-contract", dict(body="Hi Peter,\nI'll send a draft contract tomorrow.\n")),
    Case(
        "internal-recipient",
        dict(to="dana@revcalc.io", subject="[DRAFT] reply", body="https://staging.revcalc.io\n"),
    ),
    Case("please-dont-send-me", dict(body="Hi Peter,\nPlease don't send faxes any more.\n")),
    Case("please-do-not-send-me", dict(body="Hi Peter,\nPlease do not send me paper invoices.\n")),
    Case(
        "production-link",
        dict(body="Hi Peter,\nLog in at https://app.revcalc.io/login or https://devpost.com/x\n"),
    ),
    Case(
        "quoted-marker",
        dict(
            body="Done.\n\nOn Mon, Dana <dana@revcalc.io> wrote:\n> [DRAFT] see https://staging.revcalc.io\n"
        ),
    ),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    assert_fires(RULE, case)


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)


def test_configured_internal_host(tmp_path) -> None:
    from support import example_guard

    g = example_guard(tmp_path, test_marker={"internal_hosts": ["wiki.revcalc.io"]})
    assert_fires(RULE, Case("wiki", dict(body="Hi Peter,\nsee https://wiki.revcalc.io/runbook\n")), g)

import pytest

from rules_support import Case, assert_fires, assert_quiet

RULE = "foreign-account-content"

TRIGGERS = [
    Case(
        "names-other-account",
        dict(body="Hi Peter,\nAs with Northwind Telecom last week, the fix ships Friday.\n"),
        "Northwind Telecom",
    ),
    Case("alias", dict(body="Hi Peter,\nGlobex had the same problem.\n"), "Globex"),
    Case(
        "other-domain",
        dict(body="Hi Peter,\nWe set this up for umbrella-health.com last week.\n"),
        "umbrella-health.com",
    ),
    Case(
        "quoted-forward",
        dict(
            body="Hi Peter, see below.\n\n---------- Forwarded message ---------\nFrom: julia.meyer@northwind-telecom.com\nOur export is broken.\n"
        ),
        "quoted/forwarded",
    ),
    Case("subject", dict(subject="Initech renewal", body="Hi Peter,\nHere it is.\n"), "Initech"),
    # The near-miss above, but the quoted mail is another customer's: that is the leak.
    Case(
        "quoting-another-customers-mail",
        dict(
            body="See you Friday.\n\n-----Original Message-----\nFrom: julia.meyer@northwind-telecom.com\n"
            "To: peter.jones@acme.com\nSubject: Drinks\n\nCome by at 9.\n"
        ),
        "Northwind Telecom",
    ),
    # A public list post is public, but what you newly write about another customer still leaks.
    Case(
        "list-post-new-text",
        dict(
            to="saas-billing@groups.io",
            cc="peter.jones@acme.com",
            body="Peter, Northwind Telecom hit the same export bug last week.\n",
        ),
        "your new text",
    ),
]
NEAR_MISSES = [
    # Seen in SpamAssassin ham: public links and list footers (easy-ham-1/00163…, 00002…)
    Case(
        "public-link",
        dict(body="Hi Peter,\nSee https://www.umbrella-health.com/news/outage for their write-up.\n"),
    ),
    Case(
        "list-management-address",
        dict(body="Hi Peter,\nTo leave, write to initech-unsubscribe@initech.com\n"),
    ),
    Case("own-account", dict(body="Hi Peter,\nThe Acme Corp export is fixed; see acme.com/status.\n")),
    Case("internal-only", dict(to="dana@revcalc.io", body="Northwind Telecom and Globex both asked.\n")),
    Case("common-word-lowercase", dict(body="Hi Peter,\nwe want to hooli around a bit.\n")),
    Case("partial-word", dict(body="Hi Peter,\nThe Northwinds of change.\n")),
    # Seen in SpamAssassin ham: a list reply quoting an earlier poster's attribution
    # (easy-ham-1/00128…, fork@xent.com): the quoted thread is already public on the list.
    # From Enron (random-sample/taylor-m/sent/104.): a reply quoting the recipient's own
    # invitation, whose forwarded header lists the other guests.
    Case(
        "quoting-the-recipients-own-mail",
        dict(
            body="See you Friday.\n\n-----Original Message-----\nFrom: peter.jones@acme.com\n"
            "To: julia.meyer@northwind-telecom.com, dana@revcalc.io\nSubject: Drinks\n\nCome by at 9.\n"
        ),
    ),
    # Seen in SpamAssassin ham: a post to rpm-list@freshrpms.net saying "put it in freshrpms.net"
    # (easy-ham-1/01291…): the list's own host is the audience, not another customer.
    Case(
        "list-post-names-list-host",
        dict(
            to="peter.jones@acme.com",
            cc="dev@lists.initech.com",
            body="Peter, this belongs on the Initech forum at initech.com, not here.\n",
        ),
    ),
    Case(
        "list-post-quoted-thread",
        dict(
            to="saas-billing@groups.io",
            cc="peter.jones@acme.com",
            body="Agreed, Peter.\n\nOn Tue, 3 Sep 2002, julia.meyer@northwind-telecom.com wrote:\n> exports time out\n",
        ),
    ),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    assert_fires(RULE, case)


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)


def test_says_which_account_and_line() -> None:
    (f,) = assert_fires(RULE, TRIGGERS[0])
    assert f.location.field == "body" and f.location.line == 2
    assert f.location.text[f.location.start : f.location.end] == "Northwind Telecom"
    assert "Acme Corp" in f.message


def test_signature_and_list_footer_do_not_count() -> None:
    body = "Hi Peter,\nThe fix ships Friday.\n-- \nSam, formerly of Globex Logistics\n"
    assert_quiet(RULE, Case("signature", dict(body=body)))
    footer = "Hi Peter,\nThe fix ships Friday.\n\n_______________________________________________\nusers mailing list\nhttps://lists.initech.com/mailman/listinfo/users\n"
    assert_quiet(RULE, Case("list-footer", dict(body=footer)))


def test_senders_own_account_is_not_foreign() -> None:
    """A partner (an account itself) writing to another customer through us signs with its own name."""
    case = Case(
        "partner",
        dict(sender="Maria Garcia <maria.garcia@globex.com>", body="Hi Peter,\nGlobex will install it.\n"),
    )
    assert_quiet(RULE, case)

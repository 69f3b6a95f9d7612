import pytest

from rules_support import Case, assert_fires, assert_quiet
from support import example_guard

RULE = "cross-account-recipients"

TRIGGERS = [
    Case(
        "cc-other-customer",
        dict(to="peter.jones@acme.com", cc="julia.meyer@northwind-telecom.com"),
        "Northwind Telecom",
    ),
    Case(
        "bcc-other-customer",
        dict(to="peter.jones@acme.com", bcc="maria.garcia@globex.com"),
        "Globex Logistics",
    ),
    Case(
        "contact-on-free-mail",
        dict(to="peter.jones@acme.com", cc="bob.lindqvist@gmail.com"),
        "Globex Logistics",
    ),
    Case(
        "second-domain-of-account",
        dict(to="anyone@nwtel.co.uk", cc="alice.wong@umbrella-health.com"),
        "Umbrella Health",
    ),
    # A list on a customer's own domain is that customer's distribution list, not the public.
    Case(
        "customer-distribution-list-is-not-public",
        dict(to="peter.jones@acme.com", cc=["it-users@acme.com", "julia.meyer@northwind-telecom.com"]),
        "Northwind Telecom",
    ),
]
NEAR_MISSES = [
    Case("same-account-two-domains", dict(to="peter.jones@acme.com", cc="someone@acme-corp.co.uk")),
    Case("internal-cc", dict(to="peter.jones@acme.com", cc=["dana@revcalc.io", "support@revcalc.io"])),
    Case("unknown-external", dict(to="peter.jones@acme.com", cc="consultant@example.org")),
    Case("gmail-non-contact", dict(to="peter.jones@acme.com", cc="someone.else@gmail.com")),
    # Seen in SpamAssassin ham: replies to two posters with the list in copy (easy-ham-1/00028…,
    # fork@xent.com): the whole list reads it, so copying both posters discloses nothing.
    Case(
        "post-to-configured-public-list",
        dict(
            to="saas-billing@groups.io",
            cc=["peter.jones@acme.com", "julia.meyer@northwind-telecom.com"],
        ),
    ),
    Case(
        "post-to-list-server",
        dict(to="billing@lists.saas-forum.org", cc=["peter.jones@acme.com", "maria.garcia@globex.com"]),
    ),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    found = assert_fires(RULE, case)
    assert "Acme Corp" in found[0].message or "Northwind" in found[0].message


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)


def test_finding_names_both_accounts_and_addresses() -> None:
    (f,) = assert_fires(RULE, TRIGGERS[0])
    assert "peter.jones@acme.com" in f.message and "julia.meyer@northwind-telecom.com" in f.message
    assert f.location.field == "Cc"


def test_allowed_group(tmp_path) -> None:
    g = example_guard(tmp_path, cross_account_recipients={"allowed_groups": [["acme", "northwind"]]})
    assert_quiet(RULE, TRIGGERS[0], g)
    assert_fires(RULE, TRIGGERS[1], g)


def test_three_accounts_is_a_broadcast_warning() -> None:
    from sendguard.report import Severity

    case = Case(
        "broadcast",
        dict(to="peter.jones@acme.com", cc=["julia.meyer@northwind-telecom.com", "maria.garcia@globex.com"]),
    )
    found = assert_fires(RULE, case)
    assert len(found) == 1 and found[0].severity == Severity.WARN and "Bcc" in found[0].suggestion


def test_same_address_in_cc_and_bcc_is_one_finding() -> None:
    case = Case(
        "dup",
        dict(
            to="peter.jones@acme.com",
            cc="julia.meyer@northwind-telecom.com",
            bcc="julia.meyer@northwind-telecom.com",
        ),
    )
    assert len(assert_fires(RULE, case)) == 1


def test_mailing_list_is_not_a_customer() -> None:
    """Seen in SpamAssassin ham: a reply to a poster with the list in copy (easy-ham-1/01628…)."""
    assert_quiet(RULE, Case("list", dict(to="peter.jones@acme.com", cc="initech-users@initech.com")))
    assert_quiet(RULE, Case("list-host", dict(to="peter.jones@acme.com", cc="dev@lists.initech.com")))


def test_unlisted_list_address_is_a_customer_when_configured_lists_are_empty(tmp_path) -> None:
    """Without the [organization] mailing_lists entry, groups.io is just an unknown domain's person."""
    import shutil

    import sendguard
    from support import EXAMPLE_ORG

    org = tmp_path / "org"
    shutil.copytree(EXAMPLE_ORG, org)
    config = org / "sendguard.toml"
    config.write_text(config.read_text().replace('mailing_lists = ["saas-billing@groups.io"]', ""))
    assert_fires(
        RULE,
        Case(
            "no-longer-a-list",
            dict(
                to="saas-billing@groups.io", cc=["peter.jones@acme.com", "julia.meyer@northwind-telecom.com"]
            ),
        ),
        sendguard.load(config),
    )

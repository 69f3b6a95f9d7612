"""The fast path is the full check: for every recipient of a sample audience, the rules the fast
path reports (template findings that apply to this recipient, plus its per-recipient findings)
are exactly the rules `Guard.check` reports on that recipient's message rendered by Jinja."""

from __future__ import annotations

import random

import pytest
from campaign_support import THANKS, batch, customer, org, plan, write_template

# Recipients chosen to make every core rule fire through a merge value or the recipient, and not fire.
SAMPLE = [
    customer("peter.jones@acme.com", "Peter", company="Acme Corp", balance="9.00"),
    customer("anna.berg@acme.com", "Anna", company="Acme Corp", balance="400.00"),  # wrong balance
    customer("bill.lumbergh@initech.com", "Bill", company="Initech", balance="1240.50"),  # $ but EUR ledger
    customer("bill.l@initech.com", "Bill", company="Initech", balance="1.240,50"),  # EUR style number
    customer("julia.meyer@northwind-telecom.com", "Julia", company="Northwind Telecom", balance="12,400.00"),
    customer("tom.okafor@nwtel.co.uk", "Tom", company="Northwind", balance="12400"),
    customer("maria.garcia@globex.com", "Maria", company="Acme Corp"),  # names another customer
    customer("ops@mail.globex.com", "Ops", company="Globex Logistics"),  # subdomain of an account
    customer("someone@gmail.com", "Sam", company="your home"),  # unknown: no balance check
    customer("sam.carter@revcalc.io", "[TEST]", company="RevCalc"),  # internal: test markers do not count
    customer("lee@gmail.com", "[TEST]", company="your home"),  # test marker from the data
    customer("kim@gmail.com", "*|FNAME|*", company="your home"),  # placeholder in the data
    customer("jo@gmail.com", "Jo", company="{{ company }}"),
    customer("ann@gmail.com", "Ann", company="https://staging.revcalc.io/x"),  # test host from the data
    customer("pat@gmail.com", "Pat", company="IDIOTS AND LIARS"),  # shouting/insult from the data
    customer("zed@gmail.com", "Zed", company="lorem ipsum dolor sit amet"),
    customer("ned@gmail.com", "Ned", company="TODO"),
    customer("R2D2@gmail.com", "R2D2", company="Shop 42"),
    customer("x@acrne.com", "Xi", company="Acme Corp"),  # lookalike of acme.com
    customer("  Anna.Berg@ACME.com ", "Anna", company="Acme Corp", balance="9.00"),
    customer("line@gmail.com", "Li\nDRAFT", company="your home"),  # a value that adds a line
    customer("empty@acme.com", "", company="Acme Corp", balance="9.00"),
    customer("peter.jones@acme.com", "Julia", company="Acme Corp", balance="9.00"),
]

GREETING_ONLY = """From: RevCalc <news@revcalc.io>
To: <{{ email }}>
Subject: A note for {{ company }}
Content-Type: text/plain; charset=utf-8

Dear {{ first_name }},

We apologise for the outage last week; your balance of $9.00 is unchanged.
--\x20
RevCalc
"""

WITH_HTML = """From: RevCalc <news@revcalc.io>
To: {{ first_name }} <{{ email }}>
Cc: anna.berg@acme.com
Subject: Your SecureHome Plus order
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Hi {{ first_name }},

Your order for {{ company }} ships today. Amount due: ${{ balance }}.

--b
Content-Type: text/html; charset=utf-8

<p>Hi {{ first_name }},</p>
<p>Your order for <b>{{ company }}</b> ships today. Amount due: ${{ balance }}.</p>
<p><a href="https://app.revcalc.io/orders?for={{ company }}">Track it</a>
<img src="https://cdn.revcalc.io/{{ last_name }}.png" alt="{{ first_name }}"></p>
--b--
"""


@pytest.mark.parametrize(
    "template", [THANKS, GREETING_ONLY, WITH_HTML], ids=["thanks", "greeting", "html-cc"]
)
def test_fast_path_reports_the_rules_of_the_full_check(tmp_path, template):
    p = plan(org(tmp_path), write_template(tmp_path, template))
    rows = batch(SAMPLE)
    fast = p.row_findings(rows)
    fired_somewhere: set[str] = set()
    for i, values in enumerate(SAMPLE):
        email = values["email"].strip().lower()
        internal = p.org.is_internal_domain(email.rsplit("@", 1)[1])
        expected = {f.rule for f in p.full_findings(values)}
        got = p.template_rule_ids(not internal) | {f.rule for f in fast[i]}
        assert got == expected, f"row {i} {values}"
        fired_somewhere |= {f.rule for f in fast[i]}
    # The sample must exercise the per-recipient path, or the comparison proves little.
    assert {"balance-mismatch", "test-marker", "unresolved-placeholder"} <= fired_somewhere


def test_sample_covers_recipient_rules(tmp_path):
    """The greeting and cross-account checks fire through the recipient, not the template."""
    p = plan(org(tmp_path), write_template(tmp_path, GREETING_ONLY))
    fast = p.row_findings(batch(SAMPLE))
    assert "greeting-mismatch" in {f.rule for f in fast[-1]}  # "Dear Julia" to peter.jones@acme.com
    assert "greeting-mismatch" not in {f.rule for f in fast[0]}  # "Dear Peter"
    p = plan(org(tmp_path), write_template(tmp_path, WITH_HTML, "html.eml"))
    fast = p.row_findings(batch(SAMPLE))
    assert "cross-account-recipients" in {f.rule for f in fast[4]}  # Julia (Northwind) with Cc Anna (Acme)
    assert "cross-account-recipients" not in {f.rule for f in fast[0]}  # Peter and Anna are both Acme


QUOTING = """From: RevCalc <news@revcalc.io>
To: <{{ email }}>
Subject: Re: your order
Content-Type: text/plain; charset=utf-8

Hi {{ first_name }},

Your order ships today.

On Mon, 23 Nov 2026, {{ first_name }} wrote:
> Where is my order, {{ first_name }} here?
"""


def test_a_merge_tag_in_quoted_text_is_checked_in_full(tmp_path):
    """A value in the quoted text is a word 'the conversation uses', so the full check does not
    report it in the new text; the fast path, one site at a time, would."""
    p = plan(org(tmp_path), write_template(tmp_path, QUOTING))
    rows = [customer("z@gmail.com", "recieve"), customer("q@gmail.com", "Kim")]
    result = p.check_batch(batch(rows))
    assert result.checked_in_full == 2
    for row, found in zip(rows, p.row_findings(batch(rows)), strict=True):
        assert {f.rule for f in found} == {f.rule for f in p.full_findings(row)}
    assert "spelling" not in {f.rule for f in p.full_findings(rows[0])}


def test_values_that_change_the_message_shape_are_checked_in_full(tmp_path):
    p = plan(org(tmp_path), write_template(tmp_path, THANKS))
    result = p.check_batch(batch(SAMPLE))
    assert result.checked_in_full == 1  # "Li\nDRAFT": the value adds a line
    assert result.samples["test-marker"][:1] == ["lee@gmail.com"]


PIECES = [
    "Peter", "Anna", "Julia", "Acme Corp", "Northwind", "Northwind Telecom", "NWTel", "Globex", "Initech",
    "acme.com", "peter.jones@acme.com", "[TEST]", "{Test}", "DRAFT", "TODO", "*|FNAME|*", "{{ x }}", "%%Name%%",
    "lorem ipsum", "please ignore this email", "https://staging.revcalc.io/a", "www.dev.revcalc.io", "$400.00",
    "9.00", "12,400.00", "1.240,50", "€9", "balance is $5", "owe us $3", "attached", "please find attached the",
    "sorry", "IDIOTS", "you are stupid", "!!!", "O'Brien", "Zoë", "José", "Dr.", "Mr Smith", "and", ",", ".",
    "&", "<b>", "'", '"', "12345", "R2D2", "a1b2c3d4e5f6g7", " ", "Jr.", "team", "all", "Dear Julia", "recieve",
]  # fmt: skip
EMAILS = [
    "peter.jones@acme.com", "anna.berg@acme.com", "julia.meyer@northwind-telecom.com", "tom.okafor@nwtel.co.uk",
    "x@globex.com", "y@mail.globex.com", "bill.lumbergh@initech.com", "sam.carter@revcalc.io", "z@gmail.com",
    "q@acrne.com", "Peter.Jones@ACME.com", "info@acme.com",
]  # fmt: skip


def test_fast_path_matches_the_full_check_on_random_values(tmp_path):
    """Values built from pieces that make rules fire (markers, tags, other customers' names, amounts,
    tone, greetings, HTML specials) in random combinations, to every kind of recipient."""
    rng = random.Random(11)

    def value() -> str:
        return " ".join(rng.choice(PIECES) for _ in range(rng.choice([0, 1, 1, 2, 3]))) or rng.choice(
            ["", "Kim"]
        )

    rows = [
        customer(
            rng.choice(EMAILS),
            value(),
            last_name=value(),
            company=value(),
            balance=rng.choice(["9.00", "400", "12,400.00", "1240.50", "", value()]),
        )
        for _ in range(120)
    ]
    fired: set[str] = set()
    for i, template in enumerate((THANKS, GREETING_ONLY, WITH_HTML)):
        p = plan(org(tmp_path / str(i)), write_template(tmp_path, template, f"{i}.eml"))
        fast = p.row_findings(batch(rows))
        for row, found in zip(rows, fast, strict=True):
            internal = p.org.is_internal_domain(row["email"].lower().rsplit("@", 1)[1])
            expected = {f.rule for f in p.full_findings(row)}
            assert p.template_rule_ids(not internal) | {f.rule for f in found} == expected, row
            fired |= expected
    assert len(fired) >= 10  # nearly every rule fired somewhere

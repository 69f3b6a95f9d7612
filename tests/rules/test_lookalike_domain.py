import pytest

from rules_support import Case, guard
from sendguard.report import Finding, Severity
from sendguard.rules import RULES
from sendguard.rules.lookalike_domain import LookalikeDomain
from support import build_message

RULE = "lookalike-domain"

TRIGGERS = [
    Case("rn-for-m", dict(to="Peter Jones <peter.jones@acrne.com>"), "Acme Corp's domain acme.com"),
    Case("letter-missing", dict(to="julia.meyer@northwind-telcom.com"), "Northwind Telecom"),
    Case("cyrillic-punycode", dict(to="peter.jones@xn--cme-5cd.com"), "punycode"),
    Case("suffix-slip", dict(to="peter.jones@acme.co"), "with .co instead of .com"),
    Case("short-name-other-suffix", dict(to="peter.jones@acme.de"), "with .de instead of .com"),
    Case("four-letter-name-one-slip", dict(to="peter.jones@acke.com"), "Acme Corp's domain acme.com"),
    Case("second-domain-other-suffix", dict(to="tom.okafor@nwtel.com"), "nwtel.co.uk"),
    Case("added-word", dict(to="accounts@acme-billing.com"), "'billing' added"),
    Case(
        "own-domain",
        dict(to="peter.jones@acme.com", cc="billing@revcalc-io.com"),
        "your own domain revcalc.io",
    ),
    Case(
        "digit-for-letter-own-domain",
        dict(to="peter.jones@acme.com", bcc="dana@revca1c.io"),
        "your own domain",
    ),
]
NEAR_MISSES = [
    Case("known-domain", dict(to="peter.jones@acme.com", cc="someone@acme-corp.co.uk")),
    Case("subdomain-of-known", dict(to="ops@mail.northwind-telecom.com")),
    Case("internal", dict(to="peter.jones@acme.com", cc="dana@revcalc.io")),
    Case("unrelated-external", dict(to="consultant@example.org")),
    Case("free-mail", dict(to="someone@gmail.com", cc=["a@hotmail.co.uk", "b@yahoo.com"])),
    Case("contact-at-odd-domain", dict(to="bob.lindqvist@gmail.com")),
    Case("short-name-one-letter-off", dict(to="info@acne.org")),  # a slip and another suffix: two changes
    Case("short-name-under-old-generic-suffix", dict(to="info@acme.org")),
]


def rule(**options: object) -> LookalikeDomain:
    return LookalikeDomain(guard().org, options, Severity.BLOCK)


def run(case: Case, **options: object) -> list[Finding]:
    return list(rule(**options).check(guard().parse(build_message(**case.message))))


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    found = run(case)
    assert len(found) == 1, [f.message for f in found]
    assert case.expect in found[0].message, found[0].message


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert run(case) == []


def test_finding_points_at_the_domain_and_suggests_the_real_address() -> None:
    (f,) = run(TRIGGERS[0])
    assert f.rule == RULE and f.severity is Severity.BLOCK
    assert f.message.startswith("peter.jones@acrne.com looks like Acme Corp's domain acme.com")
    assert "'rn' looking like 'm'" in f.message
    assert f.location.field == "To" and f.location.text == "peter.jones@acrne.com"
    assert f.location.text[f.location.start : f.location.end] == "acrne.com"
    assert f.evidence == "To: peter.jones@acrne.com (homoglyph, imitating acme.com)"
    assert f.suggestion.startswith("Did you mean peter.jones@acme.com?")
    assert "add acrne.com to Acme Corp's domains" in f.suggestion


def test_each_lookalike_recipient_is_reported_in_its_field() -> None:
    case = Case(
        "two", dict(to="peter.jones@acme.com", cc="anna.berg@acrne.com", bcc="julia@northwind-telecom.co")
    )
    found = run(case)
    assert [(f.location.field, f.location.text) for f in found] == [
        ("Cc", "anna.berg@acrne.com"),
        ("Bcc", "julia@northwind-telecom.co"),
    ]


def test_allow_list_silences_a_domain_and_its_subdomains() -> None:
    assert run(TRIGGERS[0], allow=["ACRNE.com"]) == []
    assert run(Case("sub", dict(to="x@mail.acrne.com")), allow=["acrne.com"]) == []
    assert run(TRIGGERS[1], allow=["acrne.com"]) != []


def test_allow_list_accepts_the_unicode_form_of_a_punycode_domain() -> None:
    assert run(TRIGGERS[2], allow=["\u0430cme.com"]) == []


def test_documented_like_every_rule() -> None:
    doc = LookalikeDomain.doc()
    assert LookalikeDomain.summary().startswith("A recipient's domain imitates")
    assert "Why it matters" in doc and "Bad:" in doc and "Good:" in doc
    assert LookalikeDomain.options == {"allow": list}


def test_through_the_guard_when_registered() -> None:
    if LookalikeDomain not in RULES:
        pytest.skip("lookalike-domain is not in sendguard.rules.RULES yet")
    report = guard().check(build_message(**TRIGGERS[0].message))
    assert report.verdict == "block"
    assert RULE in report.rules_fired()

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from rules_support import Case, guard
from sendguard.report import Finding, Severity
from sendguard.rules import RULES
from sendguard.rules.hostile_tone import HostileTone
from support import EXAMPLE_MESSAGES, build_message, example_guard

RULE = "hostile-tone"
KEVIN = "Kevin Marsh <kevin.marsh@revcalc.io>"
JULIA = "Julia Meyer <julia.meyer@northwind-telecom.com>"
ATTRIBUTION = "On Sun, 22 Nov 2026 at 23:10, Julia Meyer <julia.meyer@northwind-telecom.com> wrote:"
REGISTERED = any(r.id == RULE for r in RULES)

TRIGGERS = [
    Case(
        "angry-reply",
        dict(
            sender=KEVIN,
            to=JULIA,
            subject="Re: Your outage",
            body=f"Julia,\n\nThis is NOT our fault. Your people ignored the maintenance notice.\n\nKevin\n\n"
            f"{ATTRIBUTION}\n> Your service is down again.\n",
        ),
        "NOT our fault",
    ),
    Case(
        "sarcasm-above-quote",
        dict(body=f"Per my last email, the export runs at 02:00.\n\n{ATTRIBUTION}\n> When does it run?\n"),
        "Per my last email",
    ),
    Case("swearing", dict(body="Hi Peter,\n\nThe damn export failed again.\n\nSam\n"), "damn"),
    Case("masked-swearing", dict(body="Hi Peter,\n\nThis f***ing job.\n\nSam\n"), "f***ing"),
    Case(
        "shouting",
        dict(body="Hi Peter,\n\nI have ALREADY sent this TWICE.\n\nSam\n"),
        "ALREADY sent this TWICE",
    ),
    Case("exclamation", dict(body="Hi Peter,\n\nRestart it now!!!\n\nSam\n"), "!!!"),
    Case("dismissive", dict(body="Hi Peter,\n\nThat's not my problem.\n\nSam\n"), "not my problem"),
    Case("fresh-subject", dict(subject="WHY IS THIS STILL NOT FIXED", body="See below.\n"), "WHY IS THIS"),
]
NEAR_MISSES = [
    Case(
        "hostile-text-only-in-quote",
        dict(
            sender=KEVIN,
            to=JULIA,
            subject="Re: Your outage AGAIN",
            body="Hi Julia,\n\nI'm sorry for the frustration this caused; that's on us. I'll call you at 15:00.\n\n"
            f"Kevin\n\n{ATTRIBUTION}\n> Your people are idiots!!! WHY IS THIS STILL BROKEN?\n"
            "> Thanks for nothing. This is a damn disgrace.\n",
        ),
    ),
    Case(
        "hostile-text-in-outlook-original",
        dict(
            body="Hi Julia,\n\nUnderstood, and I'm sorry. The fix is live.\n\nKevin\n\n"
            "-----Original Message-----\nFrom: Julia Meyer\nSent: Sunday, 22 November 2026 23:10\n"
            "To: Kevin Marsh\nSubject: outage\n\nWhatever. Deal with it, your team messed up!!!\n",
        ),
    ),
    Case(
        "reply-subject-is-the-customers",
        dict(subject="Re: WHY IS THIS STILL NOT FIXED???", body="Hi Julia,\n\nIt is fixed now; sorry.\n"),
    ),
    Case(
        "calm-apology",
        dict(
            body="Hi Peter,\n\nI understand you are angry, and you have every right to be. We let you down, "
            "and that was our fault.\nI'm sorry for the frustration this caused.\n\nSam\n"
        ),
    ),
    Case(
        "technical",
        dict(
            subject="INC-4821: PDF export and SLA report",
            body="Hi Peter,\n\nYou said you would send the logs; could you send them ASAP? The PDF and the "
            "test results are attached per the SLA (INC-4821).\nThanks!\n\nSam\n",
        ),
    ),
]


def run(case: Case, **options: object) -> list[Finding]:
    """The rule on a real message parsed by the real guard (whether or not the rule is registered)."""
    g = guard()
    msg = g.parse(build_message(**case.message))
    return list(HostileTone(g.org, options, HostileTone.default_severity).check(msg))


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    found = run(case)
    assert found, f"{RULE} did not fire on {case.name}"
    assert any(case.expect in f.evidence for f in found), [f.message for f in found]
    for f in found:
        assert f.rule == RULE and f.severity == Severity.WARN
        assert f.suggestion
        assert not f.location.quoted


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    found = run(case)
    assert not found, [f.message for f in found]


def test_html_only_message() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = KEVIN, JULIA, "Re: outage"
    msg.set_content(
        "<p>Hi Julia,</p><p>Thanks for nothing.</p><blockquote><p>Deal with it!!!</p></blockquote>",
        subtype="html",
    )
    g = guard()
    found = list(HostileTone(g.org, {}, Severity.WARN).check(g.parse(msg.as_bytes())))
    assert [f.evidence for f in found] == ["Thanks for nothing"]


def test_findings_point_at_the_words() -> None:
    found = run(TRIGGERS[0])
    assert [f.message for f in found] == [
        'Reads as blame: "NOT our fault"',
        'Reads as blame: "Your people ignored"',
    ]
    for f in found:
        loc = f.location
        assert loc.field == "body" and loc.line == 3
        assert loc.text is not None and loc.start is not None and loc.end is not None
        assert loc.text[loc.start : loc.end] == f.evidence
    assert "Describe what happened" in found[0].suggestion


def test_subject_location() -> None:
    [finding] = run(TRIGGERS[7])
    assert finding.location.field == "Subject"
    assert finding.location.text == "WHY IS THIS STILL NOT FIXED"
    assert (finding.location.start, finding.location.end) == (0, len("WHY IS THIS STILL NOT FIXED"))


def test_phrase_wrapped_over_two_lines() -> None:
    body = "Hi Peter,\n\nThe export runs nightly, as I already told\nyou on Friday.\n\nSam\n"
    [finding] = run(Case("wrapped", dict(body=body)))
    assert finding.evidence == "as I already told you"
    assert finding.location.line == 3
    assert finding.location.text is not None
    assert finding.location.text[finding.location.start :] == "as I already told"


def test_extra_phrases_option() -> None:
    case = Case("policy", dict(body="Hi Peter,\n\nAs per our policy, refunds take 30 days.\n\nSam\n"))
    assert run(case) == []
    [finding] = run(case, extra_phrases=["as per our policy"])
    assert finding.evidence == "As per our policy"
    assert "list of phrases to avoid" in finding.message


def test_extra_phrases_must_be_strings() -> None:
    with pytest.raises(ValueError, match="extra_phrases"):
        HostileTone(guard().org, {"extra_phrases": ["ok", 3]}, Severity.WARN)


def test_documentation_examples() -> None:
    doc = HostileTone.doc()
    bad = doc.split("Bad:")[1].split("Good:")[0]
    good = doc.split("Good:")[1]
    assert len(run(Case("doc-bad", dict(body=bad)))) >= 3
    assert run(Case("doc-good", dict(body=good))) == []


needs_registration = pytest.mark.skipif(
    not REGISTERED, reason="hostile-tone is not yet listed in sendguard.rules.RULES"
)


@needs_registration
def test_example_message_through_the_guard() -> None:
    report = guard().check(Path(EXAMPLE_MESSAGES / "07-warn-hostile-reply.eml"))
    found = [f for f in report.findings if f.rule == RULE]
    assert {f.evidence for f in found} >= {"NOT our fault", "Your people ignored", "!!!"}
    assert report.verdict == "warn"


@needs_registration
def test_configured_through_toml(tmp_path: Path) -> None:
    g = example_guard(tmp_path, hostile_tone={"severity": "block", "extra_phrases": ["as per our policy"]})
    report = g.check(build_message(body="Hi Peter,\n\nAs per our policy, no.\n\nSam\n"))
    found = [f for f in report.findings if f.rule == RULE]
    assert [f.evidence for f in found] == ["As per our policy"]
    assert found[0].severity == Severity.BLOCK

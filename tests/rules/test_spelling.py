"""The spelling rule on real messages over the example org (RevCalc; accounts Acme, Northwind, ...)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rules_support import Case
from sendguard.guard import Guard
from sendguard.report import Finding, Severity
from sendguard.rules.spelling import SharedWords, Spelling
from support import EXAMPLE_MESSAGES, build_message, example_guard

RULE = "spelling"

TRIGGERS = [
    Case("body-typo", dict(body="Hi Peter,\n\nWe have recieved your report.\n\nBest,\nSam\n"), "recieved"),
    Case("fresh-subject", dict(subject="Invoce for November", body="Hi Peter,\n\nSee below.\n"), "Invoce"),
    Case(
        "possessive-time-word",
        dict(body="Hi Peter,\n\nSorry about yesterdays outage.\n"),
        "yesterdays",
    ),
    Case("possessive-period", dict(body="Hi Peter,\n\nPlease pay last weeks invoice.\n"), "last weeks"),
    Case(
        "typo-next-to-account-names",
        dict(body="Hi Peter,\n\nAcme's and Northwind's enginers met on Monday.\n"),
        "enginers",
    ),
    Case(
        "new-text-above-a-quote",
        dict(
            body="Hi Peter,\n\nThanks, we will definately fix it.\n\n"
            "On Mon, 23 Nov 2026, Peter Jones <peter.jones@acme.com> wrote:\n> Please fix it.\n"
        ),
        "definately",
    ),
    # The conversation's words are evidence only for the same word: the quote writes "empower",
    # the new text "enpower"; and a typo the quote spells right is still one.
    Case(
        "a-different-word-in-the-quoted-text",
        dict(
            body="Hi Peter,\n\nThe enpower schedule is fixed.\n\n"
            "On Mon, 23 Nov 2026, Peter Jones <peter.jones@acme.com> wrote:\n> Can you empower the team?\n"
        ),
        "enpower",
    ),
    Case(
        "a-typo-only-in-the-new-text",
        dict(
            body="Hi Peter,\n\nWe have recieved it.\n\n"
            "On Mon, 23 Nov 2026, Peter Jones <peter.jones@acme.com> wrote:\n> Have you received it?\n"
        ),
        "recieved",
    ),
    Case("two-slips-in-a-long-word", dict(body="Hi Peter,\n\nThe fix is permenant now.\n"), "permenant"),
    Case(
        "misspelt-place-alone-on-a-line",
        dict(body="Hi Peter,\n\nThe offsite moves to a new venue:\nCincinatti\n\nBest,\nSam\n"),
        "Cincinatti",
    ),
    Case(
        "typo-in-a-line-with-a-quoted-phrase",
        dict(body='Hi Peter,\n\nThe "Q3 report" was recieved.\n'),
        "recieved",
    ),
]
NEAR_MISSES = [
    Case(
        "british-and-american",
        dict(body="Hi Peter,\n\nThe colour and color of the organisation's logo are fine.\n\nBest,\nSam\n"),
    ),
    Case(
        "quoted-typo",
        dict(
            body="Thanks, fixed.\n\nOn Mon, 23 Nov 2026, Peter Jones <peter.jones@acme.com> wrote:\n"
            "> We have recieved teh wrong invoce.\n"
        ),
    ),
    Case("reply-subject-is-theirs", dict(subject="Re: Invoce for Novmber", body="Hi Peter,\n\nFixed.\n")),
    Case(
        "directory-names-in-lower-case",
        dict(body="Hi Julia,\n\nthe nwtel and northwind-telecom portals, okafor's ticket and globex too.\n"),
    ),
    Case(
        "configured-vocabulary",
        dict(body="Hi Peter,\n\nThe onboarding runbook for SecureHome is in RevCalc.\n"),
    ),
    Case(
        "codes-urls-amounts",
        dict(
            body="Hi Peter,\n\nINC-4821 (PO#12345, v2.3) is at https://status.revcalc.io/inc/4821; "
            "you paid $1,240.50 on the 21st. Mail billing@revcalc.io.\n"
        ),
    ),
    Case("signature-name", dict(body="Hi Peter,\n\nAll set.\n\nBest,\nSiobhan Ni Bhriain\n")),
    # Words shared in the conversation are its terms, not the author's slips: in the quoted text
    # (spamassassin-ham/hard-ham-1/00394...: traceback), a reply's subject, an attachment's name.
    Case(
        "a-term-the-quoted-text-uses",
        dict(
            body="Hi Peter,\n\nThe enpower schedule is fixed.\n\n"
            "On Mon, 23 Nov 2026, Peter Jones <peter.jones@acme.com> wrote:\n> Is the enpower schedule right?\n"
        ),
    ),
    Case(
        "a-term-in-a-reply-subject",
        dict(subject="Re: enpower outage", body="Hi Peter,\n\nThe enpower feed is back.\n"),
    ),
    Case(
        "a-term-in-an-attachment-name",
        dict(
            body="Hi Peter,\n\nThe enpower schedule is attached.\n",
            attachments=[("enpower_schedule.csv", b"hour,mw\n", "text/csv")],
        ),
    ),
    # Real false alarms, from ../shared/corpora:
    # spamassassin-ham/hard-ham-1/00229.0870e13cd0b783d3d0b32826fa06bef3.txt (a list of links).
    Case(
        "titles-in-a-list-of-links",
        dict(
            body="Hi Peter,\n\nUpdated weblogs:\n\n    joyfulchristian\n      http://joyfulchristian.blogspot.com/\n"
            "    clusterways\n      http://www.melissahardie.com/cluster.htm\n"
        ),
    ),
    # spamassassin-ham/easy-ham-1/00223.02084417d77ed822ef1ba7391a7ff417.txt: ALSA, alsa-driver, alsa.
    Case(
        "acronym-written-in-lower-case-elsewhere",
        dict(
            body="Hi Peter,\n\nI've decided at last to test the ALSA sound drivers.\n"
            "I've also recompiled xine with alsa support, and the alsa-driver package builds.\n"
        ),
    ),
    # spamassassin-ham/easy-ham-1/00223.02084417d77ed822ef1ba7391a7ff417.txt: a command in quotes.
    Case(
        "a-word-in-quotes-is-mentioned", dict(body='Hi Peter,\n\nWith "aplay" you can already test files.\n')
    ),
    # enron/maildir/presto-k/sent_items/945.
    Case(
        "name-with-a-possessive-elsewhere",
        dict(body="Hi Peter,\n\nCalpine is in complete disarray. Calpine's portfolio is getting killed.\n"),
    ),
    # enron/maildir/buy-r/_sent_mail/26.
    Case("name-after-an-initial", dict(body="Hi Peter,\n\nI also spoke with M. Kopper today.\n")),
    # spamassassin-ham/hard-ham-1/00194.c7439a37e68aa99a7fb9242d46f02666.txt
    Case(
        "word-hyphenated-at-a-line-break",
        dict(
            body="Hi Peter,\n\nThen federal inter-\nvention saved the day, Governor Patterson declar-\ning martial law.\n"
        ),
    ),
    # spamassassin-ham/hard-ham-1/00229.0870e13cd0b783d3d0b32826fa06bef3.txt
    Case("a-line-in-french", dict(body="Hi Peter,\n\nPetits malheurs et bons moments de la vie\n")),
    # spamassassin-ham/easy-ham-1/01045.5f6b92624699ddf883fc56e9b158c031.txt: alsa is also in file names.
    Case(
        "a-term-that-is-also-in-a-file-name",
        dict(
            body="Hi Peter,\n\nI removed all alsa rpms, and tried my spec:\n"
            "rpmbuild --ba alsa-driver.spec.mine --without oss\n"
        ),
    ),
    # spamassassin-ham/easy-ham-1/00862.b3e793b7c8e41cd45a0eccaa7abaf722.txt
    Case("an-address-spelt-out", dict(body="Hi Peter,\n\nSee you there.\n\ngbolcer at endeavors.com\n")),
    # spamassassin-ham/easy-ham-1/00340.91d8c92aa5eccc84c40364fc4fc1ed63.txt
    Case("dropped-g-of-ing", dict(body="Hi Peter,\n\nThat is just plain stinkin thinkin.\n")),
]


@pytest.fixture(scope="module")
def guard() -> Guard:
    return example_guard()


def run(guard: Guard, message: dict[str, Any], rule: Spelling | None = None) -> list[Finding]:
    if rule is None:
        return [f for f in guard.check(build_message(**message)).findings if f.rule == RULE]
    return list(rule.check(guard.parse(build_message(**message))))


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(guard: Guard, case: Case) -> None:
    found = run(guard, case.message)
    assert found, f"{RULE} did not fire on {case.name}"
    assert any(case.expect == f.evidence for f in found), [f.evidence for f in found]


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(guard: Guard, case: Case) -> None:
    found = run(guard, case.message)
    assert not found, [f.message for f in found]


def test_finding_points_at_the_word_on_its_line(guard: Guard) -> None:
    (finding,) = run(guard, dict(body="Hi Peter,\n\nWe have recieved your report.\n"))
    loc = finding.location
    assert (loc.field, loc.line, loc.quoted) == ("body", 3, False)
    assert loc.text is not None and loc.text[loc.start : loc.end] == "recieved"
    assert finding.message == '"recieved" is not in the dictionary'
    assert finding.suggestion == "Did you mean: received, relieved, receive?"
    assert finding.severity is Severity.WARN


def test_subject_finding_is_located_in_the_subject(guard: Guard) -> None:
    (finding,) = run(guard, dict(subject="Update on yesterdays outage", body="Hi Peter,\n\nAll fixed.\n"))
    loc = finding.location
    assert loc.field == "Subject" and loc.text == "Update on yesterdays outage"
    assert (loc.start, loc.end) == (10, 20)
    assert finding.message == '"yesterdays" needs a possessive apostrophe'
    assert finding.suggestion == "Write yesterday's (possessive)."


def test_words_after_a_quote_are_on_their_own_lines(guard: Guard) -> None:
    body = (
        "Hi Peter,\n\nOn Mon, 23 Nov 2026, Peter Jones <peter.jones@acme.com> wrote:\n"
        "> Any news?\n\nYes: we have recieved it.\n"
    )
    (finding,) = run(guard, dict(body=body))
    assert finding.location.text == "Yes: we have recieved it."
    assert finding.location.text[finding.location.start : finding.location.end] == "recieved"


def test_one_finding_per_occurrence(guard: Guard) -> None:
    found = run(guard, dict(body="Hi Peter,\n\nWe recieved it.\nThey recieved it too.\n"))
    # Repeated twice in one text, an unknown word is taken as deliberate; a real typo usually is not.
    assert found == []
    found = run(guard, dict(body="Hi Peter,\n\nWe recieved the adress.\n"))
    assert [f.evidence for f in found] == ["recieved", "adress"]


def test_shared_words_are_whole_words_found_only_when_asked() -> None:
    asked = []
    words = SharedWords(lambda: asked.append(1) or "Enpower to CAPS: see enpower_2.csv, not enpowered.")
    assert asked == []  # nothing is built until a word is in doubt
    assert "enpower" in words and "enpowered" in words and "caps" in words and "see" in words
    assert "enpowe" not in words and "owered" not in words
    assert asked == [1]


def test_vocabulary_option_adds_words(guard: Guard) -> None:
    message = dict(body="Hi Peter,\n\nYour data is now in ledgerly.\n")
    assert [f.evidence for f in run(guard, message)] == ["ledgerly"]
    rule = Spelling(guard.org, {"vocabulary": ["Ledgerly"]}, Severity.WARN)
    assert run(guard, message, rule) == []


def test_vocabulary_option_must_be_strings(guard: Guard) -> None:
    with pytest.raises(ValueError, match="vocabulary must be a list of strings"):
        Spelling(guard.org, {"vocabulary": ["ok", 3]}, Severity.WARN)


def test_max_findings_caps_the_report(guard: Guard) -> None:
    body = (
        "Hi Peter,\n\nWe recieved the new adress for your team and the invoce for October; the change "
        "will definately be made before the end of the month and the extra user will be acommodated.\n"
    )
    assert len(run(guard, dict(body=body))) == 5
    rule = Spelling(guard.org, {"max_findings": 2}, Severity.WARN)
    assert [f.evidence for f in run(guard, dict(body=body), rule)] == ["recieved", "adress"]
    with pytest.raises(ValueError, match="max_findings must be at least 1"):
        Spelling(guard.org, {"max_findings": 0}, Severity.WARN)


def test_documentation_examples() -> None:
    doc = Spelling.doc()
    bad = re.search(r"Bad:\n((?:    .*\n)+)", doc + "\n")
    good = re.search(r"Good:\n((?:    .*\n)+)", doc + "\n")
    assert bad and good
    checker = Spelling(example_guard().org, {}, Severity.WARN).checker
    assert [m.word for m in checker.check(bad.group(1))] == ["recieved", "yesterdays", "enginers"]
    assert checker.check(good.group(1)) == []


def test_example_message_through_the_guard(guard: Guard) -> None:
    report = guard.check(EXAMPLE_MESSAGES / "12-warn-spelling.eml")
    found = [f for f in report.findings if f.rule == RULE]
    assert [f.evidence for f in found] == ["yesterdays", "recieved", "enginers"]
    assert report.verdict == "warn"

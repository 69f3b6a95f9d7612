"""The hostile-tone engine (`sendguard.tone`): each kind fires, and the look-alikes a calm,
professional reply is full of do not."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from sendguard import tone
from sendguard.tone import ToneDetector, ToneHit, detect_hostility

# (text, kind, evidence the hit must contain)
TRIGGERS = [
    # blame
    ("Your people broke the integration again.", "blame", "Your people"),
    ("Your team messed up the migration.", "blame", "Your team messed up"),
    ("This is not our fault.", "blame", "not our fault"),
    ("It isn't our fault that the export failed.", "blame", "isn't our fault"),
    ("You ignored three warnings.", "blame", "You ignored"),
    ("As I already told you, the export runs nightly.", "blame", "As I already told you"),
    ("You should have read the release notes.", "blame", "You should have read"),
    ("Obviously you didn't read the ticket.", "blame", "Obviously you didn't read"),
    ("That's your own fault, frankly.", "blame", "your own fault"),
    ("How many times do I have to tell you?", "blame", "How many times do I have to tell"),
    ("I'm losing my patience with this.", "blame", "losing my patience"),
    # insult
    ("Only an idiot would configure it like that.", "insult", "idiot"),
    ("What a stupid question.", "insult", "stupid question"),
    ("You clearly have no idea what you are doing.", "insult", "no idea"),
    ("Who do you think you are?", "insult", "Who do you think you are"),
    # profanity
    ("Damn, this export is broken again.", "profanity", "Damn"),
    ("This is a crap release.", "profanity", "crap"),
    ("What the hell happened here?", "profanity", "the hell"),
    ("This f*** thing never works.", "profanity", "f***"),
    ("Who wrote this sh!t", "profanity", "sh!t"),
    ("It is completely f***ing broken.", "profanity", "f***ing"),
    # shouting
    ("I have ALREADY sent this TWICE.", "shouting", "ALREADY sent this TWICE"),
    ("WHY IS THIS STILL NOT FIXED", "shouting", "WHY IS THIS STILL NOT FIXED"),
    ("This is UNACCEPTABLE.", "shouting", "UNACCEPTABLE"),
    ("THIS IS UNACCEPTABLE.", "shouting", "THIS IS UNACCEPTABLE"),
    ("Please READ THE DOCUMENTATION before you open a ticket.", "shouting", "READ THE DOCUMENTATION"),
    # exclamation
    ("Send it now!!!", "exclamation", "!!!"),
    ("You did what?!?!", "exclamation", "?!?!"),
    # sarcasm
    ("Thanks for nothing.", "sarcasm", "Thanks for nothing"),
    ("Good luck with that.", "sarcasm", "Good luck with that"),
    ("Clearly you haven't read my email.", "sarcasm", "Clearly you haven't read"),
    ("With all due respect, you are wrong.", "sarcasm", "With all due respect"),
    ("Per my last email, the deadline is Friday.", "sarcasm", "Per my last email"),
    ("As you would know if you had read the contract, this is excluded.", "sarcasm", "As you would know"),
    ("Congratulations on breaking production.", "sarcasm", "Congratulations on breaking"),
    ("Did you even read the runbook?", "sarcasm", "Did you even read"),
    ("Got it?", "sarcasm", "Got it?"),
    # dismissive
    ("Whatever.", "dismissive", "Whatever"),
    ("Fine, whatever. Restart it yourself.", "dismissive", "Fine, whatever"),
    ("That's not my problem.", "dismissive", "not my problem"),
    ("Deal with it.", "dismissive", "Deal with it"),
    ("You'll have to live with it.", "dismissive", "live with it"),
    ("Stop wasting my time.", "dismissive", "wasting my time"),
]

NEAR_MISSES = [
    # calm apologies that name the frustration, or take the blame ourselves
    "I'm sorry for the frustration this caused.",
    "I understand you are angry, and you have every right to be.",
    "We let you down — that's on us.",
    "It was our fault, and we are fixing it today.",
    "Our team messed up the migration, and I am sorry.",
    "I messed up the schedule; that's my mistake.",
    "It's not your fault at all.",
    "None of this is your fault.",
    "I made a stupid mistake, sorry.",
    "There's no such thing as a stupid question.",
    # acronyms, codes, headings and labels in capitals
    "Please find the PDF attached, per the SLA. Reply ASAP.",
    "See INC-4821 for details; the fix is in build ERR_TIMEOUT-2.",
    "The API returns JSON over HTTPS, and the CSV export goes to S3.",
    "NEXT STEPS",
    "ACME CORP, 12 MAIN ST, HOUSTON TX",
    "KEY CONTACTS FOR THE WEEKEND OF JANUARY 19/20",
    "URGENT: please approve the change by noon.",
    "Please do NOT restart the server during the migration.",
    "I'm SO sorry about this.",
    "Run `IF X IS NOT NULL THEN` in the console.",
    "THIS MESSAGE IS CONFIDENTIAL AND INTENDED ONLY FOR THE RECIPIENT NAMED ABOVE.",
    # punctuation
    "Thanks for your patience!",
    "Thanks so much!!!",
    "Which release are you on??",
    # words that contain or resemble flagged ones
    "The test results are attached.",
    "Our assessment of the class passed in Scunthorpe. Hello, shell.",
    "Hello Peter,",
    "We play liar's poker on Fridays.",
    "The analyst broke down the costs by region.",
    "The job was shut down for maintenance.",
    "We solved it with $S$ and $T$ in the formula.",
    # neutral uses of "you", conditions and instructions
    "You said you would send the logs; could you send them today?",
    "If you forgot your password, use the reset link.",
    "In case you ignored the first reminder, here it is again.",
    "You should have received an email with the invoice.",
    "Obviously you don't want downtime, so we will do it at night.",
    "Clearly you care a lot about getting this right.",
    "As I mentioned on the phone, the refund goes out on Monday.",
    "For the second time this month the export failed, and I am sorry.",
    "We will deal with it tomorrow morning.",
    "Whatever you need, just ask.",
    "Send the logs, the screenshots or whatever is easiest.",
    "You have no idea how grateful we are!",
    "Your people were fantastic during the cut-over.",
    "Please thank your people for the quick turnaround.",
    "Why is it so hard to reproduce? Because it depends on timing.",
    "Congratulations on the launch!",
]


@pytest.mark.parametrize(("text", "kind", "evidence"), TRIGGERS, ids=[t[0][:40] for t in TRIGGERS])
def test_trigger(text: str, kind: str, evidence: str) -> None:
    hits = detect_hostility(text)
    assert any(h.kind == kind and evidence in h.evidence for h in hits), hits
    for hit in hits:
        assert text[hit.start : hit.end] == hit.evidence
        assert hit.explanation


@pytest.mark.parametrize("text", NEAR_MISSES, ids=[t[:40] for t in NEAR_MISSES])
def test_near_miss(text: str) -> None:
    assert detect_hostility(text) == []


def test_every_kind_is_covered() -> None:
    assert {kind for _, kind, _ in TRIGGERS} == set(tone.KINDS) - {"phrase"}


def test_whole_text_with_offsets() -> None:
    text = "Hi Julia,\n\nThis is NOT our fault.\nYour people ignored the notice!!!\n\nKevin"
    hits = detect_hostility(text)
    assert [(h.kind, text[h.start : h.end]) for h in hits] == [
        ("blame", "NOT our fault"),
        ("blame", "Your people ignored"),
        ("exclamation", "!!!"),
    ]


def test_a_paragraph_in_capitals_is_one_hit() -> None:
    text = "THE DEAL WAS DONE ON MONDAY.  IF I AM READING THIS WRONG, LET ME KNOW.\n\nTHANKS,\nRYAN"
    [hit] = detect_hostility(text)
    assert hit.kind == "shouting"
    assert hit.evidence == "THE DEAL WAS DONE ON MONDAY.  IF I AM READING THIS WRONG, LET ME KNOW"


def test_phrase_wrapped_over_lines() -> None:
    text = "The export runs nightly, as I already told\nyou on Friday."
    [hit] = detect_hostility(text)
    assert hit.kind == "blame" and hit.evidence == "as I already told\nyou"


def test_guard_does_not_hide_a_later_hit() -> None:
    # The first "your fault" is negated; the second one is not.
    text = "It's not your fault the job failed, but the config is your fault."
    hits = detect_hostility(text)
    assert [h.evidence for h in hits] == ["your fault"]
    assert hits[0].start == text.rindex("your fault")


def test_overlapping_hits_are_reported_once() -> None:
    hits = detect_hostility("WHAT THE HELL IS THIS")
    assert len(hits) == 1 and hits[0].kind == "profanity"


def test_extra_phrases() -> None:
    detector = ToneDetector(["as per our policy", "calm  down"])
    hits = detector.detect("As per our policy, no refunds. Please CALM\ndown.")
    assert [(h.kind, h.evidence) for h in hits] == [("phrase", "As per our policy"), ("phrase", "CALM\ndown")]
    assert detector.detect("Our policy is generous.") == []
    # Built-in patterns still apply.
    assert detector.detect("Thanks for nothing.")[0].kind == "sarcasm"


def test_hit_is_frozen() -> None:
    hit = ToneHit(0, 4, "blame", "text", "why")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.kind = "sarcasm"  # type: ignore[misc]


def test_anchor_words_cover_what_the_patterns_match() -> None:
    # Each phrase runs only when one of its anchor words is in the text, so every match of its
    # pattern must contain one of them; otherwise the phrase would silently never fire.
    # It is also only looked for within a window around the anchor.
    words = re.compile(r"[a-z]+")
    for text, _, _ in TRIGGERS:
        for phrase in tone._PHRASES:
            for m in re.finditer(phrase.pattern, text, re.IGNORECASE):
                anchors = [
                    w for w in words.finditer(m.group().lower()) if w.group() in phrase.anchors.split()
                ]
                assert anchors, (phrase.kind, m.group())
                assert anchors[0].start() <= tone._SPAN_BEFORE
                assert len(m.group()) - anchors[0].end() <= tone._SPAN_AFTER


def test_fast_enough_for_every_message() -> None:
    email = (
        "Hi Peter,\n\nThanks for the logs. I looked at INC-4821 this morning: the export job hit the SLA "
        "timeout because the PDF renderer stalled on a 40 MB attachment. I have raised the limit and "
        "re-run it, and the report is in your inbox now.\n\nIf you see it again, reply to this email "
        "and I'll pick it up straight away. Sorry for the trouble this caused your team.\n\n"
        "Best regards,\nSam Carter\nSupport Lead, RevCalc Systems\n"
    ) * 2
    detect_hostility(email)
    runs = 200
    t0 = time.perf_counter()
    for _ in range(runs):
        detect_hostility(email)
    per_message = (time.perf_counter() - t0) / runs
    # The target is 0.2 ms on a quiet machine (typically ~0.05 ms); the bound leaves room for CI.
    assert per_message < 0.002, f"{per_message * 1000:.3f} ms per message"

"""Advice for apologies: a named person, a thank-you, a concrete plan or date, an owner.

Why it matters: after an incident, an apology that reads like a form letter makes things worse.
The ones that land are signed by a person, thank the customer (for their patience, for
reporting it), say what happens next and when, and say who owns it. This is advice (info), not
a block: it lists what the apology is missing.

Bad:
    We apologise for any inconvenience caused.
    The Team

Good:
    I'm sorry the export failed during your month-end close, and thank you for the logs.
    I have fixed the job and will re-run it for you by 14:00 today; I'll confirm when it is done.
    Sam Carter, Support Lead
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sendguard.message.model import BodyLine, Message
from sendguard.report import Finding, Severity
from sendguard.rules.base import Rule, body_location

APOLOGY = re.compile(
    r"\b(?:sorry|apologi[sz]e[sd]?|apologies|apology|regret (?:that|the|any))\b", re.IGNORECASE
)
THANKS = re.compile(r"\b(?:thank(?:s| you)|grateful|appreciate)\b", re.IGNORECASE)
PLAN = re.compile(
    r"\b(?:by|before|on|until|within|no later than) (?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|tonight|today|end of (?:day|the day|week)|eod|noon|midnight|\d{1,2}(?::\d{2})?\s?(?:am|pm|h)?|\d+ (?:hours?|days?|minutes?|business days?)|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}|\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b(?:next step|here is what (?:we|I) (?:will|are going to) do|we have (?:fixed|deployed|rolled back|restored)|(?:a )?fix (?:is|was|has been) (?:deployed|released|live))",
    re.IGNORECASE,
)
OWNER = re.compile(
    r"\b(?:I(?:'ll| will| am| have|'ve|'m) (?:personally |now )?(?!sorry|afraid)\w+|I own\b|my name is|I(?:'m| am) (?:responsible|the owner|handling|leading)|(?:contact|reach|call) me\b)",
    re.IGNORECASE,
)
FACELESS_SIGNOFF = re.compile(
    r"^\s*(?:the )?(?:[\w&.-]+ )?(?:team|support|customer (?:care|service|success)|management|billing|no-?reply)\s*[.!]?\s*$",
    re.IGNORECASE,
)


class ApologyQuality(Rule):
    id = "apology-quality"
    default_severity = Severity.INFO

    def check(self, msg: Message) -> Iterator[Finding]:
        lines = [ln for ln in msg.new_lines if ln.text.strip()]
        apology_line = next((ln for ln in lines if APOLOGY.search(ln.text)), None)
        if apology_line is None:
            return
        text = "\n".join(ln.text for ln in lines)
        missing = []
        if not self._signed_by_person(msg, lines):
            missing.append("a named person signing it (not 'The Team')")
        if not THANKS.search(text):
            missing.append("a thank-you (for their patience, for reporting it)")
        if not PLAN.search(text):
            missing.append("a concrete plan or date (what happens next, and by when)")
        if not OWNER.search(text):
            missing.append("an owner ('I will ...', who to contact)")
        if not missing:
            return
        m = APOLOGY.search(apology_line.text)
        assert m is not None
        yield self.finding(
            "This apology is missing " + "; ".join(missing),
            body_location(apology_line, m.start(), m.end()),
            m.group(0),
            "Add what is missing: apologies that name a person, thank the customer, give a date and an owner rebuild trust.",
        )

    def _signed_by_person(self, msg: Message, lines: list[BodyLine]) -> bool:
        tail = lines[-4:]
        if any(FACELESS_SIGNOFF.match(ln.text) for ln in tail[-2:]):
            return False
        sender = msg.sender
        if sender is not None:
            first = (sender.display_name or sender.address.split("@")[0]).replace(".", " ").split()
            if first and any(first[0].lower() in ln.text.lower() for ln in tail):
                return True
        # A sign-off line followed by a capitalised name ("Best,\nSam Carter").
        for i, ln in enumerate(tail[:-1]):
            if re.match(
                r"^\s*(?:best|regards|kind regards|thanks|thank you|cheers|sincerely|yours|warm regards|best wishes)\b",
                ln.text,
                re.I,
            ):
                return bool(re.match(r"^\s*[A-Z][a-z]+", tail[i + 1].text)) and not FACELESS_SIGNOFF.match(
                    tail[i + 1].text
                )
        return False

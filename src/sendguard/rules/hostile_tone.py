"""Warns when a message blames, mocks, swears at or shouts at the reader.

Why it matters: a reply written in the heat of the moment reads far worse to the customer
than it felt to write, and it cannot be unsent. The check looks only at what you wrote (quoted
text is ignored) and at how it is said: blame pointed at the reader ("your people", "as I
already told you", "not our fault"), sarcasm ("thanks for nothing", "per my last email"),
name-calling, swearing (also masked, "f***"), words in capitals, stacked "!!!" and brush-offs
("not my problem", "deal with it"). Naming the customer's frustration, apologising and taking
the blame yourself ("that's on us") are fine. The subject is checked too, except on replies and
forwards, where it is usually the customer's own words.

Option: `extra_phrases = ["...", ...]` adds phrases your organisation wants to avoid with
customers (whole words, any case).

Bad:
    This is NOT our fault. Your people ignored the maintenance notice,
    and as I already told you, we sent it twice!!!

Good:
    I'm sorry the maintenance caught your team out. We sent a notice on 12 and 19 November,
    but it clearly did not reach the right people; I'll add your on-call address to the list
    today, and I'll call you at 15:00 to go through the timeline.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from sendguard.message.model import Message
from sendguard.org.model import Org
from sendguard.report import Finding, Location, Severity
from sendguard.rules.base import Rule, body_location, header_location
from sendguard.tone import ToneDetector, ToneHit, detect_hostility

# The subject of a reply or forward is the other side's; only a fresh subject is the author's.
REPLY_PREFIX = re.compile(r"^\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rif)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)

AGAIN = "Read it again in an hour, or ask a colleague to."
LABEL = {
    "blame": "Reads as blame",
    "insult": "Belittles the reader",
    "profanity": "Swearing",
    "shouting": "Shouting in capitals",
    "exclamation": "Stacked punctuation reads as a raised voice",
    "sarcasm": "Sarcastic or condescending",
    "dismissive": "Brushes the reader off",
    "phrase": "On your organisation's list of phrases to avoid",
}
ADVICE = {
    "blame": f"Describe what happened and what you will do, not who is at fault. {AGAIN}",
    "insult": f"Drop the label; say specifically what is wrong and what happens next. {AGAIN}",
    "profanity": f"Take the swearing out. {AGAIN}",
    "shouting": "Write it in normal case; to stress one point, give it a short sentence of its own.",
    "exclamation": "One full stop or question mark is enough.",
    "sarcasm": f"Say what you mean plainly. {AGAIN}",
    "dismissive": f"Say what you can do, or who can help, instead. {AGAIN}",
    "phrase": "Rephrase it.",
}
MAX_QUOTED = 60  # longer evidence is shortened in the message (the finding keeps all of it)


def _quote(evidence: str) -> str:
    text = " ".join(evidence.split())
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1].rstrip() + "…"


class HostileTone(Rule):
    id = "hostile-tone"
    default_severity = Severity.WARN
    options: ClassVar[Mapping[str, type]] = {"extra_phrases": list}

    def __init__(self, org: Org, options: Mapping[str, Any], severity: Severity) -> None:
        super().__init__(org, options, severity)
        extra = self.config.get("extra_phrases", [])
        if not all(isinstance(p, str) for p in extra):
            raise ValueError("extra_phrases must be a list of strings")
        self._detect = ToneDetector(extra).detect if extra else detect_hostility

    def check(self, msg: Message) -> Iterator[Finding]:
        if msg.subject and not REPLY_PREFIX.match(msg.subject):
            for hit in self._detect(msg.subject):
                yield self._finding(hit, header_location("Subject", msg.subject, hit.start, hit.end))
        for block in msg.new_blocks():
            starts, pos = [], 0
            for line in block:
                starts.append(pos)
                pos += len(line.text) + 1
            text = "\n".join(line.text for line in block)
            for hit in self._detect(text):
                i = bisect_right(starts, hit.start) - 1
                line, offset = block[i], starts[i]
                # A hit wrapped over two lines is shown on the line where it starts.
                end = min(hit.end - offset, len(line.text))
                yield self._finding(hit, body_location(line, hit.start - offset, end))

    def _finding(self, hit: ToneHit, location: Location) -> Finding:
        evidence = " ".join(hit.evidence.split())
        return self.finding(
            f'{LABEL[hit.kind]}: "{_quote(evidence)}"',
            location,
            evidence,
            f"{hit.explanation} {ADVICE[hit.kind]}",
        )

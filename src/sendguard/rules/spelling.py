"""Warns about misspelled words and missing possessive apostrophes in what you wrote.

Why it matters: a typo in a customer email ("we have recieved your report", "our enginers")
reads as carelessness at exactly the moment the customer is judging how careful you are. The
check uses the Hunspell American and British dictionaries (either spelling is fine), looks only
at your new text and a fresh subject (quoted text and the subject of a reply are the other
side's words), and leaves alone what is not prose: URLs, addresses, file names, reference codes
(INC-4821, PO#12345), numbers, acronyms, product-style names (RevCalc) and people's names, and
what nobody would call a misspelling: titles in a list of links, lines in another language, a
word in quotes ("aplay"), a word hyphenated at a line break, and a word the rest of the
conversation uses too (its quoted text, a reply's subject, an attachment's name: the thread's
term, not your slip).
Account names, aliases, contact names and your domains are known words, and so is everything in
`[vocabulary] words` (`sendguard vocabulary` proposes those from your team's mail). Unknown
words that do not look like a slip for a real word (trade jargon, other languages) are not
reported. It also catches "yesterdays outage" and "last weeks invoice", which every dictionary
accepts but which need an apostrophe. Suggestions come from a fast word list, so a message with
many unknown words still checks in milliseconds (at most 25 distinct unknown words are looked at).

Options: `vocabulary = ["...", ...]` adds words for this check only; `max_findings` (default
10) caps the findings per message, so a message in another language does not flood the report.

Bad:
    We have recieved your report about yesterdays outage, and our enginers are on it.

Good:
    We have received your report about yesterday's outage, and our engineers are on it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Container, Iterator, Mapping
from itertools import islice
from typing import Any, ClassVar

from sendguard.message.model import Message
from sendguard.org.model import Org
from sendguard.report import Finding, Location, Severity
from sendguard.rules.base import Rule, body_location, header_location
from sendguard.spelling import Misspelling, SpellChecker

# The subject of a reply or forward is the other side's; only a fresh subject is the author's.
REPLY_PREFIX = re.compile(r"^\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rif)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
SHOWN_SUGGESTIONS = 3


def org_words(org: Org) -> list[str]:
    """Names the organisation knows: its own name, accounts, aliases, contacts and domain labels."""
    words = [org.name, *org.vocabulary]
    for account in org.directory.accounts.values():
        words += [account.name, *account.aliases]
        words += [label for domain in account.domains for label in domain.split(".")[:-1]]
    words += [contact.name for contact in org.directory.contacts.values()]
    words += [label for domain in org.internal_domains for label in domain.split(".")[:-1]]
    return words


def conversation_text(msg: Message) -> str:
    """What others wrote in the message's conversation: its quoted and forwarded text, a reply's
    subject and the attachments' names. Not the display names in the address headers: a
    campaign fills To from the same audience data as its body, so a typo there ("Hi recieve,")
    would vouch for itself."""
    parts = [line.text for line in msg.lines if line.quoted]
    if msg.subject and REPLY_PREFIX.match(msg.subject):
        parts.append(msg.subject)
    parts += [attachment.filename for attachment in msg.attachments]
    return "\n".join(part for part in parts if part)


class SharedWords(Container[str]):
    """The words of a text, asked one at a time (lower case, as a whole word: "enpower" is in
    "enpower_1.csv", not in "enpowered"): the checker asks only about the few words it has doubts
    about, so the text is never split into words (~1 ms a message, tens in a long one), and it is
    built only on the first question when given as a function."""

    def __init__(self, text: str | Callable[[], str]) -> None:
        self._text = text
        self._lowered: str | None = None
        self._answers: dict[object, bool] = {}

    def __contains__(self, word: object) -> bool:
        found = self._answers.get(word)
        if found is None:
            if self._lowered is None:
                self._lowered = (self._text if isinstance(self._text, str) else self._text()).lower()
            pattern = rf"(?<![^\W\d_]){re.escape(str(word))}(?![^\W\d_])"
            found = self._answers[word] = re.search(pattern, self._lowered) is not None
        return found


class Spelling(Rule):
    id = "spelling"
    default_severity = Severity.WARN
    options: ClassVar[Mapping[str, type]] = {"vocabulary": list, "max_findings": int}

    def __init__(self, org: Org, options: Mapping[str, Any], severity: Severity) -> None:
        super().__init__(org, options, severity)
        extra = self.config.get("vocabulary", [])
        if not all(isinstance(w, str) for w in extra):
            raise ValueError("vocabulary must be a list of strings")
        self.max_findings = self.config.get("max_findings", 10)
        if self.max_findings < 1:
            raise ValueError(f"max_findings must be at least 1 (not {self.max_findings})")
        self.checker = SpellChecker([*org_words(org), *extra])

    def check(self, msg: Message) -> Iterator[Finding]:
        return islice(self._findings(msg), self.max_findings)

    def written_text(self, msg: Message) -> str:
        """What this rule reads of a message: its subject (unless a reply's) and its new text."""
        parts = [msg.subject] if msg.subject and not REPLY_PREFIX.match(msg.subject) else []
        parts += ["\n".join(line.text for line in block) for block in msg.new_blocks()]
        return "\n\n".join(parts)

    def _findings(self, msg: Message) -> Iterator[Finding]:
        # What others wrote in the conversation, looked up only for a word in doubt.
        shared = SharedWords(lambda: conversation_text(msg))
        if msg.subject and not REPLY_PREFIX.match(msg.subject):
            for slip in self.checker.check(msg.subject, shared=shared):
                yield self._finding(slip, header_location("Subject", msg.subject, slip.start, slip.end))
        for block in msg.new_blocks():
            # Check a run of lines as one text so sentences (and names) are seen across line wraps.
            starts, pos = [], 0
            for line in block:
                starts.append(pos)
                pos += len(line.text) + 1
            for slip in self.checker.check("\n".join(line.text for line in block), shared=shared):
                i = bisect_right(starts, slip.start) - 1
                line, offset = block[i], starts[i]
                end = min(slip.end - offset, len(line.text))  # "last weeks" may wrap over two lines
                yield self._finding(slip, body_location(line, slip.start - offset, end))

    def _finding(self, slip: Misspelling, location: Location) -> Finding:
        if slip.kind == "possessive":
            return self.finding(
                f'"{slip.word}" needs a possessive apostrophe',
                location,
                slip.word,
                f"Write {slip.suggestions[0]} (possessive).",
            )
        if slip.suggestions:
            advice = "Did you mean: " + ", ".join(slip.suggestions[:SHOWN_SUGGESTIONS]) + "?"
        else:
            advice = "Check the spelling, or add the word to [vocabulary] words if it is right."
        return self.finding(f'"{slip.word}" is not in the dictionary', location, slip.word, advice)

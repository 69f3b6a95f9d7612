"""Unfilled merge tags: the recipient would see "Dear {{ first_name }}" or "Hi *|FNAME|*".

Why it matters: a merge that did not run, or a field missing for this recipient, sends raw
template syntax to a customer; it looks careless at best and leaks the tooling at worst. The
check knows the syntaxes in common use: `{{ x }}` (Jinja, Handlebars, Liquid), `{% ... %}`,
`*|FNAME|*` (Mailchimp), `%%First_Name%%` (Marketing Cloud), `[FirstName]`, `${name}`,
`<<name>>`, `{!Contact.Name}` (Salesforce), and `{x}` in subjects, in the subject, the text and
the HTML (including link targets).

Bad:
    Subject: {FirstName}, your renewal is due
    Hi *|FNAME|*, ...

Good:
    Subject: Peter, your renewal is due
    Hi Peter, ...
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sendguard.message.model import Message
from sendguard.report import Finding, Location, Severity
from sendguard.rules.base import Rule, body_location, header_location

MERGE_WORDS = r"(?:first|last|full|given|sur|company|customer|client|contact|account|recipient|user|product|insert|your)?[ _]?(?:name|names|company|email|date|amount|address|title|phone|city|country|number|plan|product|balance|link|url|salutation)"
TAGS = [
    re.compile(r"\{\{-?\s*[^{}\n]{1,60}?\s*-?\}\}"),
    re.compile(r"\{%-?\s*[^{}\n]{1,80}?\s*-?%\}"),
    re.compile(r"\*\|[A-Z0-9_:]{1,40}\|\*"),
    re.compile(r"%%[=]?[A-Za-z][\w.\-]{0,40}[=]?%%"),
    re.compile(r"\$\{[A-Za-z_][\w.]{0,40}\}"),
    # <<first_name>> / <<Contact.Name>>; spaced forms only with a merge word (<<First Name>>), so Lotus Notes
    # attachment notes such as <<agenda.doc>> or <<Concur Expense Document>> do not fire.
    re.compile(
        r"<<\s*[A-Za-z_][\w.]{0,40}(?<!\.[A-Za-z]{3})(?<!\.[A-Za-z]{4})\s*>>|<<\s*" + MERGE_WORDS + r"\s*>>",
        re.I,
    ),
    re.compile(r"\{![A-Za-z_][\w.]{0,60}\}"),
    re.compile(r"\[[A-Z][A-Za-z]*(?:[ _][A-Z][A-Za-z]*){0,3}\]"),
    re.compile(r"(?<![{$!])\{[A-Za-z_][\w.]{0,40}\}(?!\})"),
]
BRACKET_MERGE = re.compile(r"^\[" + MERGE_WORDS + r"\]$", re.I)
BRACE_MERGE = re.compile(r"^\{" + MERGE_WORDS + r"\}$", re.I)
HTML_ATTR = re.compile(r"""(?:href|src|alt|title)\s*=\s*["']([^"']*)["']""", re.I)


def placeholders(text: str, *, subject: bool = False) -> list[re.Match[str]]:
    """Merge tags in `text`. `[Word]` and `{word}` count only when they look like a merge field
    (or, for `{word}`, anywhere in a subject) so "[EXTERNAL]" or code braces do not fire."""
    found: list[re.Match[str]] = []
    for i, pattern in enumerate(TAGS):
        for m in pattern.finditer(text):
            tag = m.group(0)
            if i == 7 and not BRACKET_MERGE.match(tag.replace(" ", "")) and not BRACKET_MERGE.match(tag):
                continue
            if i == 8 and not subject and not BRACE_MERGE.match(tag):
                continue
            if i == 8 and tag.strip("{}").lower() in ("test", "draft"):
                continue  # a test marker, reported by test-marker
            if any(m.start() < f.end() and f.start() < m.end() for f in found):
                continue
            found.append(m)
    return sorted(found, key=lambda m: m.start())


class UnresolvedPlaceholder(Rule):
    id = "unresolved-placeholder"
    default_severity = Severity.BLOCK

    def check(self, msg: Message) -> Iterator[Finding]:
        for m in placeholders(msg.subject, subject=True):
            yield self._finding(
                m.group(0), "the subject", header_location("Subject", msg.subject, m.start(), m.end())
            )
        seen: set[str] = set()
        for line in msg.new_lines:
            for m in placeholders(line.text):
                seen.add(m.group(0))
                yield self._finding(
                    m.group(0), f"line {line.number}", body_location(line, m.start(), m.end())
                )
        if msg.html_source:
            for line in msg.html_lines:
                for m in placeholders(line.text):
                    if m.group(0) not in seen and not line.quoted:
                        seen.add(m.group(0))
                        yield self._finding(
                            m.group(0),
                            "the HTML part",
                            Location("html", line=line.number, start=m.start(), end=m.end(), text=line.text),
                        )
            for attr in HTML_ATTR.finditer(msg.html_source):
                for m in placeholders(attr.group(1)):
                    if m.group(0) not in seen:
                        seen.add(m.group(0))
                        yield self._finding(
                            m.group(0),
                            "an HTML link or image",
                            Location("html", start=m.start(), end=m.end(), text=attr.group(1)),
                        )

    def _finding(self, tag: str, where: str, location: Location) -> Finding:
        return self.finding(
            f"Unfilled merge tag {tag} in {where}: the recipient would see it as written",
            location,
            tag,
            "Run the merge (or fill the field) before sending; if the field is empty for this recipient, use a fallback.",
        )

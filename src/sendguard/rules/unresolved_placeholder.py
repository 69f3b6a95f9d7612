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

from sendguard.message.model import BodyLine, Message
from sendguard.report import Finding, Location, Severity
from sendguard.rules.base import Rule, body_location, header_location

# Syntaxes no prose uses: always a merge tag.
DISTINCT_TAGS = [
    re.compile(r"\{\{-?\s*[A-Za-z_][^{}\n]{0,60}?\s*-?\}\}"),  # {{ first_name }}, {{ user.name | upper }}
    re.compile(r"\{%-?\s*[A-Za-z_][^{}\n]{0,80}?\s*-?%\}"),  # {% if vip %}
    re.compile(r"\*\|[A-Z0-9_:]{1,40}\|\*"),  # *|FNAME|*
    re.compile(r"%%=?[A-Za-z][\w.\-]{0,40}=?%%"),  # %%First_Name%%
    re.compile(r"\{![A-Za-z_][\w.]{0,60}\}"),  # {!Contact.FirstName}
]
# Syntaxes that also occur in code, file notes and prose ("${args}", "<<agenda.doc>>", "[Appendix]",
# "{timeout}"): a merge tag only when the name inside looks like a merge field.
LOOSE_TAGS = [
    re.compile(r"(?<![\w$])\$\{([A-Za-z_][\w.]{0,40})\}"),  # ${name}
    re.compile(r"<<\s*([A-Za-z_][\w. ]{0,40}?)\s*>>"),  # <<First Name>>
    re.compile(r"\[([A-Z][A-Za-z]*(?:[ _][A-Z][A-Za-z]*){0,3})\]"),  # [FirstName], [Company Name]
    re.compile(r"(?<![{$!%\w])\{([A-Za-z_][\w.]{0,40})\}(?!\})"),  # {first_name}; in a subject, any {word}
]
SUBJECT_BRACES = LOOSE_TAGS[3]
TAG_CHARACTERS = re.compile(r"[{|%<\[]")  # one of these is in every tag syntax above
MERGE_FIELD_WORDS = {
    "name", "names", "firstname", "lastname", "fullname", "fname", "lname", "first", "last", "surname", "company",
    "email", "date", "amount", "address", "phone", "salutation", "city", "country", "account", "customer",
    "contact", "recipient", "product", "plan", "balance", "unsubscribe", "invoice", "order", "insert",
}  # fmt: skip
FILE_NOTE = re.compile(r"\.[A-Za-z0-9]{2,4}$")  # <<agenda.doc>>: an attachment note, not a tag
WORD_SPLIT = re.compile(r"[ _.\-]+|(?<=[a-z])(?=[A-Z])")
HTML_ATTR = re.compile(r"""(?:href|src|alt|title)\s*=\s*["']([^"']*)["']""", re.I)
# The same, for lower-cased ASCII: on ASCII text, where re.I folds nothing but A-Z (its other
# folds, ſ ı İ K, are not ASCII), it finds the same spans about three times faster.
HTML_ATTR_LOWER = re.compile(HTML_ATTR.pattern)


def looks_like_merge_field(name: str) -> bool:
    if FILE_NOTE.search(name):
        return False
    return any(w.lower() in MERGE_FIELD_WORDS for w in WORD_SPLIT.split(name) if w)


def placeholders(text: str, *, subject: bool = False) -> list[re.Match[str]]:
    """Merge tags in `text`, in order. In a subject any `{word}` counts, except test markers like {Test}."""
    if not TAG_CHARACTERS.search(text):
        return []  # most lines: every syntax above needs one of these characters
    found: list[re.Match[str]] = []
    candidates = [m for p in DISTINCT_TAGS for m in p.finditer(text)]
    for pattern in LOOSE_TAGS:
        for m in pattern.finditer(text):
            in_subject = subject and pattern is SUBJECT_BRACES and m.group(1).lower() not in ("test", "draft")
            if in_subject or looks_like_merge_field(m.group(1)):
                candidates.append(m)
    for m in candidates:
        if not any(m.start() < f.end() and f.start() < m.end() for f in found):
            found.append(m)
    return sorted(found, key=lambda m: m.start())


def _with_tag_characters(lines: list[BodyLine]) -> list[BodyLine]:
    """`lines`, or none when no line has a tag character: one scan of all the text (no tag spans
    a line) instead of one per line, and most messages have none."""
    return lines if TAG_CHARACTERS.search("\n".join(ln.text for ln in lines)) else []


def _attribute_values(html: str) -> list[str]:
    """The values of the href, src, alt and title attributes in `html`, in order."""
    if html.isascii():
        return [html[m.start(1) : m.end(1)] for m in HTML_ATTR_LOWER.finditer(html.lower())]
    return [m.group(1) for m in HTML_ATTR.finditer(html)]


class UnresolvedPlaceholder(Rule):
    id = "unresolved-placeholder"
    default_severity = Severity.BLOCK

    def check(self, msg: Message) -> Iterator[Finding]:
        for m in placeholders(msg.subject, subject=True):
            yield self._finding(
                m.group(0), "the subject", header_location("Subject", msg.subject, m.start(), m.end())
            )
        seen: set[str] = set()
        for line in _with_tag_characters(msg.new_lines):
            for m in placeholders(line.text):
                seen.add(m.group(0))
                yield self._finding(
                    m.group(0), f"line {line.number}", body_location(line, m.start(), m.end())
                )
        if msg.html_source:
            for line in _with_tag_characters(msg.html_lines):
                for m in placeholders(line.text):
                    if m.group(0) not in seen and not line.quoted:
                        seen.add(m.group(0))
                        yield self._finding(
                            m.group(0),
                            "the HTML part",
                            Location("html", line=line.number, start=m.start(), end=m.end(), text=line.text),
                        )
            for value in _attribute_values(msg.html_source):
                for m in placeholders(value):
                    if m.group(0) not in seen:
                        seen.add(m.group(0))
                        yield self._finding(
                            m.group(0),
                            "an HTML link or image",
                            Location("html", start=m.start(), end=m.end(), text=value),
                        )

    def _finding(self, tag: str, where: str, location: Location) -> Finding:
        return self.finding(
            f"Unfilled merge tag {tag} in {where}: the recipient would see it as written",
            location,
            tag,
            "Run the merge (or fill the field) before sending; if the field is empty for this recipient, use a fallback.",
        )

"""The text says something is attached, but the message has no attachment.

Why it matters: "please find the invoice attached" with nothing attached costs a round trip,
and for an invoice or a contract it delays payment or signature. Only the author's new text
counts (a quoted "see attached" from earlier in the thread does not), and negations are
understood: "I will send the file separately", "the report is not attached", "the attachment
you sent", "this email and any attachments are confidential".

Bad (no attachment):
    Please find attached the signed contract.

Good:
    Please find attached the signed contract.     (with contract.pdf attached)
    I will send the signed contract separately.   (no attachment needed)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sendguard.message.model import Attachment, Message
from sendguard.report import Finding, Location, Severity
from sendguard.rules.base import Rule, body_location, header_location

CLAIMS = re.compile(
    r"\b(?:(?:I|we)(?:'ve| have|'m| am|'re| are)? (?:attached|attaching|enclosed|enclosing|included the attached)"
    r"|(?:please |kindly )?(?:find|see) (?:the )?(?:attached|enclosed|attachment)"
    r"|attached (?:is|are|please find|you will find|you'll find|herewith|to this (?:e-?mail|message)|for your (?:review|reference|records|convenience)|file|document|pdf|invoice|report|spreadsheet|copy|form|quote|quotation|contract|screenshot|agreement|statement|proposal|slides|deck|logs?|photos?|image|cv|resume|résumé)"
    r"|(?:is|are|have been|has been) (?:attached|enclosed)"
    r"|enclosed (?:is|are|please find|you will find)"
    r"|in the attachment|the attached|attachments? (?:below|herewith|included)"
    r"|(?:open|read|see|check|review) the attachment|attached below|(?:message|files?|images?|pictures?|photos?) (?:is |are )?attached"
    r"|(?<=, )attached(?=\s*[.!]?\s*$)|^\w+(?: \w+)? attachments?(?=\s*[.!]\s*$)"
    r"|\bPFA\b|I'll attach|I will attach|attaching (?:the|a|my|our))\b",
    re.IGNORECASE,
)
NEGATIONS = re.compile(
    r"\bnot (?:be )?(?:attached|enclosed|included)\b|\bseparately\b|\bseparate (?:e-?mail|message)\b"
    r"|\byour attachment|\battachment you\b|\byou (?:have |had )?(?:attached|enclosed|sent)\b|\bthe attached (?:file |document )?you\b"
    r"|\bno attachments?\b|\b(?:can(?:no|')t|could(?:n't| not)|unable to) (?:attach|open)\b|\btoo (?:large|big) to attach\b"
    r"|\bany (?:attachments?|files transmitted)\b|\band (?:its|any) attachments\b|\battachments? (?:is|are|was|were) (?:removed|stripped|blocked)\b"
    r"|\bwithout (?:the |an? )?attachment\b|\bforgot to attach\b(?! it)",
    re.IGNORECASE,
)
SUBJECT_CLAIM = re.compile(r"\b(?:attached|attachment|enclosed)\b", re.IGNORECASE)
SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _is_a_file(attachment: Attachment) -> bool:
    """Attached files count; inline images without a name are logos and signatures, not the file meant."""
    if not attachment.inline:
        return True
    named = attachment.filename not in ("(unnamed)", "(inline)")
    return not attachment.content_type.startswith("image/") or (
        named and not attachment.filename.startswith("image0")
    )


class MissingAttachment(Rule):
    id = "missing-attachment"
    default_severity = Severity.WARN

    def check(self, msg: Message) -> Iterator[Finding]:
        if any(_is_a_file(a) for a in msg.attachments):
            return
        subject_claim = SUBJECT_CLAIM.search(msg.subject)
        if subject_claim and not NEGATIONS.search(msg.subject):
            yield self._finding(
                header_location("Subject", msg.subject, subject_claim.start(), subject_claim.end()),
                subject_claim.group(0),
            )
            return
        for line in msg.content_lines:  # below the signature or list footer is boilerplate, not a claim
            if line.quoted:
                continue
            for sentence in SENTENCE.finditer(line.text):
                text = sentence.group(0)
                claim = CLAIMS.search(text)
                if claim and not NEGATIONS.search(text):
                    start = sentence.start() + claim.start()
                    yield self._finding(
                        body_location(line, start, start + len(claim.group(0))), claim.group(0)
                    )
                    return

    def _finding(self, location: Location, evidence: str) -> Finding:
        return self.finding(
            f"The text says something is attached ({evidence!r}), but the message has no attachment",
            location,
            evidence,
            "Attach the file, or reword if you will send it separately.",
        )

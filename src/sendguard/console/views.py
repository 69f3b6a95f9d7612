"""What the templates show, computed from a Report and the parsed message.

Highlighting is done by splitting text into (segment, marked) pairs; the template escapes each
segment and wraps the marked ones in <mark>. No HTML is ever built from message text here, so a
held message cannot inject markup however its spans fall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sendguard.message.model import Message
from sendguard.report import Finding, Report, Severity

Segments = list[tuple[str, bool]]


def mark_spans(text: str, spans: list[tuple[int, int]]) -> Segments:
    """Split `text` into (segment, marked) pairs, merging overlapping spans and clamping bad ones."""
    cleaned = sorted((max(0, s), min(len(text), e)) for s, e in spans if e > s)
    merged: list[tuple[int, int]] = []
    for start, end in cleaned:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out: Segments = []
    pos = 0
    for start, end in merged:
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text) or not out:
        out.append((text[pos:], False))
    return out


@dataclass(frozen=True)
class FindingView:
    rule: str
    severity: str
    where: str
    message: str
    line_label: str  # "12" for a body line, "Cc:" for a header, "" when there is no text
    evidence: Segments  # the offending line (or header value) with the span marked
    suggestion: str


def finding_view(f: Finding) -> FindingView:
    loc = f.location
    if loc.text is None:
        evidence: Segments = []
    elif loc.start is not None and loc.end is not None:
        evidence = mark_spans(loc.text, [(loc.start, loc.end)])
    else:
        evidence = [(loc.text, False)]
    if loc.line is not None:
        label = str(loc.line)
    elif loc.text is not None and loc.field not in ("message", "attachment"):
        label = loc.field + ":"
    else:
        label = ""
    return FindingView(f.rule, str(f.severity), loc.describe(), f.message, label, evidence, f.suggestion)


@dataclass(frozen=True)
class BodyLineView:
    number: int
    quoted: bool
    segments: Segments
    severity: str  # the worst severity of findings on this line, "" when none


def body_view(msg: Message, report: Report) -> list[BodyLineView]:
    """The body as the guard read it, with every body finding's span marked on its line."""
    spans: dict[int, list[tuple[int, int]]] = {}
    worst: dict[int, Severity] = {}
    for f in report.findings:
        loc = f.location
        if loc.field != "body" or loc.line is None:
            continue
        worst[loc.line] = max(worst.get(loc.line, Severity.OFF), f.severity)
        if loc.start is not None and loc.end is not None:
            spans.setdefault(loc.line, []).append((loc.start, loc.end))
    return [
        BodyLineView(
            ln.number,
            ln.quoted,
            mark_spans(ln.text, spans.get(ln.number, [])),
            str(worst[ln.number]) if ln.number in worst else "",
        )
        for ln in msg.lines
    ]


def age(since: datetime, now: datetime | None = None) -> str:
    """'45 s', '12 min', '3 h', '2 d': how long a message has waited."""
    now = now or datetime.now(UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"

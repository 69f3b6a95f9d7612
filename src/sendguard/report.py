"""Findings and reports: what the guard found, where, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Severity of a finding; `off` disables a rule. Ordered so max() gives the worst."""

    OFF = 0
    INFO = 1
    WARN = 2
    BLOCK = 3

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f'expected "off", "info", "warn" or "block" (not {value!r})') from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Location:
    """Where a finding is: a header field, or a line of the body (1-based, as shown to the author).

    `text` is the whole offending line (or header value) and `start`/`end` the character span
    inside it, so any renderer can show and underline the evidence without the message.
    """

    field: str  # "Subject", "To", "Cc", "Bcc", "From", "body", "attachment", "message"
    line: int | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None
    quoted: bool = False

    def describe(self) -> str:
        if self.field == "body" and self.line is not None:
            return f"body line {self.line}" + (" (quoted text)" if self.quoted else "")
        if self.field == "html":
            return "HTML part" + (f" line {self.line}" if self.line is not None else "")
        if self.field in ("message", "attachment"):
            return self.field
        return f"{self.field} header"

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "line": self.line,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "quoted": self.quoted,
        }


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    location: Location
    evidence: str
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "location": self.location.to_dict(),
            "evidence": self.evidence,
            "suggestion": self.suggestion,
        }


@dataclass
class Report:
    """The result of checking one message."""

    findings: list[Finding] = field(default_factory=list)
    path: str | None = None
    subject: str | None = None

    @property
    def verdict(self) -> str:
        worst = max((f.severity for f in self.findings), default=Severity.OFF)
        if worst >= Severity.BLOCK:
            return "block"
        if worst >= Severity.WARN:
            return "warn"
        return "pass"

    def rules_fired(self) -> list[str]:
        return sorted({f.rule for f in self.findings})

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
        }

"""What every rule is: a stable id, a default severity, a documented rationale, and `check()`.

A rule is built once per Guard (so it may precompute indexes from the org) and then only reads
the parsed `Message`: no clock, network or disk inside `check()`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from sendguard.message.model import Message
from sendguard.org.model import Org
from sendguard.report import Finding, Location, Severity


class Rule:
    id: ClassVar[str]
    default_severity: ClassVar[Severity]
    # Options a user may set under [rules.<id>] besides `severity`: name -> expected Python type.
    options: ClassVar[Mapping[str, type]] = {}

    def __init__(self, org: Org, options: Mapping[str, Any], severity: Severity) -> None:
        self.org = org
        self.config = dict(options)
        self.severity = severity

    def check(self, msg: Message) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        message: str,
        location: Location,
        evidence: str,
        suggestion: str,
        *,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding at the rule's configured severity; `severity` may only lower it (for advice)."""
        level = self.severity if severity is None else min(severity, self.severity)
        return Finding(self.id, level, message, location, evidence, suggestion)

    @classmethod
    def doc(cls) -> str:
        """The rule's rationale and examples: its module docstring."""
        return (sys.modules[cls.__module__].__doc__ or "").strip()

    @classmethod
    def summary(cls) -> str:
        return cls.doc().splitlines()[0] if cls.doc() else ""


def body_location(line: Any, start: int | None = None, end: int | None = None) -> Location:
    """Location of a span on a body line (a `BodyLine`)."""
    return Location("body", line=line.number, start=start, end=end, text=line.text, quoted=line.quoted)


def header_location(
    field_name: str, value: str, start: int | None = None, end: int | None = None
) -> Location:
    """Location of a span inside a header value (Subject, To, Cc, ...)."""
    return Location(field_name, start=start, end=end, text=value)

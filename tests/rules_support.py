"""Shared runner for rule tests: every case is a real message through the real guard."""

from __future__ import annotations

from dataclasses import dataclass, field

from sendguard.guard import Guard
from sendguard.report import Finding
from support import build_message, example_guard


@dataclass(frozen=True)
class Case:
    """A message for a rule test. `expect` is a substring the finding's message or evidence must contain."""

    name: str
    message: dict = field(default_factory=dict)
    expect: str = ""

    def __str__(self) -> str:
        return self.name


_GUARD: Guard | None = None


def guard() -> Guard:
    global _GUARD
    if _GUARD is None:
        _GUARD = example_guard()
    return _GUARD


def findings(rule_id: str, case: Case, g: Guard | None = None) -> list[Finding]:
    report = (g or guard()).check(build_message(**case.message))
    return [f for f in report.findings if f.rule == rule_id]


def assert_fires(rule_id: str, case: Case, g: Guard | None = None) -> list[Finding]:
    found = findings(rule_id, case, g)
    assert found, f"{rule_id} did not fire on {case.name}"
    if case.expect:
        assert any(case.expect in f.message or case.expect in f.evidence for f in found), [
            f.message for f in found
        ]
    return found


def assert_quiet(rule_id: str, case: Case, g: Guard | None = None) -> None:
    found = findings(rule_id, case, g)
    assert not found, f"{rule_id} fired on near-miss {case.name}: {[f.message for f in found]}"

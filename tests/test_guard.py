"""The guard's own behaviour around its rules: a rule that fails, and checking with some rules only."""

from __future__ import annotations

import pytest

import sendguard
from sendguard.report import Severity
from support import EXAMPLE_CONFIG, EXAMPLE_MESSAGES


@pytest.fixture(scope="module")
def guard() -> sendguard.Guard:
    return sendguard.load(EXAMPLE_CONFIG)


def _break(rule: sendguard.rules.base.Rule, monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(msg: object) -> list:
        raise KeyError("boom")

    monkeypatch.setattr(rule, "check", fails)


def test_a_failing_rule_holds_the_message(guard: sendguard.Guard, monkeypatch: pytest.MonkeyPatch) -> None:
    spelling = next(r for r in guard.rules if r.id == "spelling")
    _break(spelling, monkeypatch)
    report = guard.check(EXAMPLE_MESSAGES / "01-good-reply-with-attachment.eml")
    [finding] = report.findings
    assert (finding.rule, finding.severity, report.verdict) == ("spelling", Severity.BLOCK, "block")
    assert "KeyError" in finding.message and finding.message.endswith("held to be safe")
    assert finding.evidence.startswith("test_guard.py:")  # where it failed


def test_a_failing_rule_after_the_decision_keeps_its_own_severity(
    guard: sendguard.Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    spelling = next(r for r in guard.rules if r.id == "spelling")
    _break(spelling, monkeypatch)
    msg = guard.parse(EXAMPLE_MESSAGES / "01-good-reply-with-attachment.eml")
    report = guard.check_message(msg, [spelling], hold_on_failure=False)
    [finding] = report.findings
    assert (finding.severity, report.verdict) == (Severity.WARN, "warn")
    assert finding.message.endswith("the message was not held for it")


def test_checking_in_parts_gives_the_whole_check_in_the_same_order(guard: sendguard.Guard) -> None:
    for path in sorted(EXAMPLE_MESSAGES.glob("*.eml")):
        msg = guard.parse(path)
        whole = guard.check_message(msg).findings
        parts = [f for rule in reversed(guard.rules) for f in guard.check_message(msg, [rule]).findings]
        guard.sort_findings(parts)
        assert parts == whole, path.name

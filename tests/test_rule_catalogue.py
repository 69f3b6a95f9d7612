"""Every registered rule is documented and tested with both triggers and near-misses."""

from __future__ import annotations

import importlib
import re

import pytest

from sendguard.report import Severity
from sendguard.rules import RULES


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_documented(rule) -> None:
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.id), "ids are stable kebab-case"
    assert isinstance(rule.default_severity, Severity)
    doc = rule.doc()
    assert rule.summary() and len(rule.summary()) < 100
    assert "Why it matters" in doc and "Bad" in doc and "Good" in doc, f"{rule.id} doc needs why / Bad / Good"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_triggers_and_near_misses(rule) -> None:
    module = importlib.import_module("rules.test_" + rule.id.replace("-", "_"))
    assert len(getattr(module, "TRIGGERS", [])) >= 1, f"{rule.id}: no TRIGGERS"
    assert len(getattr(module, "NEAR_MISSES", [])) >= 1, f"{rule.id}: no NEAR_MISSES"


def test_ids_are_unique() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))

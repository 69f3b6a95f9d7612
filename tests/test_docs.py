"""The README documents what ships: every rule in the table, the two commands, every CLI command."""

from __future__ import annotations

import re

from sendguard.cli import build_parser
from sendguard.rules import RULES
from support import ROOT

README = (ROOT / "README.md").read_text()


def test_every_rule_is_in_the_readme_table() -> None:
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (\w+) \|", README, re.M))
    for rule in RULES:
        assert rows.get(rule.id) == str(rule.default_severity), f"README rules table: {rule.id}"


def test_readme_gives_the_two_commands_and_ci_runs_the_second() -> None:
    assert "make demo" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_cli_command_is_in_the_readme() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"sendguard {name}" in README, f"README does not mention `sendguard {name}`"

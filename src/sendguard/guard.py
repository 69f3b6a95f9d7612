"""Guard: the one `check()` every shell (CLI, relay, campaign, console) calls."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sendguard.config import Config, rule_settings
from sendguard.errors import ConfigError
from sendguard.message.model import Message
from sendguard.message.parse import DEFAULT_MAX_BYTES, MessageSource, parse
from sendguard.org.loaders import load_org
from sendguard.org.model import Org
from sendguard.report import Finding, Location, Report, Severity
from sendguard.rules import RULES
from sendguard.rules.base import Rule

if TYPE_CHECKING:
    from sendguard.campaign.report import CampaignReport


class Guard:
    """Checks messages against one organisation. Build once (indexes, dictionaries), check many."""

    def __init__(self, config: Config, org: Org) -> None:
        self.config = config
        self.org = org
        max_mb = config.get("organization", "max_message_mb", (int, float), DEFAULT_MAX_BYTES / 1048576)
        self.max_bytes = int(max_mb * 1048576)
        self.dollar_currency = config.get("organization", "currency", str, "USD").upper()
        self.rules: list[Rule] = _build_rules(config, org)
        self._rule_position = {rule.id: i for i, rule in enumerate(self.rules)}

    def parse(self, source: MessageSource) -> Message:
        return parse(source, self.org, max_bytes=self.max_bytes, dollar_currency=self.dollar_currency)

    def check(self, source: MessageSource) -> Report:
        """Check raw bytes, a path to an .eml file, or an EmailMessage. Raises InputError for unusable input."""
        msg = self.parse(source)
        report = self.check_message(msg)
        if isinstance(source, (str, Path)):
            report.path = str(source)
        return report

    def check_message(
        self, msg: Message, rules: Sequence[Rule] | None = None, *, hold_on_failure: bool = True
    ) -> Report:
        """Run `rules` (default: all of this guard's) on a parsed message.

        A rule that raises gives a finding of its own instead of ending the check: a blocking one
        (the message is held to be safe) unless `hold_on_failure` is False, for a caller whose
        decision on the message was already taken without that rule (the relay's deferred rules).
        """
        findings: list[Finding] = []
        for rule in self.rules if rules is None else rules:
            try:
                findings.extend(rule.check(msg))
            except Exception as exc:  # noqa: BLE001 - a broken rule must hold the message, not pass it
                findings.append(_failure(rule, exc, hold_on_failure))
        self.sort_findings(findings)
        return Report(findings=findings, subject=msg.subject)

    def sort_findings(self, findings: list[Finding]) -> None:
        """Worst first, headers before the body, then by line and by rule, as `check` reports them."""
        position = self._rule_position
        findings.sort(
            key=lambda f: (
                -f.severity,
                f.location.field == "body",
                f.location.line or 0,
                position.get(f.rule, -1),
            )
        )

    def check_campaign(
        self,
        template: str | Path,
        audience: Any,
        *,
        mode: str | None = None,
        segment: Sequence[str] | None = None,
        expect_size: int | None = None,
        engine: str = "local",
        scheduler: Any = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> CampaignReport:
        """Campaign pre-flight: a template with merge tags and its audience (CSV/Parquet path, Arrow table
        or DataFrame). See `sendguard.campaign.check_campaign`; needs the `campaign` extra."""
        from sendguard.campaign import check_campaign

        return check_campaign(
            self,
            template,
            audience,
            mode=mode,
            segment=segment,
            expect_size=expect_size,
            engine=engine,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )


def _failure(rule: Rule, exc: Exception, hold: bool) -> Finding:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    outcome = "held to be safe" if hold else "the message was not held for it"
    return Finding(
        rule.id,
        Severity.BLOCK if hold else rule.severity,
        f"the {rule.id} check failed on this message ({type(exc).__name__}: {exc}); {outcome}",
        Location("message"),
        f"{Path(where.filename).name}:{where.lineno}",
        "Review the message by hand, and report this as a sendguard bug with the message attached.",
    )


def _build_rules(config: Config, org: Org) -> list[Rule]:
    settings = rule_settings(config)
    known = {r.id: r for r in RULES}
    for rule_id in settings:
        if rule_id not in known:
            raise config.error(
                f"unknown rule {rule_id!r} (see `sendguard rules`)", section=f"rules.{rule_id}"
            )
    rules: list[Rule] = []
    for rule_cls in RULES:
        options = dict(settings.get(rule_cls.id, {}))
        severity = rule_cls.default_severity
        if "severity" in options:
            try:
                severity = Severity.parse(str(options.pop("severity")))
            except ValueError as exc:
                raise config.error(
                    f"[rules.{rule_cls.id}] severity: {exc}", section=f"rules.{rule_cls.id}", key="severity"
                ) from None
        for key, value in options.items():
            expected = rule_cls.options.get(key)
            if expected is None:
                allowed = ", ".join(["severity", *rule_cls.options]) or "severity"
                raise config.error(
                    f"unknown option {key!r} for rule {rule_cls.id} (expected: {allowed})",
                    section=f"rules.{rule_cls.id}",
                    key=key,
                )
            if not isinstance(value, expected):
                raise config.error(
                    f"[rules.{rule_cls.id}] {key} must be a {expected.__name__}",
                    section=f"rules.{rule_cls.id}",
                    key=key,
                )
        if severity is Severity.OFF:
            continue
        try:
            rules.append(rule_cls(org, options, severity))
        except ConfigError:
            raise
        except (OSError, ValueError) as exc:
            raise config.error(
                f"rule {rule_cls.id} cannot start: {exc}", section=f"rules.{rule_cls.id}"
            ) from None
    return rules


def load(path: str | Path | None = None) -> Guard:
    """Load sendguard.toml (default: $SENDGUARD_CONFIG or ./sendguard.toml) and build a Guard."""
    config = Config.load(path)
    return Guard(config, load_org(config))

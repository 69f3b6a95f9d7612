"""Campaign pre-flight: check a template and its audience before the first message goes out.

    guard = sendguard.load("sendguard.toml")
    report = guard.check_campaign("thanks.eml", "audience.csv", mode="live")
    report.verdict, report.would_send, report.held, report.reasons

The template is checked once by every rule; each recipient only for what differs (see `plan`).
The audience is streamed in chunks over all cores, or over a Dask cluster, with the same results.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sendguard.campaign.audience import AudienceSource, open_audience, parse_segment
from sendguard.campaign.engine import default_workers, forget, run_dask, run_local
from sendguard.campaign.plan import CampaignOptions, Plan
from sendguard.campaign.report import CampaignReport
from sendguard.campaign.settings import (
    EMPTY_AUDIENCE,
    MISSING_COLUMN,
    MISSING_MERGE_FIELD,
    RECIPIENT_REASONS,
    TOO_MANY_HELD,
    VOLUME_EXCEEDED,
    load_settings,
)
from sendguard.campaign.template import MODES, load_template
from sendguard.errors import InputError
from sendguard.report import Finding, Location, Severity

if TYPE_CHECKING:
    from sendguard.guard import Guard

__all__ = ["CampaignReport", "check_campaign"]

ENGINES = ("local", "dask")


def check_campaign(
    guard: Guard,
    template: str | Path,
    audience: AudienceSource,
    *,
    mode: str | None = None,
    segment: Sequence[str] | None = None,
    expect_size: int | None = None,
    engine: str = "local",
    scheduler: Any = None,
    workers: int | None = None,
    progress: bool = False,
) -> CampaignReport:
    """Check a campaign: `template` (.eml with optional `+++` TOML header, or a .toml manifest) sent to
    `audience` (CSV or Parquet path, Arrow table or DataFrame).

    `mode`, `segment` (conditions or named segments) and `expect_size` override the template header.
    `engine="local"` uses `workers` processes (default: all cores for audiences of 250,000 or more,
    else this process); `engine="dask"` uses `scheduler`
    (a `distributed.Client` or an address), or a LocalCluster of `workers` processes when None.
    Raises InputError / ConfigError for unusable input.
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise InputError(f'engine must be "local" or "dask" (not {engine!r})')
    settings = load_settings(guard.config, {r.id for r in guard.rules})
    tpl = load_template(template, settings.email_column)
    mode = mode or tpl.meta.mode or "live"
    if mode not in MODES:
        raise InputError(f'mode must be "test" or "live" (not {mode!r})')
    conditions = parse_segment(segment if segment else tpl.meta.segment, settings.named_segments)
    expected = expect_size if expect_size is not None else tpl.meta.expected_size
    if expected is not None and expected < 0:
        raise InputError(f"expected size must be a positive number (not {expected})")

    source = open_audience(audience, settings.audience_url)
    if engine == "dask" and source.kind == "sql":
        raise InputError("the Dask engine reads CSV or Parquet: check a SQL audience with --engine local")
    if tpl.email_column not in source.columns:
        raise InputError(
            f"the audience has no {tpl.email_column!r} column for the recipient's address "
            f"(columns: {', '.join(source.columns)})",
            path=source.label,
        )
    for cond in conditions:
        if cond.column not in source.columns:
            raise InputError(
                f"the segment condition {cond} names column {cond.column!r}, which the audience does not have "
                f"(columns: {', '.join(source.columns)})",
                path=source.label,
            )
    options = CampaignOptions(
        config_path=str(guard.config.path.resolve()),
        template_path=str(Path(template).resolve()),
        stamp=(guard.config.path.stat().st_mtime, Path(template).stat().st_mtime),
        mode=mode,
        segment=conditions,
        settings=settings,
    )
    plan = Plan(guard, tpl, options)
    columns = {tpl.email_column} | tpl.columns | {c.column for c in conditions}
    try:
        if engine == "dask":
            totals = run_dask(
                plan,
                source,
                columns,
                scheduler=scheduler,
                workers=workers or default_workers(),
                progress=progress,
            )
        else:
            totals = run_local(plan, source, columns, workers=workers, progress=progress)
    finally:
        forget(plan)

    campaign_findings = _campaign_findings(
        tpl.columns - set(source.columns), expected, totals.audience, settings
    )
    recipient_findings = [
        _reason_finding(reason, count, totals, settings) for reason, count in totals.reasons.items()
    ]
    recipient_findings.sort(key=lambda f: (-f.severity, -totals.reasons[f.rule], f.rule))
    held_share = totals.held / totals.audience if totals.audience else 0.0
    if held_share > settings.max_held_share:
        campaign_findings.append(
            Finding(
                TOO_MANY_HELD,
                Severity.BLOCK,
                f"{totals.held:,} of {totals.audience:,} recipients ({held_share:.1%}) are held, more than the "
                f"{settings.max_held_share:.0%} allowed: the audience or the template is probably wrong",
                Location("message"),
                f"{held_share:.1%} held",
                "Fix the causes listed under held recipients, or raise [campaign] max_held_share if this is expected.",
            )
        )
    template_findings = plan.display_template_findings()
    elapsed = time.perf_counter() - started
    return CampaignReport(
        findings=template_findings + campaign_findings + recipient_findings,
        path=str(template),
        subject=tpl.unsentinel(plan.base.subject),
        name=tpl.meta.name,
        mode=mode,
        segment=[str(c) for c in conditions],
        expected_size=expected,
        audience=totals.audience,
        would_send=totals.audience - totals.held,
        held=totals.held,
        reasons=totals.reasons,
        samples=totals.samples,
        notes=totals.notes,
        template_findings=template_findings,
        campaign_findings=campaign_findings,
        recipient_findings=recipient_findings,
        run={
            "engine": engine,
            "workers": totals.workers,
            "seconds": round(elapsed, 3),
            "recipients_per_second": round(totals.audience / elapsed) if elapsed > 0 else None,
            "checked_in_full": totals.checked_in_full,
        },
    )


def _campaign_findings(
    missing_columns: set[str], expected: int | None, audience: int, settings: Any
) -> list[Finding]:
    findings = []
    if audience == 0:
        findings.append(
            Finding(
                EMPTY_AUDIENCE,
                Severity.WARN,
                "The audience has no recipients: nothing would be sent",
                Location("message"),
                "0 rows",
                "Check the audience file or query is the one meant for this campaign.",
            )
        )
    for column in sorted(missing_columns):
        findings.append(
            Finding(
                MISSING_COLUMN,
                Severity.BLOCK,
                f"The template uses {column!r}, but the audience has no such column: every recipient would get it empty",
                Location("message"),
                column,
                f"Add a {column!r} column to the audience, or remove the merge tag from the template.",
            )
        )
    if expected is not None and audience > expected * settings.max_size_factor:
        findings.append(
            Finding(
                VOLUME_EXCEEDED,
                Severity.BLOCK,
                f"The audience has {audience:,} recipients, but the campaign expects {expected:,} "
                f"(at most {settings.max_size_factor:g}× that is allowed)",
                Location("message"),
                f"{audience:,} > {expected:,}",
                "Check the audience query or file is the one meant for this campaign, or correct expected_size.",
            )
        )
    return findings


def _reason_finding(reason: str, count: int, totals: Any, settings: Any) -> Finding:
    """One finding per reason recipients are held: severity from [campaign] severity, else warn."""
    example = totals.examples.get(reason)
    samples = totals.samples.get(reason, [])
    if reason in RECIPIENT_REASONS:
        message = f"{count:,} recipients: {RECIPIENT_REASONS[reason]}"
        if reason == MISSING_MERGE_FIELD and totals.missing_tags:
            message += (
                " (" + ", ".join(f"{tag} {n:,}" for tag, n in sorted(totals.missing_tags.items())) + ")"
            )
        suggestion = {
            MISSING_MERGE_FIELD: "Fill the field for these recipients, or give the tag a fallback: {{ first_name | default('there', true) }}.",
        }.get(reason, "These recipients are left out of the send; check the samples.")
        location = Location("To", text=", ".join(samples) or None)
    else:
        # The first finding is the first sample's: show whose message it is.
        shown = f"{samples[0]}: {example.message}" if example and samples else reason
        message = f"{count:,} recipients, e.g. {shown}"
        suggestion = example.suggestion if example else ""
        location = example.location if example else Location("message")
    return Finding(reason, settings.severity_of(reason), message, location, ", ".join(samples), suggestion)

"""The campaign report: a `Report` whose findings are the template's, the campaign's, and one per
reason recipients are held; plus the counts a marketer reads first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from sendguard.campaign.settings import RECIPIENT_REASONS
from sendguard.render import ICON, STYLE, VERDICT_STYLE, print_finding
from sendguard.report import Finding, Report
from sendguard.rules import RULES

HEADLINE = {
    "block": "BLOCKED: do not send this campaign as it is",
    "warn": "can be sent to the recipients not held",
    "pass": "ready to send",
}


@dataclass
class CampaignReport(Report):
    """`findings` (and so `verdict`) cover everything; the other fields break it down."""

    name: str | None = None
    mode: str = "live"
    segment: list[str] = field(default_factory=list)
    expected_size: int | None = None
    audience: int = 0
    would_send: int = 0
    held: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    template_findings: list[Finding] = field(default_factory=list)
    campaign_findings: list[Finding] = field(default_factory=list)
    recipient_findings: list[Finding] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)  # engine, workers, seconds: how, not what

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "name": self.name,
            "template": self.path,
            "subject": self.subject,
            "mode": self.mode,
            "segment": self.segment,
            "expected_size": self.expected_size,
            "audience": self.audience,
            "would_send": self.would_send,
            "held": self.held,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "samples": {r: self.samples.get(r, []) for r in sorted(self.reasons)},
            "notes": dict(sorted(self.notes.items())),
            "template_findings": [f.to_dict() for f in self.template_findings],
            "campaign_findings": [f.to_dict() for f in self.campaign_findings],
            "recipient_findings": [f.to_dict() for f in self.recipient_findings],
            "run": self.run,
        }


def print_campaign(console: Console, report: CampaignReport) -> None:
    title = Text()
    title.append(f" {report.verdict.upper()} ", style=VERDICT_STYLE[report.verdict])
    title.append(f" {HEADLINE[report.verdict]}", style="bold")
    console.print(title)
    about = [f"campaign {report.name!r}" if report.name else f"template {report.path}", f"mode {report.mode}"]
    if report.segment:
        about.append("segment " + ", ".join(report.segment))
    if report.subject:
        about.append(f"subject {report.subject!r}")
    console.print(Text("  " + " · ".join(about), style="dim"))
    share = f" ({report.held / report.audience:.1%})" if report.audience else ""
    console.print(
        f"  audience [bold]{report.audience:,}[/bold] · would send [bold green]{report.would_send:,}[/bold green]"
        f" · held [bold]{report.held:,}[/bold]{share}"
    )
    if report.recipient_findings:
        console.print("\n[bold]Held recipients[/bold] (a recipient may be held for several reasons)")
        summaries = {rule.id: rule.summary() for rule in RULES}
        width = max(len(f.rule) for f in report.recipient_findings)
        for f in report.recipient_findings:
            line = Text("  ")
            line.append(f"{ICON.get(f.severity, '-')} ", style=STYLE.get(f.severity, ""))
            line.append(f"{f.rule:<{width}}", style="bold")
            line.append(f" {report.reasons.get(f.rule, 0):>9,}  ")
            if f.rule in RECIPIENT_REASONS:  # "N recipients: what it means (by tag)"
                line.append(f.message.split(": ", 1)[-1])
                console.print(line)
            else:  # "N recipients, e.g. who: what the rule says"
                line.append(summaries.get(f.rule, ""))
                console.print(line)
                console.print(Text("      e.g. " + f.message.split(", e.g. ", 1)[-1], style="dim"))
            samples = report.samples.get(f.rule, [])
            if samples:
                console.print(Text("      " + ", ".join(samples), style="dim"), overflow="fold")
    if report.campaign_findings:
        console.print("\n[bold]Campaign[/bold]")
        for f in report.campaign_findings:
            print_finding(console, f)
    console.print("\n[bold]Template[/bold]")
    if not report.template_findings:
        console.print("  no findings", style="green")
    for f in report.template_findings:
        print_finding(console, f)
    if report.notes:
        console.print(
            Text(
                "\n  notes (advice, nobody held): "
                + ", ".join(f"{r} {n:,}" for r, n in sorted(report.notes.items())),
                style="cyan",
            )
        )
    console.print()

"""Reports for people: the offending line with the span marked, and what to do."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from sendguard.report import Finding, Report, Severity

STYLE = {Severity.BLOCK: "bold red", Severity.WARN: "yellow", Severity.INFO: "cyan"}
ICON = {Severity.BLOCK: "✖", Severity.WARN: "▲", Severity.INFO: "ℹ"}
VERDICT_STYLE = {"block": "bold white on red", "warn": "bold black on yellow", "pass": "bold black on green"}


def print_report(console: Console, report: Report) -> None:
    title = Text()
    title.append(f" {report.verdict.upper()} ", style=VERDICT_STYLE[report.verdict])
    title.append(f" {report.path or '<message>'}", style="bold")
    if report.subject:
        title.append(f"  {report.subject!r}", style="dim")
    console.print(title)
    if not report.findings:
        console.print("  no findings", style="green")
    for finding in report.findings:
        print_finding(console, finding)
    console.print()


def print_finding(console: Console, f: Finding) -> None:
    style = STYLE.get(f.severity, "")
    head = Text("  ")
    head.append(f"{ICON.get(f.severity, '-')} {f.severity}", style=style)
    head.append(f"  {f.rule}", style="bold")
    head.append(f"  {f.location.describe()}", style="dim")
    console.print(head)
    console.print(Text("    " + f.message))
    loc = f.location
    if loc.text is not None:
        prefix = f"{loc.line:>5} │ " if loc.line is not None else f"{loc.field + ':':>7} "
        shown, start, end = _clip(loc.text, loc.start, loc.end)
        line = Text("    " + prefix, style="dim")
        if start is not None and end is not None and end > start:
            line.append(shown[:start])
            line.append(shown[start:end], style=f"{style} underline")
            line.append(shown[end:])
            console.print(line)
            console.print(Text("    " + " " * len(prefix) + " " * start + "^" * (end - start), style=style))
        else:
            line.append(shown)
            console.print(line)
    if f.suggestion:
        console.print(f"    [green]→[/green] {escape(f.suggestion)}")


def _clip(
    text: str, start: int | None, end: int | None, width: int = 100
) -> tuple[str, int | None, int | None]:
    """Keep long lines readable: a window of `width` characters around the span."""
    text = text.replace("\t", " ")
    if len(text) <= width or start is None or end is None:
        return text[: width * 2], start, end
    left = max(0, min(start - 20, len(text) - width))
    clipped = ("…" if left else "") + text[left : left + width] + ("…" if left + width < len(text) else "")
    shift = left - (1 if left else 0)
    return clipped, start - shift, min(end - shift, len(clipped))


def print_summary(console: Console, reports: list[Report], errors: int) -> None:
    counts = {v: sum(r.verdict == v for r in reports) for v in ("block", "warn", "pass")}
    parts = [
        f"{len(reports)} checked",
        f"[red]{counts['block']} blocked[/red]",
        f"[yellow]{counts['warn']} with warnings[/yellow]",
        f"[green]{counts['pass']} clean[/green]",
    ]
    if errors:
        parts.append(f"[red]{errors} unreadable[/red]")
    console.print(", ".join(parts))

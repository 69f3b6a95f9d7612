"""`sendguard scan`: what would sendguard have caught in an archive of sent mail?"""

from __future__ import annotations

import json
import mailbox
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sendguard.errors import InputError
from sendguard.guard import Guard
from sendguard.message.model import Message
from sendguard.report import Finding, Severity


@dataclass
class ScanSummary:
    messages: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)
    # rule -> severity -> number of messages with at least one such finding
    per_rule: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, list[tuple[str, Finding]]] = field(default_factory=lambda: defaultdict(list))

    def to_dict(self) -> dict:
        return {
            "messages": self.messages,
            "unreadable": [{"path": p, "error": e} for p, e in self.unreadable],
            "verdicts": dict(self.verdicts),
            "rules": {
                rule: {
                    "messages": dict(c),
                    "per_1000": {s: round(1000 * n / max(1, self.messages), 2) for s, n in c.items()},
                }
                for rule, c in sorted(self.per_rule.items())
            },
            "examples": {
                rule: [{"path": p, **f.to_dict()} for p, f in ex] for rule, ex in self.examples.items()
            },
        }


def open_archive(archive: str | Path) -> tuple[int | None, Iterator[tuple[str, bytes | None, str | None]]]:
    """(number of messages if known up front, iterator of (label, raw bytes or None, error or None))
    for a maildir, mbox or folder tree. A folder is listed once, for both the count and the reading."""
    path = Path(archive)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    if path.is_file():
        return None, _iter_file(path)
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return len(files), _iter_files(files)


def _iter_file(path: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    with path.open("rb") as fh:
        is_mbox = fh.read(5) == b"From "
    if not is_mbox:
        yield str(path), path.read_bytes(), None
        return
    box = mailbox.mbox(str(path), create=False)
    for key in box.iterkeys():
        try:
            yield f"{path}#{key}", box.get_bytes(key), None
        except (OSError, KeyError) as exc:
            yield f"{path}#{key}", None, str(exc)


def _iter_files(files: list[Path]) -> Iterator[tuple[str, bytes | None, str | None]]:
    for file in files:
        try:
            yield str(file), file.read_bytes(), None
        except OSError as exc:
            yield str(file), None, exc.strerror or str(exc)


def parsed_messages(
    guard: Guard, messages: Iterable[tuple[str, bytes | None, str | None]], unreadable: list[tuple[str, str]]
) -> Iterator[tuple[str, Message | None]]:
    """(label, parsed message) for each archive entry; None, with (label, reason) added to
    `unreadable`, for one that cannot be read or parsed."""
    for label, raw, error in messages:
        if raw is None:
            unreadable.append((label, error or "unreadable"))
            yield label, None
            continue
        try:
            yield label, guard.parse(raw)
        except InputError as exc:
            unreadable.append((label, exc.reason))
            yield label, None


def scan(
    guard: Guard,
    archive: str | Path,
    *,
    limit: int | None = None,
    examples: int = 5,
    progress: Progress | None = None,
) -> ScanSummary:
    summary = ScanSummary()
    total, messages = open_archive(archive)
    if limit is not None and total is not None:
        total = min(total, limit)
    task = progress.add_task("scanning", total=total) if progress else None
    for label, msg in parsed_messages(guard, islice(messages, limit), summary.unreadable):
        if progress is not None and task is not None:
            progress.advance(task)
        if msg is None:
            continue
        report = guard.check_message(msg)
        summary.messages += 1
        summary.verdicts[report.verdict] += 1
        worst_per_rule: dict[str, Finding] = {}
        for f in report.findings:
            if f.rule not in worst_per_rule or f.severity > worst_per_rule[f.rule].severity:
                worst_per_rule[f.rule] = f
        for rule, f in worst_per_rule.items():
            summary.per_rule[rule][str(f.severity)] += 1
            if f.severity >= Severity.WARN and len(summary.examples[rule]) < examples:
                summary.examples[rule].append((label, f))
    return summary


def run_scan(
    guard: Guard, archive: str, *, fmt: str = "text", limit: int | None = None, examples: int = 5
) -> int:
    console = Console(stderr=True, highlight=False)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=fmt == "json" and not console.is_terminal
    ) as progress:
        summary = scan(guard, archive, limit=limit, examples=examples, progress=progress)
    if fmt == "json":
        json.dump(summary.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    out = Console(highlight=False)
    v = summary.verdicts
    out.print(
        f"[bold]{summary.messages}[/bold] messages checked: [red]{v['block']} would have been held[/red], "
        f"[yellow]{v['warn']} warned[/yellow], [green]{v['pass']} clean[/green]"
        + (f", {len(summary.unreadable)} unreadable" if summary.unreadable else "")
    )
    table = Table(title="Findings per rule (messages affected)")
    for col in ("rule", "block", "warn", "info", "per 1,000 messages"):
        table.add_column(col, justify="left" if col == "rule" else "right")
    for rule, c in sorted(summary.per_rule.items(), key=lambda kv: -sum(kv[1].values())):
        rate = 1000 * sum(c.values()) / max(1, summary.messages)
        table.add_row(rule, str(c["block"]), str(c["warn"]), str(c["info"]), f"{rate:.1f}")
    out.print(table)
    for rule, items in summary.examples.items():
        out.print(f"\n[bold]{rule}[/bold] — examples")
        for label, f in items:
            out.print(f"  [dim]{label}[/dim] ({f.location.describe()}): {f.message}")
    for label, error in summary.unreadable[:10]:
        out.print(f"[dim]unreadable: {label}: {error}[/dim]")
    return 0

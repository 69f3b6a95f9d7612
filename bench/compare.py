"""One command for the side-by-side report: `python bench/compare.py [--quick]` writes bench/REPORT.md.

Each section (`bench/<name>_bench.py`, a `run(quick) -> dict` and a Markdown renderer) runs in
its own subprocess, one after the other: a section that fails, hangs or crashes the interpreter
is reported in its place instead of ending the run, no section's memory or warm caches leak into
the next one's timings, and the sections' own timings are not disturbed by each other. The
report starts with the machine, the library versions, the date, a summary of targets against
measurements, and each section's wall time; plots go to bench/report/*.png.

A section's Markdown comes from its dict's "markdown" key, else its module's `to_markdown` or
`markdown` function, else a generic rendering of the dict. Its summary rows come from the dict's
"targets" list ({"target", "measured", "met"}), else from what the section is known to return.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REPORT = BENCH / "REPORT.md"
BUDGET_SECONDS = 20 * 60
LIBRARIES = ("sendguard", "dnstwist", "hunspell", "pyspellchecker", "vaderSentiment", "spylls", "matplotlib")


@dataclass(frozen=True)
class Section:
    number: int
    key: str
    module: str
    title: str
    timeout: int  # seconds; a section still running at its limit is stopped and reported as such


# Each limit is a ceiling against hangs, well above the section's time on an idle 2-core machine.
SECTIONS = (
    Section(1, "lookalike", "lookalike_bench", "Lookalike domains vs dnstwist", 900),
    Section(2, "spelling", "spelling_bench", "Spelling vs Hunspell / pyspellchecker / spylls", 900),
    Section(3, "attachment", "attachment_bench", "Missing attachment vs keyword baselines", 300),
    Section(4, "tone", "tone_bench", "Tone vs VADER", 300),
    Section(5, "realmail", "realmail_bench", "False alarms on real mail", 900),
    Section(6, "speed", "speed_bench", "Speed", 600),
)

# ---------------------------------------------------------------- worker (one section, one process)


def _jsonable(value: Any) -> Any:
    """JSON for what sections return: Counters and sets become dicts and sorted lists, the rest str."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def render_generic(value: Any, depth: int = 0) -> str:
    """Markdown for a dict with no renderer: scalars as a table, nested dicts as sub-sections."""
    if not isinstance(value, dict):
        return f"```\n{json.dumps(_jsonable(value), indent=1)[:4000]}\n```"
    scalars = {k: v for k, v in value.items() if not isinstance(v, (dict, list, tuple, set))}
    out = []
    if scalars:
        out += ["| key | value |", "|---|---|"]
        out += [f"| {k} | {f'{v:.4g}' if isinstance(v, float) else v} |" for k, v in scalars.items()]
    for key, sub in value.items():
        if key in scalars or key == "targets":
            continue
        out += ["", f"{'#' * min(6, depth + 4)} {key}", ""]
        if isinstance(sub, dict):
            out.append(render_generic(sub, depth + 1))
        else:
            out.append(f"```\n{json.dumps(_jsonable(sub), indent=1)[:4000]}\n```")
    return "\n".join(out)


def run_section_here(section: Section, quick: bool) -> dict[str, Any]:
    """Import and run one section in this process; the parent reads the JSON this becomes."""
    sys.path.insert(0, str(BENCH))
    started = time.perf_counter()
    try:
        module = importlib.import_module(section.module)
    except ModuleNotFoundError as exc:
        if exc.name == section.module:
            return {"status": "missing", "seconds": 0.0}
        raise
    result = module.run(quick=quick)
    seconds = time.perf_counter() - started
    if isinstance(result, dict) and isinstance(result.get("markdown"), str):
        markdown = result["markdown"]
    elif hasattr(module, "to_markdown"):
        markdown = module.to_markdown(result)
    elif hasattr(module, "markdown"):
        markdown = module.markdown(result)
    else:
        markdown = render_generic(result)
    status = "skipped" if isinstance(result, dict) and set(result) == {"skipped"} else "ok"
    return {"status": status, "seconds": seconds, "markdown": markdown, "result": _jsonable(result)}


def worker(section_key: str, quick: bool, out: Path) -> int:
    section = next(s for s in SECTIONS if s.key == section_key)
    try:
        payload = run_section_here(section, quick)
    except Exception:  # noqa: BLE001 - any failure must reach the report, with its traceback
        payload = {"status": "failed", "error": traceback.format_exc()}
    out.write_text(json.dumps(payload), encoding="utf-8")
    return 0


# ---------------------------------------------------------------- parent


def run_section(section: Section, quick: bool) -> dict[str, Any]:
    """Run one section in a subprocess, for at most its limit; never raises."""
    limit = section.timeout
    cpu_before = _children_cpu()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"compare-{section.key}-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", section.key, "--json", str(out)]
        if quick:
            cmd.append("--quick")
        # Its own session, so a section's worker pool can be stopped with it (and only it).
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            payload = {"status": "failed", "error": f"stopped at its time limit ({limit} s)"}
        else:
            if out.exists():
                payload = json.loads(out.read_text(encoding="utf-8"))
            else:
                tail = "\n".join((stderr or "").strip().splitlines()[-25:])
                payload = {"status": "failed", "error": f"exit status {proc.returncode}\n{tail}"}
    payload["wall_seconds"] = time.perf_counter() - started
    # CPU time of the section's processes: far below the wall time means the machine was busy.
    payload["cpu_seconds"] = _children_cpu() - cpu_before
    return payload


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict[str, Any]:
    cpu = "unknown"
    mem_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 2**20
    except OSError:
        pass  # not Linux: the report says "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": mem_gb,
        "os": platform.platform(),
        "load": _load(),
    }


def _load() -> tuple[float, float, float] | None:
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def versions() -> dict[str, str]:
    out = {"Python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state() -> str:
    """The commit, and whether the tracked sources differ from it (several people share this tree)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = [ln[3:] for ln in dirty if ln.strip()]
    return head + (f" plus uncommitted changes to {', '.join(changed)}" if changed else "")


# ------------------------------------------------ summary rows for sections that return no "targets"


def _pct(x: float | None) -> str:
    """Percent, with two decimals below 1% so a figure near a 0.1% target stays readable."""
    if x is None:
        return "n/a"
    return f"{100 * x:.2f}%" if x < 0.01 else f"{100 * x:.1f}%"


def _lookalike_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    recall = r.get("recall", {})
    for group, fuzzers in (
        ("one-edit", ("addition", "insertion", "omission", "replacement", "transposition")),
        ("homoglyph", ("homoglyph",)),
        ("cyrillic", ("cyrillic",)),
        ("hyphenation", ("hyphenation",)),
        ("tld-swap", ("tld-swap",)),
        ("vowel-swap", ("vowel-swap",)),
    ):
        values = [recall[f]["recall"] for f in fuzzers if recall.get(f, {}).get("recall") is not None]
        if values:
            worst = min(values)
            rows.append(
                {
                    "target": f"lookalike recall ≥ 99% on {group}",
                    "measured": f"{_pct(worst)}" + (" (lowest of its fuzzers)" if len(fuzzers) > 1 else ""),
                    "met": worst >= 0.99,
                }
            )
    rate = r.get("false_alarms", {}).get("rate")
    if rate is not None:
        rows.append(
            {
                "target": "lookalike false alarms < 0.1% of unrelated domains",
                "measured": _pct(rate),
                "met": rate < 0.001,
            }
        )
    p99 = r.get("speed", {}).get("p99_ms")
    if p99 is not None:
        known = r["speed"].get("known_domains", 0)
        rows.append(
            {
                "target": "lookalike < 1 ms per look-up at 100k known domains",
                "measured": f"p50 {r['speed'].get('p50_ms', 0):.3f} ms, p99 {p99:.3f} ms at {known:,} domains",
                "met": p99 < 1 and known >= 100_000,
            }
        )
    return rows


def _tone_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    overall = r.get("politeness", {}).get("communities", {}).get("overall", {})
    least = overall.get("least polite", {}).get("sendguard")
    most = overall.get("most polite", {}).get("sendguard")
    if least is None or most is None:
        return []
    # "far more" and "almost never" are read as at least 5x as often, and on at most 1%.
    return [
        {
            "target": "hostile-tone fires far more on the least polite quartile (≥ 5× the most polite)",
            "measured": f"{_pct(least)} vs {_pct(most)}",
            "met": (least > 0 and most == 0) or (most > 0 and least / most >= 5),
        },
        {
            "target": "hostile-tone almost never fires on the most polite quartile (≤ 1%)",
            "measured": _pct(most),
            "met": most <= 0.01,
        },
    ]


KNOWN_TARGETS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
    "lookalike": _lookalike_targets,
    "tone": _tone_targets,
}


def targets_for(section: Section, payload: dict[str, Any]) -> list[dict[str, Any]]:
    result = payload.get("result")
    if payload.get("status") != "ok" or not isinstance(result, dict):
        reason = {"missing": "section not landed yet", "skipped": "section skipped"}.get(
            payload.get("status", ""), "section failed" if payload.get("status") == "failed" else "not run"
        )
        return [{"target": section.title, "measured": reason, "met": None}]
    if isinstance(result.get("targets"), list):
        return result["targets"]
    try:
        rows = KNOWN_TARGETS.get(section.key, lambda _: [])(result)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        rows = []
    return rows or [
        {"target": section.title, "measured": "no summary figures returned: see the section", "met": None}
    ]


# ------------------------------------------------------------------------------------ plots


def plot_sections(payloads: dict[str, dict[str, Any]], folder: Path) -> dict[str, list[str]]:
    """PNG files per section key (paths relative to the report); a plot that fails is left out."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, list[str]] = {}

    def save(key: str, name: str, draw: Callable[[Any, Any], None], data: Any) -> None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        try:
            draw(ax, data)
            fig.tight_layout()
            fig.savefig(folder / name, dpi=110)
            made.setdefault(key, []).append(f"{folder.name}/{name}")
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # a section's shape changed: the tables still carry the numbers
        finally:
            plt.close(fig)

    def attachment(ax: Any, r: dict[str, Any]) -> None:
        names = r["methods"]
        p = [100 * (r["scores"][n]["all"]["precision"] or 0) for n in names]
        rc = [100 * (r["scores"][n]["all"]["recall"] or 0) for n in names]
        y = range(len(names))
        ax.barh([i + 0.2 for i in y], p, height=0.4, label="precision")
        ax.barh([i - 0.2 for i in y], rc, height=0.4, label="recall")
        ax.set_yticks(list(y), names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.set_title("Missing attachment: precision and recall (hand labels)")
        ax.legend(loc="lower right")

    def realmail(ax: Any, r: dict[str, Any]) -> None:
        rules = sorted({rule for c in r["corpora"] for rule in c["rules"]})
        width = 0.8 / len(r["corpora"])
        for i, c in enumerate(r["corpora"]):
            values = [
                c["rules"].get(rule, {}).get("per_1000", {}).get("block", 0)
                + c["rules"].get(rule, {}).get("per_1000", {}).get("warn", 0)
                for rule in rules
            ]
            ax.barh([j + i * width for j in range(len(rules))], values, height=width, label=c["title"])
        ax.set_yticks([j + 0.4 - width / 2 for j in range(len(rules))], rules)
        ax.set_xscale("symlog")
        ax.set_xlabel("messages with a block or warn finding, per 1,000")
        ax.set_title("Findings on real mail, per rule")
        ax.legend(fontsize=7)

    def speed(ax: Any, r: dict[str, Any]) -> None:
        t = r["timing"]
        stages = {
            "parse": t["parse"],
            **{f"rule {k}": v for k, v in t["rules"].items()},
            "end to end": t["end_to_end"],
        }
        names = list(stages)
        y = range(len(names))
        ax.barh([i + 0.2 for i in y], [stages[n]["p50_ms"] for n in names], height=0.4, label="p50")
        ax.barh([i - 0.2 for i in y], [stages[n]["p99_ms"] for n in names], height=0.4, label="p99")
        ax.set_yticks(list(y), names, fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("ms per message")
        ax.set_title(f"Per-message time at {r['contacts']:,} contacts")
        ax.legend()

    def lookalike(ax: Any, r: dict[str, Any]) -> None:
        fuzzers = [f for f, s in r["recall"].items() if s.get("recall") is not None]
        ax.barh(fuzzers, [100 * r["recall"][f]["recall"] for f in fuzzers])
        ax.axvline(99, color="red", linestyle="--", linewidth=1, label="99% target")
        ax.set_xlim(0, 100)
        ax.set_xlabel("recall %")
        ax.set_title("Lookalike recall per dnstwist fuzzer")
        ax.legend(loc="lower left")

    def tone(ax: Any, r: dict[str, Any]) -> None:
        overall = r["politeness"]["communities"]["overall"]
        detectors = [k for k in overall["least polite"] if k != "n"]
        x = range(len(detectors))
        ax.bar(
            [i - 0.2 for i in x],
            [100 * overall["least polite"][d] for d in detectors],
            width=0.4,
            label="least polite",
        )
        ax.bar(
            [i + 0.2 for i in x],
            [100 * overall["most polite"][d] for d in detectors],
            width=0.4,
            label="most polite",
        )
        ax.set_xticks(list(x), detectors, rotation=20, fontsize=8)
        ax.set_ylabel("% of requests flagged")
        ax.set_title("Stanford Politeness: firing rate by quartile")
        ax.legend()

    drawers = {
        "attachment": ("attachment_pr.png", attachment),
        "realmail": ("realmail_per_rule.png", realmail),
        "speed": ("speed_per_rule.png", speed),
        "lookalike": ("lookalike_recall.png", lookalike),
        "tone": ("tone_quartiles.png", tone),
    }
    for key, (name, draw) in drawers.items():
        payload = payloads.get(key, {})
        if payload.get("status") == "ok" and isinstance(payload.get("result"), dict):
            save(key, name, draw, payload["result"])
    return made


# ----------------------------------------------------------------------------------- report


def _mark(met: bool | None) -> str:
    return {True: "✅", False: "❌"}.get(met, "—")


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def write_report(
    payloads: dict[str, dict[str, Any]],
    plots: dict[str, list[str]],
    quick: bool,
    started: dt.datetime,
    load_at_start: tuple[float, float, float] | None,
    total_seconds: float,
    out: Path,
) -> None:
    m = machine()
    v = versions()
    cpu_total = sum(p.get("cpu_seconds", 0) for p in payloads.values())

    def load(when: str, avg: tuple[float, float, float] | None) -> str:
        return (
            f"; load average {when} {avg[0]:.2f} / {avg[1]:.2f} / {avg[2]:.2f} (1 / 5 / 15 min)"
            if avg
            else ""
        )

    lines = [
        "# sendguard measured against its peers",
        "",
        "Generated by `python bench/compare.py" + (" --quick" if quick else "") + "` (`make compare`). "
        "Every figure below comes from that one run, on this machine, side by side."
        + (" **Quick run: samples only, not the figures to quote.**" if quick else ""),
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}; total run time {total_seconds / 60:.1f} min "
        f"(budget {BUDGET_SECONDS // 60} min: {_mark(total_seconds < BUDGET_SECONDS)})",
        f"- Machine: {m['cpu']}, {m['cores']} cores, "
        + (f"{m['ram_gb']:.0f} GB RAM" if m["ram_gb"] else "RAM unknown")
        + f", {m['os']}"
        + load("at start", load_at_start)
        + load("at the end", m["load"])
        + (
            f". The sections used {cpu_total / 60:.1f} min of CPU in {total_seconds / 60:.1f} min: other work "
            "shared the machine, and every time below is slower than on an idle one."
            if load_at_start and load_at_start[0] > (m["cores"] or 1)
            else ""
        ),
        f"- Code: sendguard at {git_state()}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- Sections run one after another, each in its own process, so timings do not overlap.",
        "",
        "## Targets vs measured",
        "",
        "| § | target | measured | |",
        "|---|---|---|---|",
    ]
    for section in SECTIONS:
        for row in targets_for(section, payloads[section.key]):
            lines.append(
                f"| {section.number} | {_cell(row['target'])} | {_cell(row['measured'])} | {_mark(row['met'])} |"
            )
    lines += [
        f"| — | the whole report in under {BUDGET_SECONDS // 60} minutes on 2 cores | "
        f"{total_seconds / 60:.1f} min wall, {cpu_total / 60:.1f} min CPU | {_mark(total_seconds < BUDGET_SECONDS)} |",
        "",
        "✅ met, ❌ not met, — no number to judge against (see the section).",
        "",
        "## Sections",
        "",
        "| § | section | status | wall time | CPU time (all its processes) |",
        "|---|---|---|---|---|",
    ]
    for section in SECTIONS:
        p = payloads[section.key]
        lines.append(
            f"| {section.number} | {section.title} | {p['status']} | {p.get('wall_seconds', 0):.0f} s | "
            f"{p.get('cpu_seconds', 0):.0f} s |"
        )
    for section in SECTIONS:
        p = payloads[section.key]
        lines += ["", "---", "", f"# {section.number}. {section.title}", ""]
        if p["status"] == "missing":
            lines.append(f"Not in this report: `bench/{section.module}.py` has not landed yet.")
        elif p["status"] == "failed":
            lines += [
                "**This section failed**; the other sections ran. The error:",
                "",
                "```",
                p["error"].strip(),
                "```",
            ]
        else:
            lines.append(p["markdown"].strip())
            lines += ["", *(f"![{section.title}]({png})" for png in plots.get(section.key, []))]
    out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each section's quick path (samples, for CI)")
    parser.add_argument(
        "--only", help="comma-separated section keys to run (" + ", ".join(s.key for s in SECTIONS) + ")"
    )
    parser.add_argument(
        "--out", type=Path, default=REPORT, help="where to write the report (default: %(default)s)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.quick, args.json)
    wanted = set(args.only.split(",")) if args.only else {s.key for s in SECTIONS}
    unknown = wanted - {s.key for s in SECTIONS}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    started = dt.datetime.now(dt.UTC)
    load_at_start = _load()
    t0 = time.perf_counter()
    payloads: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        if section.key not in wanted:
            payloads[section.key] = {
                "status": "not run (--only)",
                "wall_seconds": 0.0,
                "markdown": "Not run (`--only`).",
            }
            continue
        print(
            f"[{time.perf_counter() - t0:6.0f} s] section {section.number}: {section.title} ...", flush=True
        )
        payloads[section.key] = run_section(section, args.quick)
        print(f"[{time.perf_counter() - t0:6.0f} s]   {payloads[section.key]['status']}", flush=True)
    # Plots sit next to the report (bench/report/ for bench/REPORT.md).
    plots = plot_sections(payloads, args.out.parent / "report")
    write_report(payloads, plots, args.quick, started, load_at_start, time.perf_counter() - t0, args.out)
    print(f"wrote {args.out} in {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""False alarms on real mail: `sendguard scan` over the Enron and SpamAssassin corpora.

Each corpus is checked against an org built from its own headers (`bench/orgs/`, see
`bench/orgs/build_orgs.py`) with every rule at its default severity. The scan is the real one
(`sendguard.scan.scan`), run over a temporary tree of links so that Enron's duplicate copies
(one message in `sent/`, `_sent_mail/` and `sent_items/`, each with its own Message-ID) count
once. Every block-level hit is listed, and each carries a reviewer's verdict from
`bench/labels/realmail_review.tsv` (true / false alarm, with a reason); hits nobody has reviewed
yet are reported as such, never counted as true.

Run `python bench/realmail_bench.py [--quick]`; it prints a Markdown section. `run()` returns the
figures as a dict.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sendguard
from sendguard.report import Severity
from sendguard.scan import scan

BENCH = Path(__file__).resolve().parent
CORPORA = BENCH.parent.parent / "shared" / "corpora"
ORGS = BENCH / "orgs"
REVIEW = BENCH / "labels" / "realmail_review.tsv"
TARGET_FALSE_BLOCK_SHARE = 0.01


@dataclass(frozen=True)
class Corpus:
    key: str
    title: str
    org: str  # folder under bench/orgs
    paths: list[Path]  # absolute paths under CORPORA


def _enron() -> tuple[list[Path], list[Path]]:
    """One path per distinct message (index.tsv's content_key): (sent-folder messages, the rest).

    A message's representative is its first sent-folder copy when it has one, else its first
    copy, so each message has one path (and one review verdict).
    """
    chosen: dict[str, tuple[bool, str]] = {}
    with (CORPORA / "enron" / "index.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            sent, key = row["is_sent_folder"] == "1", row["content_key"]
            if key not in chosen or (sent and not chosen[key][0]):
                chosen[key] = (sent, row["path"])
    sent_paths = [CORPORA / "enron" / path for sent, path in chosen.values() if sent]
    rest = [CORPORA / "enron" / path for sent, path in chosen.values() if not sent]
    return sent_paths, rest


def corpora(limit: int | None = None) -> list[Corpus]:
    """What is scanned; `limit` keeps an even spread of that many messages from each.

    The whole Enron set is reported as sent folders + the rest, so no message is checked twice.
    """
    sent, rest = _enron()
    found = [
        Corpus("enron-sent", "Enron sent folders (distinct messages)", "enron", sent),
        Corpus("enron-rest", "Enron, other folders (distinct messages)", "enron", rest),
        Corpus(
            "spamassassin",
            "SpamAssassin ham (easy-ham-1, hard-ham-1)",
            "spamassassin",
            sorted((CORPORA / "spamassassin-ham").rglob("*.txt")),
        ),
    ]
    if limit is not None:
        found = [
            Corpus(c.key, c.title, c.org, c.paths[:: max(1, len(c.paths) // limit)][:limit]) for c in found
        ]
    return found


def merge(key: str, title: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One corpus result from scans of disjoint parts (the same org)."""
    messages = sum(p["messages"] for p in parts)
    counts: dict[str, Counter[str]] = {}
    for p in parts:
        for rule, c in p["rules"].items():
            counts.setdefault(rule, Counter()).update(c["messages"])
    return {
        "key": key,
        "title": title,
        "org": parts[0]["org"],
        "accounts": parts[0]["accounts"],
        "messages": messages,
        "unreadable": dict(sum((Counter(p["unreadable"]) for p in parts), Counter())),
        "verdicts": dict(sum((Counter(p["verdicts"]) for p in parts), Counter())),
        "rules": {
            rule: {
                "messages": dict(c),
                "per_1000": {sev: round(1000 * n / max(1, messages), 2) for sev, n in c.items()},
            }
            for rule, c in sorted(counts.items())
        },
        "block_hits": sorted(
            (h for p in parts for h in p["block_hits"]), key=lambda h: (h["rule"], h["path"])
        ),
        "seconds": sum(p["seconds"] for p in parts),
    }


def load_review() -> dict[tuple[str, str], dict[str, str]]:
    """(corpus-relative path, rule) -> {"verdict": "true"|"false", "category", "reason"}."""
    if not REVIEW.exists():
        return {}
    with REVIEW.open(encoding="utf-8") as fh:
        rows = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        return {(r["path"], r["rule"]): r for r in rows}


def scan_corpus(corpus: Corpus) -> dict[str, Any]:
    guard = sendguard.load(ORGS / corpus.org / "sendguard.toml")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"sendguard-{corpus.key}-") as tmp:
        root = Path(tmp)
        for path in corpus.paths:
            link = root / path.relative_to(CORPORA)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
        # examples is unbounded so every message with a block-level finding is kept, per rule.
        summary = scan(guard, root, examples=10**9)
        block_hits = [
            {"path": str(Path(label).relative_to(root)), "rule": rule, **finding.to_dict()}
            for rule, items in summary.examples.items()
            for label, finding in items
            if finding.severity is Severity.BLOCK
        ]
        unreadable = Counter(reason for _, reason in summary.unreadable)
    return {
        "key": corpus.key,
        "title": corpus.title,
        "org": f"bench/orgs/{corpus.org}",
        "accounts": len(guard.org.directory.accounts),
        "messages": summary.messages,
        "unreadable": dict(unreadable),
        "verdicts": dict(summary.verdicts),
        "rules": summary.to_dict()["rules"],
        "block_hits": sorted(block_hits, key=lambda h: (h["rule"], h["path"])),
        "seconds": time.perf_counter() - started,
    }


def review_counts(result: dict[str, Any], review: dict[tuple[str, str], dict[str, str]]) -> dict[str, Any]:
    """Reviewer verdicts per corpus: messages whose block-level findings include a false alarm."""
    per_message: dict[str, set[str]] = {}
    for hit in result["block_hits"]:
        verdict = review.get((hit["path"], hit["rule"]), {}).get("verdict", "unreviewed")
        hit["review"] = review.get((hit["path"], hit["rule"]), {"verdict": "unreviewed"})
        per_message.setdefault(hit["path"], set()).add(verdict)
    per_rule: dict[str, Counter[str]] = {}
    for hit in result["block_hits"]:
        per_rule.setdefault(hit["rule"], Counter())[hit["review"]["verdict"]] += 1
    false_msgs = sum(1 for v in per_message.values() if "false" in v)
    unreviewed_msgs = sum(1 for v in per_message.values() if "unreviewed" in v and "false" not in v)
    n = max(1, result["messages"])
    return {
        "block_messages": len(per_message),
        "false_messages": false_msgs,
        "true_only_messages": sum(1 for v in per_message.values() if v == {"true"}),
        "unreviewed_messages": unreviewed_msgs,
        "per_rule": {rule: dict(c) for rule, c in sorted(per_rule.items())},
        "false_share": false_msgs / n,
        # Unreviewed hits could each be wrong: the share is only known to lie in this range.
        "false_share_upper": (false_msgs + unreviewed_msgs) / n,
    }


def run(quick: bool = False, limit: int | None = None) -> dict[str, Any]:
    """Scan every corpus. `quick` keeps 300 messages per corpus; `limit` sets that number."""
    if not (CORPORA / "enron").is_dir() or not (CORPORA / "spamassassin-ham").is_dir():
        return {"skipped": f"no Enron / SpamAssassin corpus under {CORPORA}"}
    review = load_review()
    units = corpora(limit if limit is not None else (300 if quick else None))
    # The scans are independent: use both cores (nothing here is a timing measurement but wall time).
    with ProcessPoolExecutor(max_workers=min(len(units), os.cpu_count() or 1)) as pool:
        scanned = dict(zip((c.key for c in units), pool.map(scan_corpus, units), strict=True))
    results = [
        scanned["enron-sent"],
        merge(
            "enron-all",
            "Enron, whole set (distinct messages)",
            [scanned["enron-sent"], scanned["enron-rest"]],
        ),
        scanned["spamassassin"],
    ]
    for result in results:
        result["review"] = review_counts(result, review)
    # Distinct real messages: the whole Enron set (which holds the sent folders) plus SpamAssassin.
    distinct = [r for r in results if r["key"] != "enron-sent"]
    messages = sum(r["messages"] for r in distinct)
    false_msgs = sum(r["review"]["false_messages"] for r in distinct)
    unreviewed = sum(r["review"]["unreviewed_messages"] for r in distinct)
    return {
        "quick": quick or limit is not None,
        "corpora": results,
        "overall": {
            "messages": messages,
            "false_messages": false_msgs,
            "unreviewed_messages": unreviewed,
            "false_share": false_msgs / max(1, messages),
            "false_share_upper": (false_msgs + unreviewed) / max(1, messages),
            "target": TARGET_FALSE_BLOCK_SHARE,
        },
        "review_file": str(REVIEW.relative_to(BENCH.parent)),
        "targets": [
            {
                "target": "< 1% of real messages get a block-level finding a reviewer calls wrong",
                "measured": f"{_pct(false_msgs / max(1, messages))} ({false_msgs} of {messages:,}; "
                + ", ".join(
                    f"{r['title'].split(' (')[0]} {_pct(r['review']['false_share'])}" for r in distinct
                )
                + (f"; {unreviewed} unreviewed" if unreviewed else "")
                + ")",
                "met": (false_msgs + unreviewed) / max(1, messages) < TARGET_FALSE_BLOCK_SHARE,
            }
        ],
    }


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _cell(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def to_markdown(results: dict[str, Any]) -> str:
    if "skipped" in results:
        return f"## False alarms on real mail\n\nSkipped: {results['skipped']}."
    out = [
        "## False alarms on real mail",
        "",
        "`sendguard.scan.scan` over each corpus with the org built from its headers "
        "(`bench/orgs/`; default severities). Messages with at least one finding of that severity, "
        "per rule; per 1,000 messages checked.",
        "",
    ]
    for r in results["corpora"]:
        unread = sum(r["unreadable"].values())
        out += [
            f"### {r['title']}",
            "",
            f"{r['messages']:,} messages checked against `{r['org']}` ({r['accounts']} accounts)"
            + (
                f"; {unread} not checked ({', '.join(f'{n}× {why}' for why, n in r['unreadable'].items())})"
                if unread
                else ""
            )
            + f"; verdicts: {', '.join(f'{k} {v:,}' for k, v in sorted(r['verdicts'].items()))}; "
            f"{r['seconds']:.0f} s.",
            "",
            "| rule | block | warn | info | block per 1,000 | warn per 1,000 |",
            "|---|---|---|---|---|---|",
        ]
        for rule, c in sorted(r["rules"].items()):
            m, p = c["messages"], c["per_1000"]
            out.append(
                f"| {rule} | {m.get('block', 0)} | {m.get('warn', 0)} | {m.get('info', 0)} | "
                f"{p.get('block', 0):.1f} | {p.get('warn', 0):.1f} |"
            )
        rv = r["review"]
        out += [
            "",
            f"Block-level: {rv['block_messages']} messages; reviewer: {rv['true_only_messages']} right, "
            f"**{rv['false_messages']} wrong ({_pct(rv['false_share'])} of messages)**, "
            f"{rv['unreviewed_messages']} not reviewed yet. Per rule (messages): "
            + "; ".join(
                f"{rule} {c.get('true', 0)} right / {c.get('false', 0)} wrong"
                + (f" / {c['unreviewed']} unreviewed" if c.get("unreviewed") else "")
                for rule, c in rv["per_rule"].items()
            )
            + ".",
            "",
        ]
    o = results["overall"]
    verdict = "met" if o["false_share_upper"] < o["target"] else "not met"
    out += [
        "### Overall",
        "",
        f"{o['messages']:,} distinct real messages (whole Enron set + SpamAssassin): "
        f"**{o['false_messages']} with a block-level finding a reviewer calls wrong = {_pct(o['false_share'])}**"
        + (
            f" (up to {_pct(o['false_share_upper'])} if all {o['unreviewed_messages']} unreviewed are wrong)"
            if o["unreviewed_messages"]
            else ""
        )
        + f"; target < {_pct(o['target'])}: {verdict}.",
        "",
        "### Every block-level hit, with the reviewer's verdict",
        "",
        f"Verdicts are kept in `{results['review_file']}` (path, rule, verdict, category, reason).",
        "",
    ]
    for r in results["corpora"]:
        if r["key"] == "enron-sent":
            continue  # its hits are all in the whole-set list
        out += [
            f"#### {r['title']}",
            "",
            "| # | path | rule | verdict | finding | evidence | reviewer's reason |",
            "|---|---|---|---|---|---|---|",
        ]
        for i, h in enumerate(r["block_hits"], 1):
            rv = h["review"]
            evidence = _cell(h["evidence"], 80).replace("`", "'")
            mark = {"true": "✔ true", "false": "✘ false"}.get(rv["verdict"], "? unreviewed")
            out.append(
                f"| {i} | `{h['path']}` | {h['rule']} | {mark} | {_cell(h['message'])} | "
                f"`{evidence}` | {_cell(rv.get('reason', ''), 120)} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 messages per corpus")
    args = parser.parse_args(argv)
    print(to_markdown(run(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

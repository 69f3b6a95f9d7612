"""Check cost by message size: CPU time of parsing, of each deciding rule and of the whole check.

The relay answers a message of 8 KiB or more on its deciding rules only (block rules, and warn
rules with `[relay] on_warn = "hold"`), so what it adds at p99 is parse + deciding rules on the
largest messages. This measures both, per size bucket, on the relay bench's real-mail mix
(`relay_bench.real_mail`: Enron sent mail and SpamAssassin ham sent by the example org's sender
to its customer), in-process. Times are CPU time (`time.process_time`), the least of
`--repeats` runs per message, so other load on the machine (a second benchmark, say) neither
adds to them nor is mistaken for the guard's cost.

    .venv/bin/python bench/check_cost.py                      # 2,000 messages, 5 repeats
    .venv/bin/python bench/check_cost.py --from-kib 8 --on-warn hold   # the relay's split messages
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import sendguard
from sendguard.guard import Guard
from sendguard.message.model import Message
from sendguard.relay.checking import split_rules
from sendguard.report import Finding
from sendguard.rules.base import Rule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relay_bench import EXAMPLE_ORG, real_mail  # noqa: E402 - the bench folder is not a package

T = TypeVar("T")
KIB = 1024
BUCKETS = [(0, 4 * KIB), (4 * KIB, 8 * KIB), (8 * KIB, 16 * KIB), (16 * KIB, 32 * KIB), (32 * KIB, None)]


def _label(low: int, high: int | None) -> str:
    if low == 0:
        return f"< {high // KIB} KiB" if high else "all"
    return f"{low // KIB}-{high // KIB} KiB" if high else f">= {low // KIB} KiB"


def _cpu(fn: Callable[..., T], *args: object) -> tuple[float, T]:
    t0 = time.process_time()
    out = fn(*args)
    return time.process_time() - t0, out


def _findings(rule: Rule, msg: Message) -> list[Finding]:
    return list(rule.check(msg))


def cost(guard: Guard, raw: bytes, deciding: Sequence[Rule], repeats: int) -> dict[str, float]:
    """Least CPU seconds over `repeats` runs: 'parse', 'rule:<id>' for every rule, and sums."""
    best: dict[str, float] = {}

    def keep(key: str, seconds: float) -> None:
        best[key] = min(seconds, best.get(key, seconds))

    for _ in range(repeats):
        seconds, msg = _cpu(guard.parse, raw)
        keep("parse", seconds)
        for rule in guard.rules:
            seconds, _ = _cpu(_findings, rule, msg)
            keep(f"rule:{rule.id}", seconds)
    decide_ids = {r.id for r in deciding}
    best["deciding"] = sum(v for k, v in best.items() if k[5:] in decide_ids)
    best["all rules"] = sum(v for k, v in best.items() if k.startswith("rule:"))
    best["parse + deciding"] = best["parse"] + best["deciding"]
    best["whole"] = best["parse"] + best["all rules"]
    return best


def run(n: int, repeats: int, on_warn: str, from_kib: float = 0) -> str:
    guard = sendguard.load(EXAMPLE_ORG / "sendguard.toml")
    deciding, _ = split_rules(guard.rules, on_warn)
    messages = real_mail(n)
    for raw in messages[:50]:  # warm lazy indexes and caches, as a running relay has them
        guard.check(raw)
    gc.collect()
    costs = [
        (len(raw), cost(guard, raw, deciding, repeats)) for raw in messages if len(raw) >= from_kib * KIB
    ]
    columns = ["parse", "deciding", "parse + deciding", "whole"] + [f"rule:{r.id}" for r in deciding]
    out = [
        f"{len(costs)} of {len(messages)} real messages (example org, sender to customer), on_warn = {on_warn}: "
        f"deciding rules {', '.join(r.id for r in deciding)}. Mean CPU ms per message, "
        f"least of {repeats} runs each.",
        "",
        "| size | messages | share | " + " | ".join(c.removeprefix("rule:") for c in columns) + " |",
        "|---" * (len(columns) + 3) + "|",
    ]
    for low, high in [*BUCKETS, (0, None)]:
        rows = [c for size, c in costs if size >= low and (high is None or size < high)]
        if not rows:
            continue
        means = [1000 * sum(r[c] for r in rows) / len(rows) for c in columns]
        share = 100 * len(rows) / len(messages)
        out.append(
            f"| {_label(low, high)} | {len(rows)} | {share:.1f}% | "
            + " | ".join(f"{m:.2f}" for m in means)
            + " |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-mail", type=int, default=2000, metavar="N", help="messages (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per message; the least counts")
    parser.add_argument("--on-warn", choices=("forward", "hold"), default="forward")
    parser.add_argument("--from-kib", type=float, default=0, help="time only messages of this size or more")
    args = parser.parse_args(argv)
    print(run(args.real_mail, args.repeats, args.on_warn, args.from_kib))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed: per-message time of parsing and of every rule, messages/s and memory, at directory scale.

A synthetic organisation with 20,000 accounts and 100,000 contacts (names, domains, aliases and a
ledger; fixed seed) is written to a temporary folder and loaded the way a user's would be. The
messages are real bodies (Enron sent folders, SpamAssassin ham) re-addressed to contacts of that
directory, so the account rules do real work: one account usually, a colleague in Cc
sometimes, another account in Cc now and then. Each message is parsed once (timed), then every
rule's `check` is timed on the parsed message; "all rules" is their sum, "end to end" adds the
parse. Memory: tracemalloc's peak while the guard is built (indexes, dictionaries), and the
process' peak RSS at the end.

Run `python bench/speed_bench.py [--quick]`; it prints a Markdown section. `run()` returns the
figures as a dict.
"""

from __future__ import annotations

import argparse
import csv
import gc
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import sendguard
from sendguard.errors import InputError
from sendguard.guard import Guard

BENCH = Path(__file__).resolve().parent
CORPORA = BENCH.parent.parent / "shared" / "corpora"
SEED = 20261123
ACCOUNTS = 20_000
CONTACTS_PER_ACCOUNT = 5


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph "
    "jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony margaret mark sandra "
    "donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian "
    "melissa george deborah timothy stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan "
    "kathleen jacob amy gary angela nicholas shirley eric anna jonathan brenda stephen pamela larry emma justin "
    "nicole scott helen brandon samantha benjamin katherine samuel christine gregory debra alexander rachel "
    "frank carolyn patrick janet raymond catherine jack maria dennis heather jerry diane tyler ruth aaron julie "
    "jose olivia adam joyce nathan virginia henry victoria douglas kelly zachary lauren peter christina kyle "
    "joan noah evelyn ethan judith jeremy megan walter andrea christian cheryl keith hannah roger jacqueline "
    "terry martha austin gloria sean teresa gerald ann carl sara harold madison dylan frances arthur kathryn "
    "lawrence janice jordan jean jesse abigail bryan alice billy judy bruce sophia gabriel grace joe denise "
    "logan amber albert doris willie marilyn alan danielle juan beverly wayne isabella elijah theresa randy "
    "diana roy natalie vincent brittany ralph charlotte eugene marie russell kayla bobby alexis mason lori"
)
LAST = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes "
    "stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard "
    "ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
    "alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell "
    "coleman butler henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton "
    "graham reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar "
    "stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells "
    "vargas henry chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez "
    "silva shaw snyder mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose stone "
    "salazar fox warren mills meyer rice schmidt garza daniels ferguson nichols stephens soto weaver ryan "
    "gardner payne grant dunn kelley spencer hawkins arnold pierce vazquez hansen peters santos hart bradley"
)
WORDS = _words(
    "north south east west river lake stone oak pine cedar maple summit ridge valley harbor bay coast meadow "
    "brook falcon eagle hawk fox wolf bear blue red green silver gold iron copper crystal star sun moon sky "
    "cloud storm bright clear swift prime grand royal united pacific atlantic alpine urban metro pioneer "
    "frontier heritage legacy liberty apex vertex nova zenith orbit quantum vector matrix pixel logic rapid "
    "agile fusion cardinal keystone landmark beacon anchor compass atlas titan phoenix orion polaris aurora "
    "horizon vista spectrum prism granite marble willow aspen sequoia harvest orchard prairie canyon delta "
    "glacier lagoon reef coral pearl amber onyx jade ruby sapphire emerald cobalt indigo crimson evergreen"
)
KINDS = _words(
    "systems logistics telecom software labs analytics energy foods health capital partners consulting "
    "networks robotics dynamics media freight pharma bank insurance retail foundry works industries solutions"
)
SUFFIXES = ("Inc", "Ltd", "GmbH", "LLC", "Group", "Corp", "AG", "SA", "plc", "")
TLDS = (".com", ".com", ".com", ".net", ".co.uk", ".de", ".io", ".fr", ".nl", ".com.au")


def build_org(folder: Path, accounts: int = ACCOUNTS, rng: random.Random | None = None) -> Path:
    """Write sendguard.toml, accounts.csv, contacts.csv and ledger.csv for a synthetic directory."""
    rng = rng or random.Random(SEED)
    names: set[str] = set()
    used_domains: set[str] = set()
    rows, contacts, ledger = [], [], []
    while len(rows) < accounts:
        words = rng.sample(WORDS, rng.choice((1, 2, 2)))
        kind = rng.choice(KINDS)
        name = " ".join(w.title() for w in (*words, kind))
        if name in names:
            continue
        i = len(rows)
        slug = "".join(words) + ("-" if rng.random() < 0.3 else "") + kind
        domains = [slug + rng.choice(TLDS)]
        if rng.random() < 0.2:
            domains.append(slug[:12] + "-group" + rng.choice(TLDS))
        if any(d in used_domains for d in domains):
            continue  # one domain, one account (the loader rejects a shared one, as it should)
        used_domains.update(domains)
        names.add(name)
        suffix = rng.choice(SUFFIXES)
        aliases = [" ".join(w.title() for w in words)] if rng.random() < 0.3 else []
        account_id = f"acc{i:05d}"
        rows.append([account_id, f"{name} {suffix}".strip(), ";".join(domains), ";".join(aliases)])
        ledger.append([account_id, f"{rng.randint(0, 500_000) / 100:.2f}", "USD"])
        seen: set[str] = set()
        while len(seen) < CONTACTS_PER_ACCOUNT:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}@{domains[0]}"
            if email not in seen:
                seen.add(email)
                contacts.append([email, f"{first.title()} {last.title()}", account_id])
    for name, header, data in (
        ("accounts.csv", ["account_id", "name", "domains", "aliases"], rows),
        ("contacts.csv", ["email", "name", "account_id"], contacts),
        ("ledger.csv", ["account_id", "balance", "currency"], ledger),
    ):
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(data)
    config = folder / "sendguard.toml"
    config.write_text(
        '[organization]\nname = "Synthetic Speed Org"\ninternal_domains = ["speedorg.example"]\n\n'
        '[directory]\naccounts = "accounts.csv"\ncontacts = "contacts.csv"\n\n[ledger]\npath = "ledger.csv"\n',
        encoding="utf-8",
    )
    return config


_RECIPIENT_HEADER = re.compile(rb"^(?:to|cc|bcc|x-to|x-cc|x-bcc):", re.IGNORECASE)


def readdress(raw: bytes, to: list[str], cc: list[str]) -> bytes:
    """The message with its To/Cc/Bcc replaced (folded continuation lines included)."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    cut = min(ends) if ends else len(raw)
    head, body = raw[:cut], raw[cut:].lstrip(b"\r\n")
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_RECIPIENT_HEADER.match(line))
        if not dropping:
            kept.append(line)
    kept.append(b"To: " + ", ".join(to).encode())
    if cc:
        kept.append(b"Cc: " + ", ".join(cc).encode())
    return b"\n".join(kept) + b"\n\n" + body


def real_mail_paths(n: int, rng: random.Random) -> list[Path]:
    """Up to `n` each of Enron sent-folder messages and SpamAssassin ham, seeded sample, alternating."""
    enron = sorted(
        p for p in (CORPORA / "enron" / "maildir").rglob("*") if p.is_file() and "sent" in p.parts[-2]
    )
    ham = sorted((CORPORA / "spamassassin-ham").rglob("*.txt"))
    return [
        p
        for pair in zip(
            rng.sample(enron, min(len(enron), n)), rng.sample(ham, min(len(ham), n)), strict=False
        )
        for p in pair
    ]


def sample_messages(contacts: list[list[str]], n: int, rng: random.Random) -> list[bytes]:
    """`n` real bodies (Enron sent folders and SpamAssassin ham, alternating) sent to directory contacts."""
    pool = real_mail_paths(n, rng)
    by_account: dict[str, list[str]] = {}
    for email, name, account_id in contacts:
        by_account.setdefault(account_id, []).append(f"{name} <{email}>")
    account_ids = sorted(by_account)
    out = []
    for path in pool[:n]:
        account = rng.choice(account_ids)
        to = [rng.choice(by_account[account])]
        cc = []
        if rng.random() < 0.2:
            cc.append(rng.choice(by_account[account]))
        if rng.random() < 0.05:  # the mistake the account rules exist for
            cc.append(rng.choice(by_account[rng.choice(account_ids)]))
        out.append(readdress(path.read_bytes(), to, cc))
    return out


def _quantiles(samples: list[float]) -> dict[str, float]:
    """p50 / p99 / mean / max in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "mean_ms": 1000 * statistics.fmean(ordered),
        "max_ms": 1000 * ordered[-1],
    }


def time_messages(guard: Guard, messages: list[bytes]) -> dict[str, Any]:
    parse_t: list[float] = []
    rule_t: dict[str, list[float]] = {r.id: [] for r in guard.rules}
    total_t: list[float] = []
    skipped = 0
    clock = time.perf_counter
    started = clock()
    for raw in messages:
        t0 = clock()
        try:
            msg = guard.parse(raw)
        except InputError:
            skipped += 1
            continue
        t1 = clock()
        parse_t.append(t1 - t0)
        rules_total = 0.0
        for rule in guard.rules:
            r0 = clock()
            list(rule.check(msg))
            elapsed = clock() - r0
            rule_t[rule.id].append(elapsed)
            rules_total += elapsed
        total_t.append(t1 - t0 + rules_total)
    wall = clock() - started
    checked = len(parse_t)
    return {
        "messages": checked,
        "skipped": skipped,
        "wall_seconds": wall,
        "messages_per_second": checked / wall if wall else 0.0,
        "parse": _quantiles(parse_t),
        "all_rules": _quantiles([t - p for t, p in zip(total_t, parse_t, strict=True)]),
        "end_to_end": _quantiles(total_t),
        "rules": {rule_id: _quantiles(ts) for rule_id, ts in rule_t.items()},
    }


def run(quick: bool = False, messages: int | None = None) -> dict[str, Any]:
    """Time everything; `quick` uses a 2,000-account directory and 100 messages."""
    if not (CORPORA / "enron").is_dir() or not (CORPORA / "spamassassin-ham").is_dir():
        return {"skipped": f"no Enron / SpamAssassin corpus under {CORPORA}"}
    rng = random.Random(SEED)
    accounts = 2_000 if quick else ACCOUNTS
    n = messages if messages is not None else (100 if quick else 1_000)
    with tempfile.TemporaryDirectory(prefix="sendguard-speed-") as tmp:
        t0 = time.perf_counter()
        config = build_org(Path(tmp), accounts, rng)
        generate_s = time.perf_counter() - t0
        with (Path(tmp) / "contacts.csv").open(encoding="utf-8") as fh:
            contacts = list(csv.reader(fh))[1:]
        t0 = time.perf_counter()
        guard = sendguard.load(config)
        build_s = time.perf_counter() - t0
        # Memory in a second build: tracemalloc slows Python down, so it must not overlap the timing.
        gc.collect()
        tracemalloc.start()
        sendguard.load(config)
        _, build_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        corpus = sample_messages(contacts, n, rng)
    # Time a first pass to warm lazy indexes and caches, then measure a second, as a server would see it.
    time_messages(guard, corpus[: min(50, len(corpus))])
    timing = time_messages(guard, corpus)
    return {
        "quick": quick,
        "accounts": len(guard.org.directory.accounts),
        "contacts": len(guard.org.directory.contacts),
        "rules": [r.id for r in guard.rules],
        "generate_seconds": generate_s,
        "build_seconds": build_s,
        "build_peak_mb": build_peak / 2**20,
        # ru_maxrss is in KiB on Linux: the process' peak, including Python and the corpus in memory.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "timing": timing,
        "message_bytes_mean": statistics.fmean(len(m) for m in corpus),
        "targets": [
            {
                "target": "report p50/p99 per rule, messages/s, peak memory at 100k contacts (no number set)",
                "measured": f"end to end p50 {timing['end_to_end']['p50_ms']:.1f} ms, "
                f"p99 {timing['end_to_end']['p99_ms']:.1f} ms; {timing['messages_per_second']:.0f} messages/s "
                f"on one core; {len(guard.org.directory.contacts):,} contacts",
                "met": None,
            }
        ],
    }


def _ms(q: dict[str, float]) -> str:
    return f"{q['p50_ms']:.2f} | {q['p99_ms']:.2f} | {q['mean_ms']:.2f} | {q['max_ms']:.1f}"


def to_markdown(r: dict[str, Any]) -> str:
    if "skipped" in r:
        return f"## Speed\n\nSkipped: {r['skipped']}."
    t = r["timing"]
    out = [
        "## Speed",
        "",
        f"Directory: {r['accounts']:,} accounts, {r['contacts']:,} contacts, a ledger for every account "
        f"(synthetic, seed {SEED}); loaded from CSV and indexed in {r['build_seconds']:.1f} s, "
        f"{r['build_peak_mb']:.0f} MB allocated at peak while building (tracemalloc). {t['messages']:,} real message bodies "
        f"(Enron sent folders and SpamAssassin ham, mean {r['message_bytes_mean'] / 1024:.1f} KiB) re-addressed "
        "to directory contacts; one process, one core, after a 50-message warm-up"
        + (" — quick run: small directory, 100 messages" if r["quick"] else "")
        + ".",
        "",
        "| stage | p50 ms | p99 ms | mean ms | max ms |",
        "|---|---|---|---|---|",
        f"| parse (MIME, quotes, HTML, amounts, recipients) | {_ms(t['parse'])} |",
    ]
    out += [f"| rule `{rule_id}` | {_ms(q)} |" for rule_id, q in t["rules"].items()]
    out += [
        f"| all rules | {_ms(t['all_rules'])} |",
        f"| **end to end (parse + all rules)** | {_ms(t['end_to_end'])} |",
        "",
        f"Throughput: **{t['messages_per_second']:.0f} messages/s** on one core "
        f"({t['messages']:,} messages in {t['wall_seconds']:.1f} s, timers included). "
        f"Peak RSS of the whole benchmark process: **{r['peak_rss_mb']:.0f} MB**.",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 accounts, 100 messages")
    args = parser.parse_args(argv)
    print(to_markdown(run(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

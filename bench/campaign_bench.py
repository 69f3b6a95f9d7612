"""Benchmark for campaign pre-flight (`sendguard campaign check`): throughput and memory.

Generates an organisation (10,000 customer accounts with domains, 20,000 contacts, a ledger) and
an audience of N recipients (default 1,000,000) for a purchase-confirmation template that merges
first name, last name, company and account balance. The audience is realistic rather than
clean: half the recipients are contacts or domains of customer accounts (their balance is
checked against the ledger), most of the rest are consumers at webmail domains, and a few
percent are leads outside the segment, recipients with an empty first name, wrong balances,
duplicates, role and suppressed addresses.

Then it runs the check on the local engine with 1 process and with all cores, and on a Dask
LocalCluster (one process per core), and reports recipients per second and peak memory (the
resident memory of this process and its children, sampled every 20 ms); with `--memory` also
at a tenth of the audience, to show memory does not grow with it.

Run: `python bench/campaign_bench.py [--rows N] [--memory] [--keep DIR | --reuse DIR] [--no-dask]`
(prints a Markdown section).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.csv as pacsv

import sendguard
from sendguard.campaign.engine import default_workers

FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
    "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie",
    "Ronald", "Rebecca", "Edward", "Sharon", "Jason", "Laura", "Jeffrey", "Cynthia", "Ryan", "Kathleen",
    "Jacob", "Amy", "Gary", "Angela", "Nicholas", "Shirley", "Eric", "Anna", "Jonathan", "Brenda",
    "Stephen", "Pamela", "Larry", "Emma", "Justin", "Nicole", "Scott", "Helen", "Brandon", "Samantha",
    "Benjamin", "Katherine", "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel", "Frank",
    "Carolyn", "Patrick", "Janet", "Raymond", "Catherine", "Jack", "Maria", "Dennis", "Heather", "Jerry",
    "Diane", "Tyler", "Ruth", "Aaron", "Julie", "Jose", "Olivia", "Adam", "Joyce", "Nathan", "Virginia",
    "Henry", "Victoria", "Douglas", "Kelly", "Zachary", "Lauren", "Peter", "Christina", "Kyle", "Joan",
    "Ethan", "Evelyn", "Walter", "Judith", "Noah", "Megan", "Jeremy", "Andrea", "Christian", "Cheryl",
    "Keith", "Hannah", "Roger", "Jacqueline", "Terry", "Martha", "Gerald", "Gloria", "Harold", "Teresa",
    "Sean", "Ann", "Austin", "Sara", "Carl", "Madison", "Arthur", "Frances", "Lawrence", "Kathryn",
    "Dylan", "Janice", "Jesse", "Jean", "Jordan", "Abigail", "Bryan", "Alice", "Billy", "Judy", "Joe",
    "Sophia", "Bruce", "Grace", "Gabriel", "Denise", "Logan", "Amber", "Albert", "Doris", "Willie",
    "Marilyn", "Alan", "Danielle", "Juan", "Beverly", "Wayne", "Isabella", "Elijah", "Theresa", "Randy",
    "Diana", "Roy", "Natalie", "Vincent", "Brittany", "Ralph", "Charlotte", "Eugene", "Marie", "Russell",
    "Kayla", "Bobby", "Alexis", "Mason", "Lori",
]  # fmt: skip
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
    "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
    "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins",
    "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan",
    "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
    "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
]  # fmt: skip
WORDS = [
    "Apex", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Indigo", "Juniper",
    "Keystone", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal",
    "Umber", "Vertex", "Willow", "Zenith", "Atlas", "Beacon", "Cedar", "Drift", "Echo", "Fjord", "Glacier",
    "Horizon", "Iron", "Jade", "Kestrel", "Lantern", "Maple", "Nova", "Orchard", "Prairie",
]  # fmt: skip
KINDS = [
    "Logistics", "Systems", "Foods", "Energy", "Health", "Labs", "Retail", "Partners", "Works", "Group",
]  # fmt: skip
WEBMAIL = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
    "gmx.de",
    "web.de",
    "hotmail.co.uk",
]
ACCOUNTS = 10_000

TEMPLATE = """+++
name = "SecureHome Plus: thank you for your purchase"
segment = "customers-with-product:SecureHome Plus"
mode = "live"
+++
From: RevCalc <news@revcalc.io>
To: {{ first_name }} {{ last_name }} <{{ email }}>
Subject: {{ first_name }}, thank you for your purchase of SecureHome Plus
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hi {{ first_name }},

Thank you for buying SecureHome Plus for {{ company }}. Your devices are covered from today, and
setup takes about ten minutes: https://app.revcalc.io/securehome/setup

Your current account balance is ${{ balance }}.

If anything is unclear, reply to this message and a person will answer.

The RevCalc team
"""

CONFIG = """[organization]
name = "RevCalc Systems"
internal_domains = ["revcalc.io"]

[directory]
accounts = "accounts.csv"
contacts = "contacts.csv"

[ledger]
path = "ledger.csv"

[campaign]
suppression_list = "suppressed.txt"
max_held_share = 0.2
chunk_rows = 20000

[campaign.segments]
customers-with-product = ["kind=customer", "products~{}"]
"""


def write_org(folder: Path, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """Accounts, contacts, ledger; returns the accounts as (id, name, domain, balance)."""
    accounts = []
    for i in range(ACCOUNTS):
        word, kind = WORDS[i % len(WORDS)], KINDS[(i // len(WORDS)) % len(KINDS)]
        name = f"{word} {kind} {i}"
        accounts.append(
            (f"a{i}", name, f"{word.lower()}-{kind.lower()}-{i}.com", f"{rng.randint(0, 500000) / 100:.2f}")
        )
    pacsv.write_csv(
        pa.table(
            {
                "account_id": [a[0] for a in accounts],
                "name": [a[1] for a in accounts],
                "domains": [a[2] for a in accounts],
                "aliases": [""] * ACCOUNTS,
            }
        ),
        folder / "accounts.csv",
    )
    contacts = [
        (f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}.{i}@{a[2]}", a)
        for i, a in enumerate(accounts * 2)
    ]
    pacsv.write_csv(
        pa.table(
            {
                "email": [c[0] for c in contacts],
                "name": [c[0].split("@")[0].replace(".", " ").title() for c in contacts],
                "account_id": [c[1][0] for c in contacts],
            }
        ),
        folder / "contacts.csv",
    )
    pacsv.write_csv(
        pa.table(
            {
                "account_id": [a[0] for a in accounts],
                "balance": [a[3] for a in accounts],
                "currency": ["USD"] * ACCOUNTS,
            }
        ),
        folder / "ledger.csv",
    )
    return accounts


def write_audience(path: Path, rows: int, accounts: list[tuple[str, str, str, str]], seed: int) -> list[str]:
    """The audience CSV (written in blocks, so generating a million rows stays small); returns suppressed addresses."""
    rng = random.Random(seed)
    suppressed: list[str] = []
    columns = ["email", "first_name", "last_name", "company", "kind", "products", "balance"]
    block = 100_000
    with pacsv.CSVWriter(path, pa.schema([(c, pa.string()) for c in columns])) as writer:
        recent: list[str] = []
        for start in range(0, rows, block):
            data: dict[str, list[str]] = {c: [] for c in columns}
            for i in range(start, min(rows, start + block)):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                roll = rng.random()
                kind, products = "customer", rng.choice(["SecureHome Plus", "SecureHome Plus;Backup Pro"])
                if roll < 0.5:
                    account = accounts[rng.randrange(len(accounts))]
                    email = f"{first.lower()}.{last.lower()}{i}@{account[2]}"
                    company = account[1]
                    balance = account[3] if rng.random() > 0.01 else f"{float(account[3]) + 100:.2f}"
                else:
                    email = f"{first.lower()}.{last.lower()}{i}@{rng.choice(WEBMAIL)}"
                    company, balance = "your home", "0.00"
                    if roll > 0.96:
                        kind, products = "lead", ""
                if rng.random() < 0.005:
                    first = ""
                if rng.random() < 0.002:
                    email = f"info@{email.split('@')[1]}"
                if recent and rng.random() < 0.002:
                    email = rng.choice(recent)
                if rng.random() < 0.001:
                    suppressed.append(email)
                if len(recent) < 1000:
                    recent.append(email)
                for column, value in zip(
                    columns, (email, first, last, company, kind, products, balance), strict=True
                ):
                    data[column].append(value)
            writer.write_table(pa.table(data))
    return suppressed


class TreeMonitor:
    """Peak resident memory and CPU time of a process and all its descendants (pool workers are
    children of a fork server, Dask workers of nannies: rusage would miss them), sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.cpu_by_pid: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                    self.cpu_by_pid[proc.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    @property
    def cpu(self) -> float:
        return sum(self.cpu_by_pid.values())

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def run_one(folder: Path, rows: int, options: dict[str, Any]) -> None:
    """One measured run (in its own process, so memory and CPU are its own): prints JSON."""
    guard = sendguard.load(folder / "sendguard.toml")
    started = time.perf_counter()
    report = guard.check_campaign(folder / "template.eml", folder / f"audience-{rows}.csv", **options)
    seconds = time.perf_counter() - started
    result = report.to_dict()
    result.pop("run")
    print(json.dumps({"seconds": seconds, "audience": report.audience, "result": result}))


def measure(folder: Path, rows: int, **options: Any) -> dict[str, Any]:
    """Run `run_one` in a child process; wall time, CPU time of the whole process tree, peak memory."""
    command = [sys.executable, __file__, "--run", str(folder), str(rows), json.dumps(options)]
    with (
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child,
        TreeMonitor(child.pid) as tree,
    ):
        out, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"measured run failed ({child.returncode})")
    data = json.loads(out.strip().splitlines()[-1])
    data.update(cpu=tree.cpu, peak_mb=tree.peak / 1048576)
    return data


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        run_one(Path(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory", action="store_true", help="also run at rows/10 to compare peak memory")
    parser.add_argument("--keep", metavar="DIR", help="write the generated files here and keep them")
    parser.add_argument("--reuse", metavar="DIR", help="use the files a --keep run left there")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()

    folder = Path(args.reuse or args.keep or tempfile.mkdtemp(prefix="campaign-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [args.rows // 10, args.rows] if args.memory else [args.rows]
    try:
        t0 = time.perf_counter()
        if not args.reuse:
            accounts = write_org(folder, random.Random(7))
            suppressed: list[str] = []
            for rows in sizes:
                suppressed += write_audience(folder / f"audience-{rows}.csv", rows, accounts, seed=rows)
            (folder / "suppressed.txt").write_text("\n".join(suppressed) + "\n")
            (folder / "sendguard.toml").write_text(CONFIG)
            (folder / "template.eml").write_text(TEMPLATE)
        generated = time.perf_counter() - t0
        cores = default_workers()
        load = os.getloadavg()[0]

        print("## Campaign pre-flight benchmark\n")
        print(
            f"{args.rows:,} recipients, {ACCOUNTS:,} accounts, {cores} cores ({os.uname().machine}), "
            f"load average {load:.1f} at the start; data generated in {generated:.1f} s. Template: subject, "
            "greeting, company and balance merged. Each run is a fresh process; CPU is the whole process "
            "tree's (workers included), so recipients per CPU-second is the per-core rate however busy the "
            "machine is.\n"
        )
        engines: list[tuple[str, int, dict[str, Any]]] = [("local, 1 process", 1, {"workers": 1})]
        engines.append((f"local, {cores} processes", cores, {"workers": cores}))
        if not args.no_dask:
            engines.append(
                (f"dask LocalCluster, {cores} workers", cores, {"engine": "dask", "workers": cores})
            )
        runs = [
            (label, rows, measure(folder, rows, **options)) for rows in sizes for label, _, options in engines
        ]
        print(
            "| engine | recipients | seconds | recipients/s | CPU s | recipients per CPU-second | peak memory |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, rows, r in runs:
            print(
                f"| {label} | {rows:,} | {r['seconds']:.1f} | {r['audience'] / r['seconds']:,.0f} | {r['cpu']:.1f} "
                f"| {r['audience'] / r['cpu']:,.0f} | {r['peak_mb']:,.0f} MB |"
            )
        last = [r["result"] for _, rows, r in runs if rows == sizes[-1]]
        report = last[0]
        print(
            f"\nVerdict {report['verdict']}; held {report['held']:,} of {report['audience']:,}; "
            f"reasons {report['reasons']}."
        )
        print(
            f"Engines agree on every count and sample: {'yes' if all(x == report for x in last) else 'NO'}."
        )
    finally:
        if not args.keep and not args.reuse:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":  # the local engine's and Dask's worker processes import this module
    main()

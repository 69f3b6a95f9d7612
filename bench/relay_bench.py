"""Relay benchmark: what the sendguard relay adds over a bare aiosmtpd pass-through relay.

    load generator (this process, aiosmtplib) ─► relay under test ─► sink (a subprocess, aiosmtpd)

Two relays are measured against the same sink, one after the other:
- baseline: a bare aiosmtpd relay that forwards each message to the sink inside DATA (on pooled,
  reused upstream connections) and answers with the sink's reply: no checks, no disk;
- sendguard: `sendguard relay` with the example org, undo_seconds = 0, a SQLite (or, with
  --store, PostgreSQL) store: check, durable commit, then 250; delivery runs behind it.

Phases per relay:
1. fixed offered load: `--rate` messages/s for `--duration` s, open loop (each message is due at
   its own time whatever happened to the previous ones, so a stall shows up as latency instead of
   lowering the load), at most `--clients` connections at once, one SMTP session per message;
   the two relays take turns in `--rounds` rounds, so other load on the machine hits both alike;
2. saturation: `--clients` clients sending back to back for `--saturation` s (throughput).

Latency is measured from the moment a message was due: "submit" is until the client has the
reply to DATA (what a mail client waits for), "end to end" is until the sink has it. Added
latency is sendguard's percentile minus the baseline's. The guard's own check time per message
and per rule is measured in-process on the same message, to tell how much of the added time is
the check.

    .venv/bin/python bench/relay_bench.py                 # 200 msg/s for 30 s, 16 clients
    .venv/bin/python bench/relay_bench.py --rate 100 --duration 10 --saturation 5
    .venv/bin/python bench/relay_bench.py --rates 50,100,150,200   # one row per offered load
    .venv/bin/python bench/relay_bench.py --real-mail 300 --rates 75,125   # real mail, not the example

The example message is a short business reply (~1 KB). `--real-mail N` sends a mix of N real
messages instead (Enron sent mail and SpamAssassin ham from ../shared/corpora, re-addressed from
the example org's sender to its customer, those the guard does not block), whose sizes run from
a few hundred bytes to tens of KB: the check's time grows with the text, so the tail on real mail
is the guard's time on the largest messages.

With `--rates`, the fixed-load phase runs once per offered load (each with its warm-up and
alternating rounds, the load average recorded before and after) and the report is a table;
saturation is measured once at the end.

Where the tail comes from: each round records the machine's steal (CPU the hypervisor took
away) and iowait from /proc/stat, and the relay runs with SENDGUARD_RELAY_TRACE (see
sendguard/relay/trace.py), so for the slowest 1% of submits the report splits the latency into
stages: waiting for a client slot, connect, SMTP session, waiting for a check worker, the
check, waiting for the group commit, the commit, back to the client; with the CPU time and
run-queue wait of the check and the commit, and whether a WAL checkpoint or a GC overlapped.
`--trace PATH` keeps the relay's trace.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org"
MESSAGE = ROOT / "examples" / "messages" / "01-good-reply-with-attachment.eml"
SENDER = "sam.carter@revcalc.io"
RCPTS = ["peter.jones@acme.com", "anna.berg@acme.com"]
BENCH_ID = re.compile(rb"X-Bench-Id: (\S+)")
QUEUED_AS = re.compile(r"queued as (\w+)")
TAIL_PERCENT = 1.0  # the stage breakdown is of the slowest 1% of submits


# -- the two helper servers (run as subprocesses of this script) -------------------------------


def run_sink(port: int) -> None:
    """Accept everything; print "<bench id> <wall time>" per message on stdout."""
    from aiosmtpd.controller import Controller

    out_lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            at = time.time()
            m = BENCH_ID.search(envelope.original_content)  # type: ignore[attr-defined]
            if m:
                with out_lock:
                    sys.stdout.write(f"{m.group(1).decode()} {at:.6f}\n")
                    sys.stdout.flush()
            return "250 2.0.0 Ok"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


def run_passthrough(port: int, upstream: int, connections: int) -> None:
    """The baseline: forward inside DATA on a pool of reused upstream sessions, relay the reply."""
    import aiosmtplib
    from aiosmtpd.smtp import SMTP

    async def main() -> None:
        pool: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(connections):
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=upstream, start_tls=False)
            await client.connect()
            pool.put_nowait(client)

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                client = await pool.get()
                try:
                    await client.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)  # type: ignore[attr-defined]
                    return "250 2.0.0 Ok: forwarded"
                except aiosmtplib.SMTPException as exc:
                    return f"451 4.4.1 upstream: {exc}"
                finally:
                    pool.put_nowait(client)

        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Handler(), loop=loop), "127.0.0.1", port)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


# -- the load generator ------------------------------------------------------------------------


@dataclass
class Sent:
    bench_id: str
    due_wall: float  # when it was due, wall clock (the sink reports wall-clock arrivals)
    submit: float  # seconds from due to the reply to DATA
    ok: bool
    due: float = 0.0  # time.monotonic(), the clock of the relay's trace
    gate: float = 0.0  # seconds from due until one of the --clients connections was free
    relay_id: str | None = None  # the id in sendguard's reply, to find the message in its trace


class Arrivals:
    """Reads the sink's stdout in a thread: bench id -> first arrival time."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.times: dict[str, float] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            bench_id, at = line.split()
            with self.lock:
                self.times.setdefault(bench_id, float(at))

    def wait_for(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(i in self.times for i in ids):
                    return
            time.sleep(0.1)


def message(templates: list[bytes], bench_id: str) -> bytes:
    """One of `templates` (the same one for the same id, so both relays get the same mix), tagged."""
    template = templates[zlib.crc32(bench_id.encode()) % len(templates)]
    return f"X-Bench-Id: {bench_id}\r\n".encode() + template.replace(
        b"Message-ID: <reply-0001@revcalc.io>", f"Message-ID: <{bench_id}@bench.revcalc.io>".encode()
    )


def real_mail(n: int) -> list[bytes]:
    """`n` real messages (Enron sent mail and SpamAssassin ham, alternating, seeded sample) as the
    example org's sender would send them to its customer: From, To and Cc replaced, the rest kept.
    Only those the guard does not block: a held message takes the same check and commit, but its
    550 never reaches the sink, whose arrivals time the end-to-end latency."""
    import random

    import sendguard
    from sendguard.errors import InputError

    sys.path.insert(0, str(Path(__file__).parent))
    from speed_bench import CORPORA, readdress, real_mail_paths

    if not CORPORA.is_dir():
        raise SystemExit(f"relay_bench: --real-mail reads {CORPORA}, which is not there")
    pool = real_mail_paths(sys.maxsize, random.Random(20261123))  # all of them, shuffled
    guard = sendguard.load(EXAMPLE_ORG / "sendguard.toml")
    out: list[bytes] = []
    for path in pool:
        raw = path.read_bytes()
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1]  # the mbox envelope line
        head, sep, body = readdress(raw, RCPTS, []).partition(b"\n\n")
        head = re.sub(rb"(?im)^from:.*(?:\n[ \t].*)*$", f"From: Sam Carter <{SENDER}>".encode(), head)
        raw = head + sep + body
        try:
            if guard.check(raw).verdict != "block":
                out.append(raw)
        except InputError:
            continue
        if len(out) == n:
            break
    return out


def _describe(templates: list[bytes]) -> str:
    if len(templates) == 1:
        return f"message {len(templates[0])} bytes"
    sizes = sorted(len(t) for t in templates)
    return (
        f"{len(sizes)} real messages ({pct(sizes, 50) / 1024:.1f} KiB median, "
        f"p99 {pct(sizes, 99) / 1024:.1f} KiB, largest {sizes[-1] / 1024:.0f} KiB)"
    )


async def _send_one(port: int, raw: bytes) -> tuple[bool, str | None]:
    """(accepted, the relay's id for it if its reply names one)."""
    import aiosmtplib

    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
    try:
        await client.connect()
        _, reply = await client.sendmail(SENDER, RCPTS, raw)
        m = QUEUED_AS.search(reply)
        return True, m.group(1) if m else None
    except (aiosmtplib.SMTPException, OSError):
        return False, None
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()


async def fixed_load(
    port: int, templates: list[bytes], tag: str, rate: float, duration: float, clients: int
) -> list[Sent]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(clients)
    start_mono = loop.time() + 0.2
    start_wall = time.time() + (start_mono - loop.time())

    async def one(i: int) -> Sent:
        due = start_mono + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        bench_id = f"{tag}-{i}"
        async with gate:
            free = loop.time()
            ok, relay_id = await _send_one(port, message(templates, bench_id))
        return Sent(bench_id, start_wall + i / rate, loop.time() - due, ok, due, free - due, relay_id)

    return await asyncio.gather(*(one(i) for i in range(int(rate * duration))))


async def saturate(
    port: int, templates: list[bytes], tag: str, seconds: float, clients: int
) -> tuple[int, int]:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    counts = [0, 0]

    async def client(c: int) -> None:
        i = 0
        while loop.time() < end:
            ok, _ = await _send_one(port, message(templates, f"{tag}-{c}-{i}"))
            counts[0 if ok else 1] += 1
            i += 1

    await asyncio.gather(*(client(c) for c in range(clients)))
    return counts[0], counts[1]


# -- orchestration -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"relay_bench: {what} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SystemExit(f"relay_bench: {what} did not listen on {port} within {timeout:.0f}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (the relay's check workers), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_times() -> list[int]:
    """The machine's `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal (ticks)."""
    with open("/proc/stat") as f:
        return [int(v) for v in f.readline().split()[1:9]]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Target:
    name: str
    port: int
    pid: int
    sink_pid: int = 0
    sent: list[Sent] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0
    load_cpu: float = 0.0  # this process (the load generator) during the target's rounds
    sink_cpu: float = 0.0
    machine: list[int] = field(default_factory=lambda: [0] * 8)  # /proc/stat ticks during its rounds


def fixed_round(
    target: Target, number: int, seconds: float, args: argparse.Namespace, templates: list[bytes]
) -> None:
    print(f"  round {number}: {target.name}, {args.rate:g} msg/s for {seconds:g} s", flush=True)
    cpu_before, load_before, sink_before, machine_before = (
        cpu_seconds(target.pid),
        time.process_time(),
        cpu_seconds(target.sink_pid),
        cpu_times(),
    )
    sent = asyncio.run(
        fixed_load(
            target.port, templates, f"{_tag(args)}{target.name}-{number}", args.rate, seconds, args.clients
        )
    )
    target.machine = [t + a - b for t, a, b in zip(target.machine, cpu_times(), machine_before, strict=True)]
    target.cpu += cpu_seconds(target.pid) - cpu_before
    target.load_cpu += time.process_time() - load_before
    target.sink_cpu += cpu_seconds(target.sink_pid) - sink_before
    target.sent += sent
    # From the first message's due time to the last reply: a relay that keeps up takes `seconds`.
    target.seconds += max(s.due_wall + s.submit for s in sent) - min(s.due_wall for s in sent)


def _tag(args: argparse.Namespace) -> str:
    """Bench ids must be unique over the whole run (the sink's arrivals are matched by id)."""
    return f"r{args.rate:g}-" if args.rates else ""


def summarise(
    target: Target,
    arrivals: Arrivals,
    args: argparse.Namespace,
    templates: list[bytes],
    saturation: bool = True,
) -> dict:
    ok = [s for s in target.sent if s.ok]
    arrivals.wait_for([s.bench_id for s in ok], timeout=60)
    with arrivals.lock:
        e2e = [arrivals.times[s.bench_id] - s.due_wall for s in ok if s.bench_id in arrivals.times]
    result = {
        "offered_per_s": args.rate,
        "accepted": len(ok),
        "failed": len(target.sent) - len(ok),
        "arrived": len(e2e),
        "accepted_per_s": len(ok) / target.seconds,
        "submit_ms": {p: pct([s.submit for s in ok], p) * 1000 for p in (50, 90, 99, 100)},
        "end_to_end_ms": {p: pct(e2e, p) * 1000 for p in (50, 90, 99, 100)},
        "cpu_ms_per_message": target.cpu / max(len(target.sent), 1) * 1000,
        # What else the machine spends per message: the load generator (this process) and the sink.
        "load_generator_cpu_ms_per_message": target.load_cpu / max(len(target.sent), 1) * 1000,
        "sink_cpu_ms_per_message": target.sink_cpu / max(len(target.sent), 1) * 1000,
        # Of all the machine's CPU time during the target's rounds: taken by the hypervisor (steal),
        # idle while waiting for the disk (iowait).
        "steal_percent": 100 * target.machine[7] / max(sum(target.machine), 1),
        "iowait_percent": 100 * target.machine[4] / max(sum(target.machine), 1),
        "_sent": target.sent,  # for the stage breakdown once the relay has written its trace
    }
    if saturation and args.saturation > 0:
        print(f"  {target.name}: saturation, {args.clients} clients for {args.saturation:g} s", flush=True)
        done, errors = asyncio.run(
            saturate(target.port, templates, f"{target.name}-sat", args.saturation, args.clients)
        )
        result["saturation_per_s"] = done / args.saturation
        result["saturation_errors"] = errors
    return result


def measure(
    targets: list[Target],
    arrivals: Arrivals,
    args: argparse.Namespace,
    templates: list[bytes],
    saturation: bool = True,
) -> dict:
    """Warm up, then alternate the targets in `--rounds` rounds, so a change in the machine's
    other load hits both about equally."""
    for target in targets:
        print(f"  {target.name}: warm-up", flush=True)
        asyncio.run(
            fixed_load(
                target.port, templates, f"{_tag(args)}{target.name}-warm", args.rate, 2.0, args.clients
            )
        )
    for number in range(1, args.rounds + 1):
        for target in targets:
            fixed_round(target, number, args.duration / args.rounds, args, templates)
    return {target.name: summarise(target, arrivals, args, templates, saturation) for target in targets}


def measure_rates(
    targets: list[Target], arrivals: Arrivals, args: argparse.Namespace, templates: list[bytes]
) -> dict:
    """`measure` once per offered load in `--rates` (fresh figures each time), then saturation."""
    rows = []
    for rate in args.rates:
        load_before = os.getloadavg()[0]
        print(f"offered load {rate:g} msg/s (load average {load_before:.2f})", flush=True)
        fresh = [Target(t.name, t.port, t.pid, t.sink_pid) for t in targets]
        figures = measure(
            fresh, arrivals, argparse.Namespace(**{**vars(args), "rate": rate}), templates, False
        )
        rows.append({"rate": rate, "load_before": load_before, "load_after": os.getloadavg()[0], **figures})
    results: dict = {"rates": rows}
    if args.saturation > 0:
        results["saturation"] = {}
        for target in targets:
            print(
                f"  {target.name}: saturation, {args.clients} clients for {args.saturation:g} s", flush=True
            )
            done, errors = asyncio.run(
                saturate(target.port, templates, f"{target.name}-sat", args.saturation, args.clients)
            )
            results["saturation"][target.name] = {"per_s": done / args.saturation, "errors": errors}
    return results


def guard_profile(templates: list[bytes]) -> dict:
    """Check time of the bench message, and each rule's mean time over the example messages."""
    import sendguard

    guard = sendguard.load(EXAMPLE_ORG / "sendguard.toml")
    raws = [message([t], "profile") for t in templates]
    for raw in (raws * 20)[:20]:
        guard.check(raw)
    times = []
    for raw in raws * max(1, 300 // len(raws)):  # the bench's message 300 times, or each of a mix
        t = time.perf_counter()
        guard.check(raw)
        times.append(time.perf_counter() - t)
    parse_times, rule_times = [], {r.id: [] for r in guard.rules}
    for path in sorted((ROOT / "examples" / "messages").glob("*.eml")):
        for _ in range(20):
            t = time.perf_counter()
            msg = guard.parse(path.read_bytes())
            parse_times.append(time.perf_counter() - t)
            for rule in guard.rules:
                t = time.perf_counter()
                list(rule.check(msg))  # rules yield findings: consume them
                rule_times[rule.id].append(time.perf_counter() - t)
    rules = {rid: statistics.mean(ts) * 1000 for rid, ts in rule_times.items()}
    return {
        "check_ms_p50": pct(times, 50) * 1000,
        "check_ms_p99": pct(times, 99) * 1000,
        "parse_ms_mean": statistics.mean(parse_times) * 1000,
        "rule_ms_mean": dict(sorted(rules.items(), key=lambda kv: -kv[1])),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="offered load, messages/s (default 200)")
    parser.add_argument(
        "--rates",
        type=lambda v: [float(r) for r in v.split(",")],
        help="several offered loads, comma-separated (e.g. 50,100,150,200): one table row each",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of fixed load (default 30)")
    parser.add_argument(
        "--clients", type=int, default=16, help="concurrent client connections at most (default 16)"
    )
    parser.add_argument(
        "--saturation", type=float, default=10.0, help="seconds of back-to-back load (0: skip)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate the two relays this many times (default 3)"
    )
    parser.add_argument("--check-workers", type=int, help="[relay] check_workers (default: the relay's own)")
    parser.add_argument("--store", help="relay store URL (default: a SQLite file in a temporary directory)")
    parser.add_argument(
        "--real-mail",
        type=int,
        metavar="N",
        help="send a mix of N real messages from ../shared/corpora instead of the example message",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--trace", metavar="PATH", help="keep the relay's stage trace (JSON lines) there")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--passthrough", nargs=3, type=int, metavar=("PORT", "UPSTREAM", "CONNS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink)
        return 0
    if args.passthrough:
        run_passthrough(*args.passthrough)
        return 0
    if (
        min([args.rate, *(args.rates or [])]) <= 0
        or args.duration <= 0
        or args.clients < 1
        or args.rounds < 1
    ):
        parser.error("--rate and --duration must be positive, --clients and --rounds at least 1")

    templates = real_mail(args.real_mail) if args.real_mail else [MESSAGE.read_bytes()]
    templates = [t.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for t in templates]
    work = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    procs: list[subprocess.Popen] = []
    results: dict | None = None
    try:
        sink_port = free_port()
        sink = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(sink_port)], stdout=subprocess.PIPE, text=True
        )
        procs.append(sink)
        wait_port(sink_port, sink, "sink")
        arrivals = Arrivals(sink)

        connections = 4  # the same number of upstream sessions as the relay's default lanes
        base_port = free_port()
        base = subprocess.Popen(
            [sys.executable, __file__, "--passthrough", str(base_port), str(sink_port), str(connections)]
        )
        procs.append(base)
        wait_port(base_port, base, "pass-through relay")

        org = work / "org"
        shutil.copytree(EXAMPLE_ORG, org)
        config = org / "sendguard.toml"
        store = args.store or "relay.db"
        config.write_text(
            config.read_text()
            + f'\n[relay]\nstore = "{store}"\nundo_seconds = 0\nupstream_connections = {connections}\n'
            + (f"check_workers = {args.check_workers}\n" if args.check_workers else "")
        )
        relay_port = free_port()
        # RELAY_BENCH_PROFILE=<file>: run the relay under cProfile (written when it stops).
        profile = os.environ.get("RELAY_BENCH_PROFILE")
        prefix = [sys.executable, "-m", "cProfile", "-o", profile] if profile else []
        # The relay writes each message's stage times there (sendguard/relay/trace.py).
        trace_path = work / "trace.jsonl"
        relay = subprocess.Popen(
            [*prefix, str(Path(sys.executable).with_name("sendguard")), "relay", "--config", str(config),
             "--listen", f"127.0.0.1:{relay_port}", "--upstream", f"127.0.0.1:{sink_port}", "--log-level", "warning"],
            env={**os.environ, "SENDGUARD_RELAY_TRACE": str(trace_path)},
        )  # fmt: skip
        procs.append(relay)
        wait_port(relay_port, relay, "sendguard relay")

        print(
            f"relay_bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run "
            f"(other work on the machine skews every figure), {_describe(templates)}, {len(RCPTS)} recipients"
        )
        targets = [
            Target("baseline", base_port, base.pid, sink.pid),
            Target("sendguard", relay_port, relay.pid, sink.pid),
        ]
        results = (
            measure_rates(targets, arrivals, args, templates)
            if args.rates
            else measure(targets, arrivals, args, templates)
        )
        results["guard"] = guard_profile(templates)
        results["load_average_after"] = os.getloadavg()[0]
        if "://" not in store:  # a SQLite file beside the config: what its commits wait for
            results["disk_fsync_ms"] = fsync_profile(org)
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        if results is not None:  # the relay has stopped: its trace is complete
            add_stages(results, trace_path)
            if args.trace and trace_path.exists():
                shutil.copyfile(trace_path, args.trace)
        shutil.rmtree(work, ignore_errors=True)

    report_rates(results, args) if args.rates else report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


# -- where the slow submits spent their time (the relay's trace) --------------------------------

# The stages of a submit, in order; they add up to its latency (from the time it was due).
STAGES = {
    "clients": "waiting for one of the --clients connections (load generator)",
    "connect": "connecting until the relay's loop accepted the connection",
    "session": "banner, EHLO, MAIL, RCPT and the DATA transfer",
    "worker_wait": "DATA received until a check worker was free",
    "to_worker": "the request on its way until the worker started",
    "check": "the worker's check",
    "from_worker": "the verdict on its way back until the loop read it",
    "commit_wait": "verdict until its group commit started",
    "commit": "the group commit, fsync included",
    "resume": "commit done until the loop resumed the message",
    "reply": "stored until the client had the reply",
}


def read_trace(path: Path) -> tuple[dict[str, dict], dict[str, dict], list[list[float]], list[list[float]]]:
    """The relay's trace: messages and commits by message id, checkpoint and GC intervals."""
    messages, commits, checkpoints, collections = {}, {}, [], []
    if not path.exists():
        return messages, commits, checkpoints, collections
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if "message" in event and "id" in event["message"]:
            messages[event["message"]["id"]] = event["message"]
        elif "commit" in event:
            commits.update((i, event) for i in event["ids"])
        elif "checkpoint" in event:
            checkpoints.append(event["checkpoint"])
        elif "gc" in event:
            collections.append(event["gc"])
    return messages, commits, checkpoints, collections


def stages(sent: Sent, m: dict, commit: dict) -> dict[str, float]:
    """A traced message's latency split into STAGES (ms), and the CPU figures of its check and commit."""
    w_start, w_end, w_cpu, w_wait = m["worker"]
    c_start, c_end = commit["commit"]
    marks = [
        sent.due, sent.due + sent.gate, m["accepted"], m["data"], m["dispatched"], w_start, w_end,
        m["checked"], c_start, c_end, m["stored"], sent.due + sent.submit,
    ]  # fmt: skip
    out = {name: 1000 * (b - a) for name, a, b in zip(STAGES, marks[:-1], marks[1:], strict=True)}
    out |= {
        "check_cpu": 1000 * w_cpu,
        "check_cpu_wait": 1000 * w_wait,
        "commit_cpu": 1000 * commit["cpu"],
        "commit_cpu_wait": 1000 * commit["cpu_wait"],
        "commit_batch": len(commit["ids"]) + commit["outcomes"],
        "loop_wait": 1000 * m["loop_wait"],
    }
    return out


def tail_stages(sent: list[Sent], trace: tuple) -> dict:
    """Mean of each stage over the slowest TAIL_PERCENT of submits (and over all, to compare)."""
    messages, commits, checkpoints, collections = trace
    traced = [
        (s, stages(s, messages[s.relay_id], commits[s.relay_id]))
        for s in sent
        if s.ok and s.relay_id in messages and s.relay_id in commits and "worker" in messages[s.relay_id]
    ]
    if not traced:
        return {}
    traced.sort(key=lambda pair: pair[0].submit)
    tail = traced[-max(1, round(len(traced) * TAIL_PERCENT / 100)) :]

    def overlapping(intervals: list[list[float]]) -> int:
        """Tail messages in the relay (DATA to stored) while one of `intervals` ran."""
        return sum(
            any(a < messages[s.relay_id]["stored"] and b > messages[s.relay_id]["data"] for a, b in intervals)
            for s, _ in tail
        )

    def means(pairs: list) -> dict[str, float]:
        return {k: statistics.mean(st[k] for _, st in pairs) for k in pairs[0][1]}

    return {
        "traced": len(traced),
        "tail": len(tail),
        "tail_submit_ms": statistics.mean(s.submit for s, _ in tail) * 1000,
        "tail_ms": means(tail),
        "all_ms": means(traced),
        "tail_during_checkpoint": overlapping(checkpoints),
        "tail_during_gc": overlapping(collections),
        "checkpoints": len(checkpoints),
        "gc_over_1ms": len(collections),
    }


def client_tail(sent: list[Sent]) -> dict[str, float]:
    """The baseline's slowest TAIL_PERCENT: mean submit and the part spent waiting for a client slot."""
    ok = sorted((s for s in sent if s.ok), key=lambda s: s.submit)
    tail = ok[-max(1, round(len(ok) * TAIL_PERCENT / 100)) :]
    if not tail:
        return {}
    return {
        "tail_submit_ms": statistics.mean(s.submit for s in tail) * 1000,
        "tail_clients_ms": statistics.mean(s.gate for s in tail) * 1000,
    }


def add_stages(results: dict, trace_path: Path) -> None:
    """Replace each result's list of sent messages by its tail breakdown (JSON-ready)."""
    trace = read_trace(trace_path)
    for figures in [results, *results.get("rates", [])]:
        for name in ("baseline", "sendguard"):
            if name in figures:
                sent = figures[name].pop("_sent")
                tail = tail_stages(sent, trace) if name == "sendguard" else client_tail(sent)
                figures[name]["tail"] = tail


def _print_stages(rows: list[tuple[str, dict]]) -> None:
    print(
        f"\nwhere the slowest {TAIL_PERCENT:g}% of sendguard submits spent their time (mean ms per stage; "
        "cpu/wait: CPU time of the worker or database thread, and time it waited for a CPU; "
        "loop wait: time the relay's event loop waited for a CPU while the message was in the relay; "
        "ckpt/gc: tail messages that overlapped a WAL checkpoint / a GC over 1 ms):"
    )
    short = {
        "clients": "clients", "connect": "connect", "session": "session", "worker_wait": "wkr wait",
        "to_worker": "to wkr", "check": "check", "from_worker": "from wkr", "commit_wait": "cmt wait",
        "commit": "commit", "resume": "resume", "reply": "reply",
    }  # fmt: skip
    print(
        f"{'':>10}{'n':>4}{'submit':>8}"
        + "".join(f"{short[k]:>9}" for k in STAGES)
        + f"{'chk cpu/wait':>14}{'cmt cpu/wait':>14}{'batch':>7}{'loop wait':>10}{'ckpt':>6}{'gc':>4}"
        + "  baseline tail (clients)"
    )
    for label, row in rows:
        t, base = row["sendguard"].get("tail"), row["baseline"].get("tail", {})
        if not t:
            print(f"{label:>10}  (no trace)")
            continue
        print(
            f"{label:>10}{t['tail']:>4}{t['tail_submit_ms']:>8.1f}"
            + _stage_cells(t["tail_ms"])
            + f"{t['tail_during_checkpoint']:>6}{t['tail_during_gc']:>4}"
            + (f"  {base['tail_submit_ms']:.1f} ({base['tail_clients_ms']:.1f})" if base else "")
        )
        print(f"{'(all)':>10}{t['traced']:>4}{'':>8}" + _stage_cells(t["all_ms"]))


def _stage_cells(ms: dict[str, float]) -> str:
    """One row's stage means (ms): each stage, CPU / CPU wait of the check and the commit, batch, loop wait."""
    return (
        "".join(f"{ms[k]:>9.1f}" for k in STAGES)
        + f"{ms['check_cpu']:>8.1f}/{ms['check_cpu_wait']:<5.1f}{ms['commit_cpu']:>8.1f}/{ms['commit_cpu_wait']:<5.1f}"
        + f"{ms['commit_batch']:>7.1f}{ms['loop_wait']:>10.1f}"
    )


def fsync_profile(folder: Path, count: int = 1000) -> dict[str, float]:
    """fsync of 4 KB appends in `folder`, 5 ms apart: the floor under every durable commit.

    The relay answers 250 only after its commit is fsynced; the baseline never touches the disk.
    A disk whose fsync now and then takes 100 ms stalls every message of that group commit.
    """
    path = folder / "fsync-probe.bin"
    took = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            took.append(1000 * (time.perf_counter() - start))
            time.sleep(0.005)
    finally:
        os.close(fd)
        path.unlink()
    took.sort()
    return {
        "p50": took[len(took) // 2],
        "p99": took[int(len(took) * 0.99)],
        "p99.9": took[int(len(took) * 0.999)],
        "max": took[-1],
        "over_20ms": sum(1 for t in took if t > 20),
        "count": count,
    }


def _print_fsync(results: dict) -> None:
    d = results.get("disk_fsync_ms")
    if d:
        print(
            f"disk under the store: fsync of a 4 KB append p50 {d['p50']:.2f} ms, p99 {d['p99']:.2f} ms, "
            f"p99.9 {d['p99.9']:.1f} ms, max {d['max']:.1f} ms ({d['over_20ms']} of {d['count']} over 20 ms)"
        )


def report_rates(results: dict, args: argparse.Namespace) -> None:
    """One row per offered load: latency added to the baseline's, and whether the target holds."""
    print(
        f"\nfixed loads, {args.duration:g} s each per relay ({args.rounds} alternating rounds), "
        f"at most {args.clients} clients; latencies in ms, added = sendguard - baseline"
    )
    head = (
        f"{'offered':>8}{'accepted':>10}{'base p50':>10}{'base p99':>10}{'sg p50':>9}{'sg p99':>9}"
        f"{'added p50':>11}{'added p99':>11}{'e2e +p50':>10}{'e2e +p99':>10}{'cpu/msg':>9}{'load':>11}"
        f"{'steal% b/sg':>13}{'iowait% b/sg':>14}  target"
    )
    print(head)
    for row in results["rates"]:
        base, relay = row["baseline"], row["sendguard"]
        added50 = relay["submit_ms"][50] - base["submit_ms"][50]
        added99 = relay["submit_ms"][99] - base["submit_ms"][99]
        e2e50 = relay["end_to_end_ms"][50] - base["end_to_end_ms"][50]
        e2e99 = relay["end_to_end_ms"][99] - base["end_to_end_ms"][99]
        print(
            f"{row['rate']:>8g}{relay['accepted_per_s']:>10.1f}{base['submit_ms'][50]:>10.1f}"
            f"{base['submit_ms'][99]:>10.1f}{relay['submit_ms'][50]:>9.1f}{relay['submit_ms'][99]:>9.1f}"
            f"{added50:>+11.1f}{added99:>+11.1f}{e2e50:>+10.1f}{e2e99:>+10.1f}"
            f"{relay['cpu_ms_per_message']:>9.1f}{row['load_before']:>5.2f}-{row['load_after']:<5.2f}"
            f"{base['steal_percent']:>7.1f}/{relay['steal_percent']:<5.1f}"
            f"{base['iowait_percent']:>8.1f}/{relay['iowait_percent']:<5.1f}  {_verdict(base, relay, row['rate'])}"
        )
    print(
        "cpu/msg: sendguard relay process and its check workers (the baseline's: "
        + ", ".join(f"{r['baseline']['cpu_ms_per_message']:.1f}" for r in results["rates"])
        + " ms); load: 1-minute load average before-after; steal, iowait: % of the machine's CPU time "
        "during the baseline's / sendguard's rounds"
    )
    print("CPU budget per message (ms; relay + load generator + sink = cores used at the offered load):")
    for row in results["rates"]:
        parts = []
        for name in ("baseline", "sendguard"):
            r = row[name]
            total = (
                r["cpu_ms_per_message"]
                + r["load_generator_cpu_ms_per_message"]
                + r["sink_cpu_ms_per_message"]
            )
            parts.append(
                f"{name} {r['cpu_ms_per_message']:.1f} + {r['load_generator_cpu_ms_per_message']:.1f} + "
                f"{r['sink_cpu_ms_per_message']:.1f} = {total:.1f} ms -> {total * row['rate'] / 1000:.2f} cores"
            )
        print(f"  {row['rate']:>5g} msg/s: " + "; ".join(parts) + f" (of {os.cpu_count()})")
    if "saturation" in results:
        sat = results["saturation"]
        print(
            f"saturation throughput ({args.clients} clients, {args.saturation:g} s): baseline "
            f"{sat['baseline']['per_s']:.1f} msg/s, sendguard {sat['sendguard']['per_s']:.1f} msg/s"
        )
    guard = results["guard"]
    print(
        f"guard.check on the messages sent (in this process): p50 {guard['check_ms_p50']:.2f} ms, p99 {guard['check_ms_p99']:.2f} ms "
        f"(parse {guard['parse_ms_mean']:.2f} ms mean over the examples)"
    )
    print(f"load average after the run: {results['load_average_after']:.1f}")
    _print_fsync(results)
    _print_stages([(f"{row['rate']:g}/s", row) for row in results["rates"]])


def _verdict(base: dict, relay: dict, rate: float) -> str:
    added_p99 = relay["submit_ms"][99] - base["submit_ms"][99]
    if base["accepted_per_s"] < 0.95 * rate:
        return "inconclusive: the baseline itself did not keep up (machine busy)"
    if relay["accepted_per_s"] < 0.95 * rate:
        return "NOT met: sendguard did not keep up"
    return "met" if added_p99 < 20 else "NOT met"


def report(results: dict, args: argparse.Namespace) -> None:
    base, relay, guard = results["baseline"], results["sendguard"], results["guard"]
    print(
        f"\nfixed load: {args.rate:g} msg/s offered for {args.duration:g} s per relay "
        f"({args.rounds} alternating rounds), at most {args.clients} clients"
    )
    print(f"{'':24}{'baseline':>12}{'sendguard':>12}{'added':>10}")

    def row(label: str, a: float, b: float, unit: str = "", added: bool = True) -> None:
        extra = f"{b - a:>+10.1f}" if added else ""
        print(f"{label:<24}{a:>12.1f}{b:>12.1f}{extra}  {unit}")

    row("accepted/s", base["accepted_per_s"], relay["accepted_per_s"], "msg/s", added=False)
    row("failed", base["failed"], relay["failed"], "", added=False)
    for p in (50, 90, 99, 100):
        name = "max" if p == 100 else f"p{p}"
        row(f"submit latency {name}", base["submit_ms"][p], relay["submit_ms"][p], "ms")
    for p in (50, 99):
        row(f"end-to-end {'p' + str(p)}", base["end_to_end_ms"][p], relay["end_to_end_ms"][p], "ms")
    row(
        "relay CPU per message",
        base["cpu_ms_per_message"],
        relay["cpu_ms_per_message"],
        "ms (with check workers)",
    )
    row(
        "load generator CPU/msg",
        base["load_generator_cpu_ms_per_message"],
        relay["load_generator_cpu_ms_per_message"],
        "ms",
        added=False,
    )
    row(
        "sink CPU per message",
        base["sink_cpu_ms_per_message"],
        relay["sink_cpu_ms_per_message"],
        "ms",
        added=False,
    )
    if "saturation_per_s" in base:
        row(
            "saturation throughput", base["saturation_per_s"], relay["saturation_per_s"], "msg/s", added=False
        )
    print(
        f"\nguard.check on the messages sent (in this process): p50 {guard['check_ms_p50']:.2f} ms, p99 {guard['check_ms_p99']:.2f} ms "
        f"(parse {guard['parse_ms_mean']:.2f} ms mean over the examples)"
    )
    slow = list(guard["rule_ms_mean"].items())[:3]
    print("slowest rules (mean over the examples): " + ", ".join(f"{rid} {ms:.3f} ms" for rid, ms in slow))
    print(
        f"steal (iowait): {base['steal_percent']:.1f}% ({base['iowait_percent']:.1f}%) of the machine's CPU "
        f"during the baseline's rounds, {relay['steal_percent']:.1f}% ({relay['iowait_percent']:.1f}%) during sendguard's"
    )
    print(f"load average after the run: {results['load_average_after']:.1f}")
    _print_fsync(results)
    _print_stages([(f"{args.rate:g}/s", results)])
    added_p99 = relay["submit_ms"][99] - base["submit_ms"][99]
    print(f"target added p99 < 20 ms (submit): {_verdict(base, relay, args.rate)} ({added_p99:+.1f} ms)")


if __name__ == "__main__":
    sys.exit(main())

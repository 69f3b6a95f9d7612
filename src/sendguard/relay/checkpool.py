"""Run the guard in worker processes, so checking never stalls the relay's SMTP loop.

Why processes and not a thread: a check is pure Python CPU work (parsing, rules). In a thread
it holds the GIL, and every socket call of the event loop then waits for it: measured here, a
single check thread made each `send()` of the loop take ~0.4 ms instead of microseconds and
halved the relay's throughput. In worker processes the loop keeps its core and checks run on
the others.

Each worker is a spawned process with one socket pair to the relay, driven by the event loop
itself: the loop writes the request and is woken when the answer is readable. (A
ProcessPoolExecutor costs two helper threads in the relay, a feeder and a result reader, that
compete with the loop for the GIL at every message.)

A large message is checked in two parts (see checking.py). The deciding workers (`[relay]
check_workers`) parse it and run the rules that can change the reply; the relay answers the
client on that. One more worker, the finisher, runs the other rules for the stored record at
the lowest CPU priority (nice 19), so the kernel gives the deciding workers and the relay the
CPU whenever they want it, and the finisher the rest. It parses the message again, which is
simpler and safer than handing a parsed message (with the org's accounts in it) across. A
message under `DEFER_FROM_BYTES` is checked whole by a deciding worker: there the split
would cost about as much CPU as it saves time. When the finisher is `MAX_BACKLOG` messages
behind (the machine has had no CPU to spare for a while), the deciding workers check every
message whole until it catches up, so the records never fall behind without bound.

Each worker loads the guard once from the config file. If a deciding worker dies under a
message (a crash in a native library, the OOM killer), that message is held as `guard-error`,
never dropped; if the finisher dies, the message it was finishing keeps the deciding rules'
findings. Either way a new worker takes the dead one's place. A worker whose relay is gone
(kill -9) sees its socket close and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import pickle
import signal
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sendguard.errors import SendguardError
from sendguard.guard import Guard
from sendguard.relay import trace
from sendguard.relay.checking import GUARD_ERROR, Checked, check_raw, finish_raw, split_rules, unchecked
from sendguard.report import Finding
from sendguard.rules.base import Rule

log = logging.getLogger("sendguard.relay")

MAX_BACKLOG = 64  # messages the finisher may be behind before the deciding workers run every rule
# Measured on real mail (bench/relay_bench.py --real-mail): under 8 KiB (94% of messages) the
# other rules take 1.6-4 ms on average, about what a second parse and the hand-off cost, so
# splitting would spend as much CPU as it saves time; from 8 KiB they take 7-27 ms (mean), and
# they are what the slowest replies waited for.
DEFER_FROM_BYTES = 8192
DECIDE = "decide"
FINISH = "finish"


def _serve_worker(conn: Connection, config_path: str, on_warn: str, role: str) -> None:
    """A worker's life: load the guard, say whether it worked, then answer requests until EOF."""
    import sendguard

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the relay, which stops the workers
    if role == FINISH:
        os.nice(19)
    guard, load_error = None, None
    try:
        guard = sendguard.load(config_path)
    except sendguard.SendguardError as exc:
        # The relay loads the same file and reports the problem itself, in one line.
        load_error = exc.one_line()
    decisive, deferred = split_rules(guard.rules, on_warn) if guard is not None else ([], [])
    # The guard's tables are there for the life of the worker: out of the collector's sight, a
    # full collection does not walk them in the middle of a check (~10 ms each time otherwise).
    gc.freeze()
    try:
        conn.send_bytes(pickle.dumps((load_error, bool(deferred))))
        while True:
            raw, envelope_rcpts, whole = pickle.loads(conn.recv_bytes())
            answer: Any
            if role == FINISH:
                answer = finish_raw(guard, raw, envelope_rcpts, deferred) if guard is not None else []
            elif trace.enabled:  # the answer carries the check's times (see trace.py)
                answer = trace.timed(
                    _decide, guard, load_error, raw, envelope_rcpts, None if whole else decisive
                )
            else:
                answer = (_decide(guard, load_error, raw, envelope_rcpts, None if whole else decisive), None)
            conn.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError):
        pass  # the relay closed its end (stopped, or was killed): nothing left to do
    os._exit(0)


def _decide(
    guard: Guard | None,
    load_error: str | None,
    raw: bytes,
    envelope_rcpts: Sequence[str],
    rules: Sequence[Rule] | None,
) -> Checked:
    if guard is None:
        return unchecked(raw, GUARD_ERROR, f"the guard worker could not load its configuration: {load_error}")
    return check_raw(guard, raw, envelope_rcpts, rules)


class WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and the relay's end of its socket pair.

    The loop reads the worker's answers as they come, in request order; the relay sends a
    worker a request only when it has answered the last one, so a send never waits for it.
    """

    def __init__(self, config_path: str, on_warn: str, role: str) -> None:
        # spawn, not fork: the relay has threads (database) that fork would copy mid-flight.
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        self.role = role
        self.process = ctx.Process(
            target=_serve_worker,
            args=(child, config_path, on_warn, role),
            name=f"sendguard-{role}",
            daemon=True,
        )
        self.process.start()
        child.close()  # only the worker holds its end: its exit is EOF here
        self.started: asyncio.Future[tuple[str | None, bool]] | None = None  # its load report
        self.busy = False  # a request is out
        self.dead = False
        self._answers: deque[asyncio.Future[Any]] = deque()

    @property
    def idle(self) -> bool:
        """Loaded, alive, and not working on a request."""
        return not self.busy and not self.dead and self.started is not None and self.started.done()

    def listen(self, on_death: Callable[[_Worker], None]) -> None:
        """Start reading answers (from the load report on); `on_death` is called once if it dies."""
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()
        self._answers.append(self.started)
        self._on_death = on_death
        loop.add_reader(self.conn.fileno(), self._readable)

    def request(self, payload: bytes) -> asyncio.Future[Any]:
        """Send a request; the future gets the answer (or WorkerDied)."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self.conn.send_bytes(payload)  # the worker is blocked reading: this returns at once
        except OSError as exc:
            self._died(str(exc))
            raise WorkerDied(str(exc)) from None
        self._answers.append(answer)
        return answer

    def _readable(self) -> None:
        try:
            answer = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self._died(str(exc) or type(exc).__name__)
            return
        waiting = self._answers.popleft()
        if not waiting.done():  # a caller that was cancelled leaves its future cancelled
            waiting.set_result(answer)

    def _died(self, why: str) -> None:
        if self.dead:
            return
        self.dead = True
        asyncio.get_running_loop().remove_reader(self.conn.fileno())
        for waiting in self._answers:
            if not waiting.done():
                waiting.set_exception(WorkerDied(why))
                waiting.exception()  # retrieved: a caller that went away leaves no warning behind
        self._answers.clear()
        self._on_death(self)

    def close(self) -> None:
        self.conn.close()  # EOF: the worker exits
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1)


class CheckPool:
    """`await pool.check(raw, rcpts)` → (the decision, a future for the rest).

    The decision is a `Checked` from the rules that can change the reply (`[relay] on_warn`),
    made by one of `workers` deciding processes; the rest is the other rules' findings, from
    the finisher (WorkerDied if the finisher dies on it), or None when the decision ran every
    rule.
    """

    def __init__(
        self, config_path: Path, workers: int, on_warn: str = "forward", defer_from: int = DEFER_FROM_BYTES
    ) -> None:
        self.config_path = str(config_path)
        self.on_warn = on_warn
        self.defer_from = defer_from  # messages smaller than this (bytes) are checked whole
        # Started now, loading their guards while the relay sets up the rest.
        self._all: list[_Worker] = [_Worker(self.config_path, on_warn, DECIDE) for _ in range(workers)]
        self._all.append(_Worker(self.config_path, on_warn, FINISH))
        self._ready = False
        self._deferred_rules = False  # whether there is anything for the finisher to do
        self._waiting: deque[asyncio.Future[None]] = deque()  # callers waiting for a free worker
        self._backlog: deque[tuple[bytes, asyncio.Future[list[Finding]]]] = deque()  # for the finisher
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # replacements being started

    async def ready(self) -> None:
        """Wait until the workers have loaded their guards, so the first messages do not wait for it."""
        reports = []
        for worker in self._all:
            worker.listen(self._replace)
        for worker in list(self._all):
            assert worker.started is not None
            try:
                reports.append(await worker.started)
            except WorkerDied:
                raise SendguardError(
                    "the guard worker processes could not start (see the messages above)"
                ) from None
        errors = [error for error, _ in reports if error]
        if errors:
            raise SendguardError(f"guard worker: {errors[0]}")
        self._deferred_rules = reports[0][1]
        self._ready = True

    async def check(
        self, raw: bytes, envelope_rcpts: Sequence[str]
    ) -> tuple[Checked, asyncio.Future[list[Finding]] | None]:
        whole = not self._deferred_rules or len(raw) < self.defer_from or len(self._backlog) >= MAX_BACKLOG
        worker = await self._acquire(DECIDE)
        trace.stamp("dispatched")
        try:
            decision = worker.request(
                pickle.dumps((raw, list(envelope_rcpts), whole), pickle.HIGHEST_PROTOCOL)
            )
        except WorkerDied:
            return self._lost(raw), None
        # The worker is free again once its answer is read, even if this caller goes away.
        decision.add_done_callback(lambda _: self._release(worker))
        try:
            checked, timing = await asyncio.shield(decision)
        except WorkerDied:
            return self._lost(raw), None
        trace.stamp("checked")
        trace.stamp("worker", timing)
        if whole or not checked.readable:
            return checked, None
        rest: asyncio.Future[list[Finding]] = asyncio.get_running_loop().create_future()
        self._backlog.append(
            (pickle.dumps((raw, list(envelope_rcpts), False), pickle.HIGHEST_PROTOCOL), rest)
        )
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._finish_backlog())
        return checked, rest

    def _lost(self, raw: bytes) -> Checked:
        log.error("a guard worker died while checking a message; holding the message, starting another")
        return unchecked(raw, GUARD_ERROR, "the guard's worker process died while checking this message")

    async def _finish_backlog(self) -> None:
        """Hand the finisher one message at a time, oldest first, until the backlog is empty."""
        while self._backlog:
            payload, rest = self._backlog[0]
            finisher = await self._acquire(FINISH)
            try:
                answer = finisher.request(payload)
                findings = await answer
            except WorkerDied as exc:
                if not rest.done():
                    rest.set_exception(exc)
                    rest.exception()  # the handler logs it; retrieved in case no one waits any more
            else:
                if not rest.done():  # its handler may have been cancelled (shutdown)
                    rest.set_result(findings)
            finally:
                self._release(finisher)
                self._backlog.popleft()

    async def _acquire(self, role: str) -> _Worker:
        """A free worker of `role`, waiting for one if need be."""
        assert self._ready, "CheckPool.ready() first"
        while True:
            worker = next((w for w in self._all if w.role == role and w.idle), None)
            if worker is not None:
                worker.busy = True
                return worker
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter

    def _release(self, worker: _Worker) -> None:
        worker.busy = False
        self._wake()

    def _wake(self) -> None:
        """Let every waiting caller look again (there are few: the relay's DATA commands and the pump)."""
        waiting, self._waiting = self._waiting, deque()
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)

    def _replace(self, dead: _Worker) -> None:
        """`dead` is gone: start another in its place (after a second if it died while starting)."""
        loop = asyncio.get_running_loop()
        dead.conn.close()
        dead.process.kill()  # in case it is alive but unreadable
        loop.call_later(1.0, dead.process.join, 0)  # reap it once it is gone
        self._all.remove(dead)
        if not self._ready:
            return  # ready() reports it
        crashed_at_start = dead.started is None or dead.started.exception() is not None
        if crashed_at_start:
            log.error("a new guard worker died at start; trying again in a second")
        task = loop.create_task(self._start_one(dead.role, 1.0 if crashed_at_start else 0.0))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_one(self, role: str, delay: float) -> None:
        await asyncio.sleep(delay)
        worker = _Worker(self.config_path, self.on_warn, role)
        self._all.append(worker)
        worker.listen(self._replace)
        assert worker.started is not None
        with contextlib.suppress(WorkerDied):  # then _replace tries again
            await worker.started  # loaded (or not: then it answers every message with guard-error)
            self._wake()

    def close(self) -> None:
        for worker in self._all:
            worker.close()
        self._all = []

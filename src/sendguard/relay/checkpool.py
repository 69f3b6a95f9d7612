"""Run the guard in worker processes, so checking never stalls the relay's SMTP loop.

Why processes and not a thread: a check is pure Python CPU work (parsing, rules). In a thread
it holds the GIL, and every socket call of the event loop then waits for it: measured here, a
single check thread made each `send()` of the loop take ~0.4 ms instead of microseconds and
halved the relay's throughput. In worker processes the loop keeps its core and checks run on
the others.

Each worker is a spawned process with one socket pair to the relay, driven by the event loop
itself: the loop writes the request and is woken when an answer is readable. (A
ProcessPoolExecutor costs two helper threads in the relay, a feeder and a result reader, that
compete with the loop for the GIL at every message.)

A check comes back in two answers (see checking.py). First the decision: the parse and the
rules that can change the relay's reply; the relay answers the client on it. Then the rest:
the findings of the other rules, for the stored record. A worker is free for the next message
as soon as it has sent a decision, and it runs the rest of its earlier messages only while no
new message waits, one rule at a time, so a long spelling pass over someone else's 30 KiB
newsletter does not hold up the next reply. Past `MAX_DEFERRED` unfinished messages it
finishes them first, so the rest never falls behind without bound.

Each worker loads the guard once from the config file. If a worker dies under a message (a
crash in a native library, the OOM killer), that message is held as `guard-error`, never
dropped (a message whose decision was already taken keeps it, without the rest), and a new
worker takes the dead one's place. A worker whose relay is gone (kill -9) sees its socket
close and exits.
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

from sendguard.errors import SendguardError
from sendguard.guard import Guard
from sendguard.message.model import Message
from sendguard.relay import trace
from sendguard.relay.checking import GUARD_ERROR, Checked, decide_raw, split_rules, unchecked
from sendguard.report import Finding
from sendguard.rules.base import Rule

log = logging.getLogger("sendguard.relay")

MAX_DEFERRED = 16  # unfinished messages a worker may hold before it stops taking new ones

# Answers a worker sends: its load error (at start), then two per request, in request order.
DECIDED = "decided"
FINISHED = "finished"


class _Unfinished:
    """A decided message whose remaining rules a worker has still to run."""

    def __init__(self, msg: Message | None, rules: Sequence[Rule]) -> None:
        self.msg = msg
        self.rules = deque(rules if msg is not None else ())
        self.findings: list[Finding] = []


def _serve_worker(conn: Connection, config_path: str, on_warn: str) -> None:
    """A worker's life: load the guard, say whether it worked, then answer checks until EOF."""
    import sendguard

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the relay, which stops the workers
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
    unfinished: deque[_Unfinished] = deque()
    try:
        conn.send_bytes(pickle.dumps(load_error))
        while True:
            if unfinished and (len(unfinished) >= MAX_DEFERRED or not conn.poll()):
                work = unfinished[0]
                if work.rules:
                    assert guard is not None and work.msg is not None
                    rule = work.rules.popleft()
                    work.findings += guard.check_message(work.msg, [rule], hold_on_failure=False).findings
                if not work.rules:
                    unfinished.popleft()
                    conn.send_bytes(pickle.dumps((FINISHED, work.findings), pickle.HIGHEST_PROTOCOL))
                continue
            raw, envelope_rcpts = pickle.loads(conn.recv_bytes())
            # The answer carries the decision's times when tracing (see trace.py).
            (checked, msg), timing = (
                trace.timed(_decide, guard, load_error, raw, envelope_rcpts, decisive)
                if trace.enabled
                else (_decide(guard, load_error, raw, envelope_rcpts, decisive), None)
            )
            conn.send_bytes(pickle.dumps((DECIDED, checked, timing), pickle.HIGHEST_PROTOCOL))
            unfinished.append(_Unfinished(msg, deferred))
    except (EOFError, OSError):
        pass  # the relay closed its end (stopped, or was killed): nothing left to do
    os._exit(0)


def _decide(
    guard: Guard | None,
    load_error: str | None,
    raw: bytes,
    envelope_rcpts: Sequence[str],
    rules: Sequence[Rule],
) -> tuple[Checked, Message | None]:
    if guard is None:
        return unchecked(
            raw, GUARD_ERROR, f"the guard worker could not load its configuration: {load_error}"
        ), None
    return decide_raw(guard, raw, envelope_rcpts, rules)


class WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and the relay's end of its socket pair.

    The loop reads the worker's answers as they come and hands each to the oldest caller still
    waiting for that kind: a decision, or the rest of a check.
    """

    def __init__(self, config_path: str, on_warn: str) -> None:
        # spawn, not fork: the relay has threads (database) that fork would copy mid-flight.
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_serve_worker, args=(child, config_path, on_warn), name="sendguard-check", daemon=True
        )
        self.process.start()
        child.close()  # only the worker holds its end: its exit is EOF here
        self.busy = False  # deciding a message now
        self.started: asyncio.Future[str | None] | None = None  # its load report
        self.decisions: deque[asyncio.Future[tuple[Checked, object]]] = deque()
        self.rests: deque[asyncio.Future[list[Finding]]] = deque()
        self.dead = False

    @property
    def idle(self) -> bool:
        """Loaded, alive, and not deciding a message (it may be finishing earlier ones)."""
        return not self.busy and not self.dead and self.started is not None and self.started.done()

    def listen(self, on_death: Callable[[_Worker], None]) -> None:
        """Start reading answers (from the load report on); `on_death` is called once if it dies."""
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()
        self._on_death = on_death
        loop.add_reader(self.conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            answer = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self._died(str(exc) or type(exc).__name__)
            return
        assert self.started is not None
        if not self.started.done():
            self.started.set_result(answer)
        elif answer[0] == DECIDED:
            _settle(self.decisions.popleft(), answer[1:])
        else:
            _settle(self.rests.popleft(), answer[1])

    def _died(self, why: str) -> None:
        if self.dead:
            return
        self.dead = True
        asyncio.get_running_loop().remove_reader(self.conn.fileno())
        for waiting in (self.started, *self.decisions, *self.rests):
            if waiting is not None and not waiting.done():
                waiting.set_exception(WorkerDied(why))
                waiting.exception()  # retrieved: a caller that went away leaves no warning behind
        self.decisions.clear()
        self.rests.clear()
        self._on_death(self)

    def request(
        self, payload: bytes
    ) -> tuple[asyncio.Future[tuple[Checked, object]], asyncio.Future[list[Finding]]]:
        """Send a check; the futures get its decision and its remaining findings (or WorkerDied)."""
        loop = asyncio.get_running_loop()
        decision: asyncio.Future[tuple[Checked, object]] = loop.create_future()
        rest: asyncio.Future[list[Finding]] = loop.create_future()
        try:
            # The worker is idle or finishing earlier messages between rules: it reads this soon.
            self.conn.send_bytes(payload)
        except OSError as exc:
            self._died(str(exc))
            raise WorkerDied(str(exc)) from None
        self.decisions.append(decision)
        self.rests.append(rest)
        return decision, rest

    def close(self) -> None:
        self.conn.close()  # EOF: the worker exits
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1)


def _settle(future: asyncio.Future, value: object) -> None:
    if not future.done():  # a caller that was cancelled leaves its future cancelled
        future.set_result(value)


class CheckPool:
    """`await pool.check(raw, rcpts)` → (decision, the rest), computed in one of `workers` processes.

    The decision is a `Checked` from the rules that can change the reply (`[relay] on_warn`);
    the rest is a future for the other rules' findings (WorkerDied if the worker dies first).
    """

    def __init__(self, config_path: Path, workers: int, on_warn: str = "forward") -> None:
        self.config_path = str(config_path)
        self.workers = workers
        self.on_warn = on_warn
        # Started now, loading their guards while the relay sets up the rest.
        self._all: list[_Worker] = [_Worker(self.config_path, on_warn) for _ in range(workers)]
        self._ready = False
        self._waiting: deque[asyncio.Future[None]] = deque()  # callers waiting for a free worker
        self._tasks: set[asyncio.Task[None]] = set()  # replacements being started

    async def ready(self) -> None:
        """Wait until the workers have loaded their guards, so the first messages do not wait for it."""
        errors = []
        for worker in self._all:
            worker.listen(self._replace)
        for worker in list(self._all):
            assert worker.started is not None
            try:
                errors.append(await worker.started)
            except WorkerDied:
                raise SendguardError(
                    "the guard worker processes could not start (see the messages above)"
                ) from None
        if any(errors):
            raise SendguardError(f"guard worker: {next(e for e in errors if e)}")
        self._ready = True

    async def check(
        self, raw: bytes, envelope_rcpts: Sequence[str]
    ) -> tuple[Checked, asyncio.Future[list[Finding]]]:
        worker = await self._acquire()
        trace.stamp("dispatched")
        payload = pickle.dumps((raw, list(envelope_rcpts)), pickle.HIGHEST_PROTOCOL)
        try:
            decision, rest = worker.request(payload)
        except WorkerDied:
            return self._lost(raw)
        # The worker is free again once its decision is read, even if this caller goes away.
        decision.add_done_callback(lambda _: self._release(worker))
        try:
            checked, timing = await asyncio.shield(decision)
        except WorkerDied:
            return self._lost(raw)
        trace.stamp("checked")
        trace.stamp("worker", timing)
        return checked, rest

    def _lost(self, raw: bytes) -> tuple[Checked, asyncio.Future[list[Finding]]]:
        log.error("a guard worker died while checking a message; holding the message, starting another")
        nothing: asyncio.Future[list[Finding]] = asyncio.get_running_loop().create_future()
        nothing.set_result([])
        return unchecked(
            raw, GUARD_ERROR, "the guard's worker process died while checking this message"
        ), nothing

    async def _acquire(self) -> _Worker:
        """A worker not deciding anything now: of those, the one with the least unfinished work."""
        assert self._ready, "CheckPool.ready() first"
        while True:
            free = [w for w in self._all if w.idle]
            if free:
                worker = min(free, key=lambda w: len(w.rests))
                worker.busy = True
                return worker
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter

    def _release(self, worker: _Worker) -> None:
        worker.busy = False
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # skip callers that went away
                waiter.set_result(None)
                return

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
        task = loop.create_task(self._start_one(1.0 if crashed_at_start else 0.0))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_one(self, delay: float) -> None:
        await asyncio.sleep(delay)
        worker = _Worker(self.config_path, self.on_warn)
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

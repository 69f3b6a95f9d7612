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

Each worker loads the guard once from the config file. If a worker dies under a message (a
crash in a native library, the OOM killer), that message is held as `guard-error`, never
dropped, and a new worker takes the dead one's place. A worker whose relay is gone (kill -9)
sees its socket close and exits.
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
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from sendguard.errors import SendguardError
from sendguard.relay import trace
from sendguard.relay.checking import GUARD_ERROR, Checked, check_raw, unchecked

log = logging.getLogger("sendguard.relay")

_guard = None  # the worker process's Guard, loaded by _serve_worker
_load_error: str | None = None


def _serve_worker(conn: Connection, config_path: str) -> None:
    """A worker's life: load the guard, say whether it worked, then answer checks until EOF."""
    import sendguard

    global _guard, _load_error
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the relay, which stops the workers
    try:
        _guard = sendguard.load(config_path)
    except sendguard.SendguardError as exc:
        # The relay loads the same file and reports the problem itself, in one line.
        _load_error = exc.one_line()
    # The guard's tables are there for the life of the worker: out of the collector's sight, a
    # full collection does not walk them in the middle of a check (~10 ms each time otherwise).
    gc.freeze()
    try:
        conn.send_bytes(pickle.dumps(_load_error))
        while True:
            raw, envelope_rcpts = pickle.loads(conn.recv_bytes())
            # The answer carries the check's times when tracing (see trace.py).
            answer = (
                trace.timed(_check, raw, envelope_rcpts)
                if trace.enabled
                else (_check(raw, envelope_rcpts), None)
            )
            conn.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError):
        pass  # the relay closed its end (stopped, or was killed): nothing left to do
    os._exit(0)


def _check(raw: bytes, envelope_rcpts: Sequence[str]) -> Checked:
    if _guard is None:
        return unchecked(
            raw, GUARD_ERROR, f"the guard worker could not load its configuration: {_load_error}"
        )
    return check_raw(_guard, raw, envelope_rcpts)


class WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and the relay's end of its socket pair."""

    def __init__(self, config_path: str) -> None:
        # spawn, not fork: the relay has threads (database) that fork would copy mid-flight.
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_serve_worker, args=(child, config_path), name="sendguard-check", daemon=True
        )
        self.process.start()
        child.close()  # only the worker holds its end: its exit is EOF here

    def request(self, payload: bytes | None) -> asyncio.Future[bytes]:
        """Send `payload` (None: nothing, just read the next answer); the future gets the answer.

        Raises WorkerDied (or the future does) when the worker is gone.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        fd = self.conn.fileno()

        def readable() -> None:
            loop.remove_reader(fd)
            try:
                answer.set_result(self.conn.recv_bytes())
            except (EOFError, OSError) as exc:
                answer.set_exception(WorkerDied(str(exc) or type(exc).__name__))

        try:
            if payload is not None:
                # The worker is idle (blocked reading), so this returns as soon as it has read.
                self.conn.send_bytes(payload)
        except OSError as exc:
            raise WorkerDied(str(exc)) from None
        loop.add_reader(fd, readable)
        return answer

    def close(self) -> None:
        self.conn.close()  # EOF: the worker exits
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1)


class CheckPool:
    """`await pool.check(raw, rcpts)` → Checked, computed in one of `workers` processes."""

    def __init__(self, config_path: Path, workers: int) -> None:
        self.config_path = str(config_path)
        self.workers = workers
        # Started now, loading their guards while the relay sets up the rest.
        self._starting = [_Worker(self.config_path) for _ in range(workers)]
        self._all: list[_Worker] = list(self._starting)
        self._idle: asyncio.Queue[_Worker] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # replacements being started

    async def ready(self) -> None:
        """Wait until the workers have loaded their guards, so the first messages do not wait for it."""
        self._idle = asyncio.Queue()
        errors = []
        for worker in self._starting:
            try:
                errors.append(pickle.loads(await worker.request(None)))
            except WorkerDied:
                raise SendguardError(
                    "the guard worker processes could not start (see the messages above)"
                ) from None
            self._idle.put_nowait(worker)
        self._starting = []
        if any(errors):
            raise SendguardError(f"guard worker: {next(e for e in errors if e)}")

    async def check(self, raw: bytes, envelope_rcpts: Sequence[str]) -> Checked:
        assert self._idle is not None, "CheckPool.ready() first"
        worker = await self._idle.get()
        trace.stamp("dispatched")
        try:
            answer = worker.request(pickle.dumps((raw, list(envelope_rcpts)), pickle.HIGHEST_PROTOCOL))
        except WorkerDied:
            answer = None
        else:
            # The worker is reused only once its answer is read, even if this caller goes away.
            answer.add_done_callback(lambda done: self._done(worker, done))
            with contextlib.suppress(WorkerDied):
                checked, timing = pickle.loads(await asyncio.shield(answer))
                trace.stamp("checked")
                trace.stamp("worker", timing)
                return checked
        if answer is None:
            self._replace(worker)
        log.error("a guard worker died while checking a message; holding the message, starting another")
        return unchecked(raw, GUARD_ERROR, "the guard's worker process died while checking this message")

    def _done(self, worker: _Worker, answer: asyncio.Future[bytes]) -> None:
        assert self._idle is not None
        if answer.exception() is None:
            self._idle.put_nowait(worker)
        else:
            self._replace(worker)

    def _replace(self, dead: _Worker) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(dead.conn.fileno())
        dead.conn.close()
        dead.process.kill()  # in case it is alive but unreadable
        loop.call_later(1.0, dead.process.join, 0)  # reap it once it is gone
        self._all.remove(dead)
        task = loop.create_task(self._start_one())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_one(self) -> None:
        while True:
            worker = _Worker(self.config_path)
            self._all.append(worker)
            try:
                await worker.request(None)  # loaded (or not: then it answers every message with guard-error)
            except WorkerDied:
                log.error("a new guard worker died at start; trying again in a second")
                self._all.remove(worker)
                worker.conn.close()
                await asyncio.sleep(1.0)
                continue
            assert self._idle is not None
            self._idle.put_nowait(worker)
            return

    def close(self) -> None:
        for worker in self._all:
            worker.close()
        self._all = []

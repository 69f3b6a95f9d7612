"""Run the guard in worker processes, so checking never stalls the relay's SMTP loop.

Why processes and not a thread: a check is pure Python CPU work (parsing, rules). In a thread
it holds the GIL, and every socket call of the event loop then waits for it: measured here, a
single check thread made each `send()` of the loop take ~0.4 ms instead of microseconds and
halved the relay's throughput. In worker processes the loop keeps its core and checks run on
the others.

Each worker loads the guard once from the config file. If a worker dies under a message (a
crash in a native library, the OOM killer), that message is held as `guard-error`, never
dropped, and the pool is rebuilt for the next one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from sendguard.errors import SendguardError
from sendguard.relay.checking import GUARD_ERROR, Checked, check_raw, unchecked

log = logging.getLogger("sendguard.relay")

_guard = None  # the worker process's Guard, loaded by _start_worker
_load_error: str | None = None


def _start_worker(config_path: str) -> None:
    import sendguard

    global _guard, _load_error
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the relay, which stops the pool
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    try:
        _guard = sendguard.load(config_path)
    except sendguard.SendguardError as exc:
        # The relay loads the same file and reports the problem itself, in one line.
        _load_error = exc.one_line()


def _exit_with_parent(parent: int) -> None:
    """A relay killed with -9 cannot stop its pool; its workers notice they were orphaned and go."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def _check(raw: bytes, envelope_rcpts: Sequence[str]) -> Checked:
    if _guard is None:
        return unchecked(
            raw, GUARD_ERROR, f"the guard worker could not load its configuration: {_load_error}"
        )
    return check_raw(_guard, raw, envelope_rcpts)


def _ready() -> str | None:
    return _load_error


class CheckPool:
    """`await pool.check(raw, rcpts)` → Checked, computed in one of `workers` processes."""

    def __init__(self, config_path: Path, workers: int) -> None:
        self.config_path = str(config_path)
        self.workers = workers
        self._pool = self._new_pool()
        # Submitting starts the workers now, loading their guards while the relay sets up the rest.
        self._warming = [self._pool.submit(_ready) for _ in range(workers)]

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the relay has threads (database, event loop) that fork would copy mid-flight.
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.config_path,),
        )

    async def ready(self) -> None:
        """Wait until the workers have loaded their guards, so the first messages do not wait for it."""
        try:
            errors = await asyncio.gather(*(asyncio.wrap_future(f) for f in self._warming))
        except BrokenProcessPool:
            raise SendguardError(
                "the guard worker processes could not start (see the messages above)"
            ) from None
        if any(errors):
            raise SendguardError(f"guard worker: {next(e for e in errors if e)}")

    async def check(self, raw: bytes, envelope_rcpts: Sequence[str]) -> Checked:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, _check, raw, list(envelope_rcpts))
        except BrokenProcessPool:
            log.error(
                "a guard worker died while checking a message; holding the message, restarting the workers"
            )
            if self._pool is pool:
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            return unchecked(raw, GUARD_ERROR, "the guard's worker process died while checking this message")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

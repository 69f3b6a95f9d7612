"""Stage times of each message, for relay_bench: where a slow submit spent its time.

Off unless the environment variable SENDGUARD_RELAY_TRACE names a file (relay_bench sets it for
the relay it starts); off, a stage costs a test of `enabled` or a context variable found empty.
On, the relay appends JSON lines to that file:

- one per message: its id and when its connection was accepted, its DATA ended, a check worker
  was free, the worker started and ended (with the worker's CPU time and its time waiting for a
  CPU), the loop read the verdict, the message joined the group commit, the loop saw it
  stored, and the reply was handed to the socket; and how long the event loop waited for a
  CPU meanwhile;
- one per group commit: handed to a database thread, started, ended (with CPU and waiting for a
  CPU), and the ids it stored;
- one per WAL checkpoint (start, end) and per garbage collection of the relay process over 1 ms.

Times are time.monotonic(), one clock for all processes on the machine, so the bench lines them
up with its own due and reply times. CPU time and time waiting for a CPU (the guest's run queue,
/proc/thread-self/schedstat) are the thread's own: what a stage took beyond both is I/O (fsync),
the GIL, or time the hypervisor took the CPU away (steal), which the guest charges to no one.
"""

from __future__ import annotations

import contextvars
import gc
import json
import os
import threading
import time
from collections.abc import Callable
from typing import IO, Any, TypeVar

T = TypeVar("T")

ENV = "SENDGUARD_RELAY_TRACE"
GC_REPORTED_SECONDS = 0.001

enabled = bool(os.environ.get(ENV))

_lock = threading.Lock()
_out: IO[str] | None = None
# The stage times of the message being handled in this task (handle_DATA sets it).
_stamps: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("relay_trace", default=None)


_schedstat = threading.local()


def sched() -> tuple[float, float]:
    """(CPU seconds, seconds spent runnable but waiting for a CPU) of the calling thread so far."""
    # schedstat's own CPU figure lags up to a scheduler tick behind for a running thread;
    # thread_time() asks the scheduler for the exact one. Its wait figure is exact: it only grows
    # while the thread is not running. Each thread keeps its file open and re-reads it: opening
    # /proc/thread-self costs ~15 us, several times a message, which the trace would add itself.
    # The file closes when its thread ends and the thread-local goes with it.
    f = getattr(_schedstat, "file", None)
    if f is None:
        f = _schedstat.file = open("/proc/thread-self/schedstat", "rb", buffering=0)  # noqa: SIM115
    wait = os.pread(f.fileno(), 128, 0).split()[1]
    return time.thread_time(), int(wait) / 1e9


def timed(fn: Callable[..., T], *args: Any) -> tuple[T, list[float]]:
    """`fn(*args)`, and [start, end, CPU seconds, seconds waiting for a CPU] of the calling thread."""
    start, (cpu, wait) = time.monotonic(), sched()
    result = fn(*args)
    cpu_end, wait_end = sched()
    return result, [start, time.monotonic(), cpu_end - cpu, wait_end - wait]


def record(**fields: Any) -> None:
    """Append one line to the trace file (from any thread)."""
    global _out
    line = json.dumps(fields, separators=(",", ":")) + "\n"
    with _lock:
        if _out is None:
            _out = open(os.environ[ENV], "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
        _out.write(line)


def close() -> None:
    global _out
    with _lock:
        if _out is not None:
            _out.close()
            _out = None


def begin(accepted: float | None) -> dict[str, Any]:
    """A new message in this task (its DATA just ended): stamps from here on go to it."""
    stamps: dict[str, Any] = {"accepted": accepted, "data": time.monotonic(), "loop_wait": sched()[1]}
    _stamps.set(stamps)
    return stamps


def stamp(name: str, value: Any = None) -> None:
    """Note a stage of the current message (now, unless `value` is given); nothing if none."""
    stamps = _stamps.get()
    if stamps is not None:
        stamps[name] = time.monotonic() if value is None else value


def end(stamps: dict[str, Any]) -> None:
    stamps["replied"] = time.monotonic()
    # How long the event loop waited for a CPU while this message was in the relay.
    stamps["loop_wait"] = sched()[1] - stamps["loop_wait"]
    _stamps.set(None)
    record(message=stamps)


def watch_gc() -> None:
    """Record this process's garbage collections that take over GC_REPORTED_SECONDS."""
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            started[0] = now
        elif now - started[0] > GC_REPORTED_SECONDS:
            record(gc=[started[0], now], generation=info["generation"], collected=info["collected"])

    gc.callbacks.append(callback)

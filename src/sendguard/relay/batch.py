"""Group commit: the relay's one writer, for new messages and delivery outcomes alike.

A commit costs one fsync whatever it holds, and on SQLite writers take turns anyway, so under
load the relay commits many messages (and the outcomes of deliveries that ended meanwhile) in
one transaction instead of queueing one transaction per message or outcome; when idle, a
message still commits alone with no added wait.

A new message due at once (no undo window) is stored already claimed for this relay when its
lanes have room, and handed to them straight after the commit: no claim transaction, no
dispatcher round trip (see Store.write).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from sendguard.relay import trace
from sendguard.relay.store import Completion, NewMessage, Outcome, Outgoing, Store

COMPLETION_DELAY = 1.0  # seconds a completed check may wait for a commit to ride along with


class Writer:
    """`await add(message)` → its id once committed; `await finish(outcome)` and
    `await complete(completion)` once recorded.

    If a commit raises, every caller in that batch gets the exception (nothing of the batch
    was committed).
    """

    def __init__(
        self,
        store: Store,
        node: str,
        executor: Executor,
        lease_seconds: float,
        room: Callable[[], int],
        hand_off: Callable[[list[Outgoing]], None],
        wake: Callable[[], None],
        max_batch: int = 64,
    ) -> None:
        self._store = store
        self._node = node
        self._executor = executor
        self._lease = lease_seconds
        self._room = room  # how many claimed messages the lanes can take now
        self._hand_off = hand_off
        self._wake = wake  # an unclaimed message went to the outbox: the dispatcher should look
        self._max_batch = max_batch
        self._adds: list[tuple[NewMessage, asyncio.Future[str]]] = []
        self._outcomes: list[tuple[Outcome, asyncio.Future[int]]] = []
        self._completions: list[tuple[Completion, asyncio.Future[None]]] = []
        self._flush: asyncio.TimerHandle | None = None  # a commit for completions alone, if none comes
        self._drainer: asyncio.Task[None] | None = None

    async def add(self, item: NewMessage) -> str:
        return await self._submit(self._adds, item)

    async def finish(self, outcome: Outcome) -> int:
        return await self._submit(self._outcomes, outcome)

    async def complete(self, completion: Completion) -> None:
        """Record a completed check with the next commit that happens anyway (new messages or
        outcomes); only if none comes within COMPLETION_DELAY does it get a commit of its own.
        No client waits for it, and a commit of its own would cost an fsync that the next
        message's commit then waits behind."""
        future = asyncio.get_running_loop().create_future()
        self._completions.append((completion, future))
        self._schedule_flush()
        await future

    def _schedule_flush(self) -> None:
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(COMPLETION_DELAY, self._flush_completions)

    def _flush_completions(self) -> None:
        self._flush = None
        if self._completions and (self._drainer is None or self._drainer.done()):
            self._drainer = asyncio.create_task(self._drain())

    async def _submit(self, pending: list, item: object) -> object:
        future = asyncio.get_running_loop().create_future()
        pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        # Completions alone are worth a commit only once their flush is due (see complete).
        while self._adds or self._outcomes or (self._completions and self._flush is None):
            n = self._max_batch
            outcomes, self._outcomes = self._outcomes[:n], self._outcomes[n:]
            adds, self._adds = self._adds[: n - len(outcomes)], self._adds[n - len(outcomes) :]
            # Completions are small updates no client waits for: they ride along, up to a batch.
            completions, self._completions = self._completions[:n], self._completions[n:]
            claim = max(0, self._room())
            commit = self._traced_commit if trace.enabled else self._commit
            try:
                ids, claimed, done = await loop.run_in_executor(
                    self._executor,
                    commit,
                    [a for a, _ in adds],
                    [o for o, _ in outcomes],
                    [c for c, _ in completions],
                    claim,
                )
            except Exception as exc:  # noqa: BLE001 - handed to every waiter, which answers its client
                for _, future in adds + outcomes + completions:
                    if not future.done():
                        future.set_exception(exc)
                continue
            # Hand off before answering anyone: a waiter that is gone (client hung up) must not
            # leave its claimed message behind.
            if claimed:
                self._hand_off(claimed)
            if len(claimed) < sum(1 for a, _ in adds if a.state == "outbox"):
                self._wake()
            for (_, future), message_id in zip(adds, ids, strict=True):
                if not future.done():
                    future.set_result(message_id)
            for _, future in outcomes:
                if not future.done():
                    future.set_result(done)
            for _, future in completions:
                if not future.done():
                    future.set_result(None)
        if self._completions:  # more than a batch took: the rest at the next commit, or flushed
            self._schedule_flush()

    def _commit(
        self, adds: list[NewMessage], outcomes: list[Outcome], completions: list[Completion], claim: int
    ) -> tuple[list[str], list[Outgoing], int]:
        return self._store.write(
            self._node, adds, outcomes, completions, claim=claim, lease_seconds=self._lease
        )

    def _traced_commit(
        self, adds: list[NewMessage], outcomes: list[Outcome], completions: list[Completion], claim: int
    ) -> tuple[list[str], list[Outgoing], int]:
        result, (start, end, cpu, wait) = trace.timed(self._commit, adds, outcomes, completions, claim)
        trace.record(commit=[start, end], cpu=cpu, cpu_wait=wait, ids=result[0], outcomes=len(outcomes))
        return result

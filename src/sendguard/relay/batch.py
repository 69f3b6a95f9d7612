"""Group commit: callers that arrive while a commit is running share the next one.

A commit costs one fsync (about 3 ms on our disks) whatever it holds, so under load the relay
commits many messages at once instead of queueing one fsync per message; when idle, a message
still commits alone with no added wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """`await submit(item)` returns once `commit([..., item, ...])` has returned in the executor.

    `commit` receives a batch and returns one result per item, in order; if it raises, every
    caller in that batch gets the exception (nothing of the batch was committed).
    """

    def __init__(
        self, commit: Callable[[list[T]], Sequence[R]], executor: Executor, max_batch: int = 64
    ) -> None:
        self._commit = commit
        self._executor = executor
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                results = await loop.run_in_executor(
                    self._executor, self._commit, [item for item, _ in batch]
                )
            except Exception as exc:  # noqa: BLE001 - handed to every waiter, which answers its client
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

"""The check workers: a worker that dies under a message holds that message, and a new one takes over."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from relay_harness import example

import sendguard
from sendguard.relay import checkpool
from sendguard.relay.checking import GUARD_ERROR, check_raw
from sendguard.relay.checkpool import DECIDE, FINISH, CheckPool, WorkerDied
from support import EXAMPLE_CONFIG

pytestmark = pytest.mark.timeout(60)


def deciding(pool: CheckPool) -> list:
    return [w for w in pool._all if w.role == DECIDE]


def test_a_dead_worker_holds_its_message_and_is_replaced() -> None:
    raw = example("01-good-reply-with-attachment.eml")

    async def scenario() -> None:
        pool = CheckPool(EXAMPLE_CONFIG, 1)
        try:
            await pool.ready()
            assert (await pool.check(raw, []))[0].verdict == "pass"
            [worker] = deciding(pool)
            pending = asyncio.create_task(pool.check(raw, []))
            os.kill(worker.process.pid, signal.SIGKILL)
            held, _ = await pending
            assert (held.verdict, held.readable, [f.rule for f in held.findings]) == (
                "block",
                False,
                [GUARD_ERROR],
            )
            assert (await pool.check(raw, []))[0].verdict == "pass"  # the replacement
            [replacement] = deciding(pool)
            assert replacement is not worker and not worker.process.is_alive()
        finally:
            pool.close()

    asyncio.run(scenario())


def test_a_caller_that_goes_away_does_not_lose_the_worker() -> None:
    raw = example("01-good-reply-with-attachment.eml")

    async def scenario() -> None:
        pool = CheckPool(EXAMPLE_CONFIG, 1)
        try:
            await pool.ready()
            gone = asyncio.create_task(pool.check(raw, []))
            await asyncio.sleep(0)
            gone.cancel()
            with pytest.raises(asyncio.CancelledError):
                await gone
            # The answer to the cancelled check is read and dropped; the next check gets its own.
            assert (await asyncio.wait_for(pool.check(raw, []), 30))[0].verdict == "pass"
        finally:
            pool.close()

    asyncio.run(scenario())


def test_workers_exit_when_the_relay_closes_them() -> None:
    async def scenario() -> list:
        pool = CheckPool(EXAMPLE_CONFIG, 2)
        await pool.ready()
        workers = list(pool._all)
        pool.close()
        return workers

    for worker in asyncio.run(scenario()):
        assert not worker.process.is_alive()


@pytest.mark.parametrize("on_warn", ["forward", "hold"])
def test_the_decision_waits_only_for_rules_that_can_change_the_reply(on_warn: str) -> None:
    raw = example("12-warn-spelling.eml")
    whole = check_raw(sendguard.load(EXAMPLE_CONFIG), raw, [])

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        pool = CheckPool(EXAMPLE_CONFIG, 1, on_warn, defer_from=0)
        try:
            await pool.ready()
            first, first_rest = await pool.check(raw, [])
            # The worker takes the next message while the first one's rest is still owed to its caller.
            second, second_rest = await pool.check(example("01-good-reply-with-attachment.eml"), [])
            assert second.verdict == "pass" and second_rest is not None and await second_rest == []
            rest = await first_rest
            return [f.rule for f in first.findings], [f.rule for f in rest], [first.verdict]
        finally:
            pool.close()

    decided, rest, [verdict] = asyncio.run(scenario())
    assert sorted(decided + rest) == sorted(f.rule for f in whole.findings) and whole.verdict == "warn"
    if on_warn == "hold":  # a warning holds the message: the spelling rule decides
        assert (decided, rest, verdict) == (["spelling"] * 3, [], "warn")
    else:  # a warning cannot change the reply: spelling runs after it
        assert (decided, rest, verdict) == ([], ["spelling"] * 3, "pass")


def test_a_dead_finisher_loses_only_the_rest_of_its_message_and_is_replaced() -> None:
    raw = example("12-warn-spelling.eml")

    async def scenario() -> None:
        pool = CheckPool(EXAMPLE_CONFIG, 1, defer_from=0)
        try:
            await pool.ready()
            [finisher] = [w for w in pool._all if w.role == FINISH]
            os.kill(finisher.process.pid, signal.SIGSTOP)  # it cannot answer before it dies
            checked, rest = await pool.check(raw, [])
            assert checked.verdict == "pass"  # decided without it
            while not finisher.busy:  # the message is handed to it
                await asyncio.sleep(0.01)
            os.kill(finisher.process.pid, signal.SIGKILL)
            with pytest.raises(WorkerDied):
                await rest
            checked, rest = await pool.check(raw, [])
            assert [f.rule for f in await asyncio.wait_for(rest, 30)] == ["spelling"] * 3  # the replacement
        finally:
            pool.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("why", ["the finisher is far behind", "the message is small"])
def test_a_message_is_checked_whole_when(why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = example("12-warn-spelling.eml")
    assert len(raw) < checkpool.DEFER_FROM_BYTES
    defer_from = checkpool.DEFER_FROM_BYTES
    if why == "the finisher is far behind":
        monkeypatch.setattr(checkpool, "MAX_BACKLOG", 0)
        defer_from = 0  # so only the backlog can make it whole

    async def scenario() -> tuple[list[str], object]:
        pool = CheckPool(EXAMPLE_CONFIG, 1, defer_from=defer_from)
        try:
            await pool.ready()
            checked, rest = await pool.check(raw, [])
            return [f.rule for f in checked.findings], rest
        finally:
            pool.close()

    assert asyncio.run(scenario()) == (["spelling"] * 3, None)  # nothing left for the finisher

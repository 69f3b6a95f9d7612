"""The store on both backends: durable add, exclusive claims, leases, actions and the decision log."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from relay_harness import CUSTOMER, OTHER_CUSTOMER, SENDER, body_of, example

import sendguard
from sendguard.relay.checking import check_raw
from sendguard.relay.errors import MessageNotFound, QueueError, StoreError, WrongState
from sendguard.relay.store import NewMessage, Outcome, Store
from support import EXAMPLE_CONFIG

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def guard() -> sendguard.Guard:
    return sendguard.load(EXAMPLE_CONFIG)


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    yield s
    s.close()


def new(
    raw: bytes, guard: sendguard.Guard, state: str = "outbox", rcpts: tuple[str, ...] = (CUSTOMER,), **kw
):
    checked = check_raw(guard, raw, rcpts)
    return NewMessage(
        raw=raw, mail_from=SENDER, rcpt_tos=rcpts, state=state, verdict=checked.verdict,
        findings=checked.findings, subject=checked.subject, **kw,
    )  # fmt: skip


def test_add_keeps_bytes_findings_and_logs_the_decision(store: Store, guard: sendguard.Guard) -> None:
    raw = example("02-bad-cc-other-customer.eml")
    message_id = store.add(new(raw, guard, "held"))
    got = store.get(message_id)
    assert got.raw == raw
    assert (got.state, got.verdict, got.rules) == ("held", "block", ("cross-account-recipients",))
    assert got.findings == tuple(guard.check(raw).findings)  # round trip through JSON is exact
    assert got.report().verdict == "block"
    [decision] = store.decisions(message_id=message_id)
    assert (decision.action, decision.actor, decision.verdict, decision.sender, decision.rcpt_count) == (
        "held", "relay", "block", SENDER, 1,
    )  # fmt: skip
    assert decision.rules == ("cross-account-recipients",)


def test_claims_are_exclusive_and_respect_the_undo_window(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    due = store.add_many([new(raw, guard) for _ in range(5)])
    waiting = store.add(new(raw, guard, undo_seconds=60))
    held = store.add(new(raw, guard, "held"))
    first = store.claim("node-a", 3, lease_seconds=60)
    second = store.claim("node-b", 10, lease_seconds=60)
    claimed = [m.id for m in first + second]
    assert sorted(claimed) == sorted(due)  # each due message once; not the one in its undo window, not held
    assert waiting not in claimed and held not in claimed
    assert store.claim("node-c", 10, lease_seconds=60) == []
    assert store.get(first[0].id).state == "delivering"
    assert store.next_due() == pytest.approx(time.time() + 60, abs=2)


def test_claims_from_many_threads_never_overlap(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    ids = store.add_many([new(raw, guard) for _ in range(120)])
    got: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        while batch := store.claim(f"node-{n}", 4, lease_seconds=60):
            with lock:
                got.extend(m.id for m in batch)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)


def test_outcomes_deliver_defer_and_bounce(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    a, b, c = store.add_many([new(raw, guard) for _ in range(3)])
    store.claim("n1", 3, lease_seconds=60)
    later = time.time() + 30
    assert store.finish("n1", [
        Outcome(a, "delivered"),
        Outcome(b, "defer", error="421 try later", retry_at=later),
        Outcome(c, "bounce", error="550 5.1.1 no such user", rcpt_tos=["x@acme.com"]),
    ]) == 3  # fmt: skip
    assert store.get(a).state == "delivered" and store.get(a).delivered_at is not None
    deferred = store.get(b)
    assert (deferred.state, deferred.last_error, deferred.attempts) == ("outbox", "421 try later", 1)
    assert deferred.next_attempt.timestamp() == pytest.approx(later)
    bounced = store.get(c)
    assert (bounced.state, bounced.rcpt_tos) == ("held", ("x@acme.com",))
    assert store.decisions(1, message_id=c)[0].action == "held"
    assert store.claim("n1", 5, lease_seconds=60) == []  # b is not due for 30 s


def test_outcome_of_a_lost_lease_is_ignored(store: Store, guard: sendguard.Guard) -> None:
    message_id = store.add(new(example("01-good-reply-with-attachment.eml"), guard))
    store.claim("slow", 1, lease_seconds=0.01)
    time.sleep(0.05)
    [again] = store.claim("fast", 1, lease_seconds=60)  # the slow relay's lease expired
    assert again.id == message_id and again.attempts == 2
    assert store.finish("slow", [Outcome(message_id, "defer", error="late", retry_at=time.time())]) == 0
    assert store.get(message_id).state == "delivering"
    assert store.finish("fast", [Outcome(message_id, "delivered")]) == 1


def test_write_stores_due_messages_claimed_and_records_outcomes_in_one_go(
    store: Store, guard: sendguard.Guard
) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    [earlier] = store.add_many([new(raw, guard)])
    store.claim("me", 1, lease_seconds=60)
    items = [new(raw, guard), new(raw, guard, undo_seconds=60), new(raw, guard, "held"), new(raw, guard)]
    ids, claimed, done = store.write("me", items, [Outcome(earlier, "delivered")], claim=5, lease_seconds=60)
    assert done == 1 and store.get(earlier).state == "delivered"
    # Due at once: claimed for "me" as claim() would (attempt counted, leased); the undo window
    # and the held message are not; `claim` caps how many are taken.
    assert [o.id for o in claimed] == [ids[0], ids[3]]
    assert [store.get(i).state for i in ids] == ["delivering", "outbox", "held", "delivering"]
    assert claimed[0].raw == raw and claimed[0].attempts == store.get(ids[0]).attempts == 1
    assert claimed[0].lease_until == pytest.approx(time.time() + 60, abs=2)
    assert [d.action for d in store.decisions(message_id=ids[0])] == ["queued"]
    assert store.claim("them", 10, lease_seconds=60) == []  # leased to "me"; the other is in its undo window
    assert store.recover("me") == 2  # a restart of "me" gives them back
    _, claimed, _ = store.write("me", [new(raw, guard)], [], claim=0, lease_seconds=60)
    assert claimed == []


def test_recover_returns_only_this_nodes_claims(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    mine, theirs = store.add_many([new(raw, guard), new(raw, guard)])
    store.claim("me", 1, lease_seconds=60)
    store.claim("them", 1, lease_seconds=60)
    assert store.recover("me") == 1
    assert store.get(mine).state == "outbox" and store.get(theirs).state == "delivering"


def test_actions_check_state_and_are_logged(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    held = store.add(new(raw, guard, "held"))
    queued = store.add(new(raw, guard, undo_seconds=60))
    with pytest.raises(WrongState, match="cannot recall .*: it is held, not outbox"):
        store.recall(held, "alice")
    store.recall(queued, "bob", note="wrong attachment")
    with pytest.raises(WrongState, match="it is recalled"):
        store.release(queued, "alice")
    store.release(held, "alice")
    assert store.get(held).state == "outbox"
    assert [m.id for m in store.claim("n", 5, lease_seconds=60)] == [held]  # due at once, no undo window
    with pytest.raises(MessageNotFound):
        store.discard("NOSUCHID", "alice")
    log = store.decisions(10)
    assert [(d.message_id, d.action, d.actor) for d in log[:2]] == [(held, "released", "alice"), (queued, "recalled", "bob")]  # fmt: skip
    assert log[1].note == "wrong attachment"
    assert store.counts()["recalled"] == 1


def test_purge_removes_only_finished_messages(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    held = store.add(new(raw, guard, "held"))
    queued = store.add(new(raw, guard, undo_seconds=60))
    discarded = store.add(new(raw, guard, "held"))
    store.discard(discarded, "alice")
    assert store.purge(time.time() - 3600) == 0  # nothing finished an hour ago
    assert store.purge(time.time() + 1) == 1
    assert {m.id for m in store.list(None, limit=10)} == {held, queued}
    with pytest.raises(MessageNotFound):
        store.get(discarded)
    assert [d.action for d in store.decisions(10, message_id=discarded)][0] == "discarded"


def test_concurrent_releases_only_one_wins(store: Store, guard: sendguard.Guard) -> None:
    held = store.add(new(example("02-bad-cc-other-customer.eml"), guard, "held"))
    results: list[str] = []

    def act(n: int) -> None:
        try:
            store.release(held, f"reviewer-{n}")
            results.append("released")
        except WrongState:
            results.append("refused")

    threads = [threading.Thread(target=act, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused"] * 7 + ["released"]
    assert [d.action for d in store.decisions(message_id=held)] == ["released", "held"]


def test_replace_recipients_rewrites_headers_and_checks_again(store: Store, guard: sendguard.Guard) -> None:
    raw = example("02-bad-cc-other-customer.eml")
    held = store.add(new(raw, guard, "held", rcpts=(CUSTOMER, OTHER_CUSTOMER)))
    fixed = store.replace_recipients(held, ["Peter Jones <peter.jones@acme.com>"], actor="alice", guard=guard)
    assert (fixed.state, fixed.verdict, fixed.rcpt_tos) == ("held", "pass", ("peter.jones@acme.com",))
    assert b"northwind" not in fixed.raw.split(b"\r\n\r\n")[0].lower()
    assert body_of(fixed.raw) == body_of(raw)  # body untouched
    assert store.decisions(1, message_id=held)[0].action == "recipients-replaced"
    # Back to a recipient of another customer: checked again and blocked again.
    again = store.replace_recipients(held, [CUSTOMER], cc=[OTHER_CUSTOMER], actor="alice", guard=guard)
    assert again.verdict == "block" and again.rcpt_tos == (CUSTOMER, OTHER_CUSTOMER)
    with pytest.raises(QueueError, match="not an email address"):
        store.replace_recipients(held, ["not an address"], actor="alice", guard=guard)


def test_list_filters_and_orders_newest_first(store: Store, guard: sendguard.Guard) -> None:
    raw = example("01-good-reply-with-attachment.eml")
    first = store.add(new(raw, guard, "held"))
    second = store.add(new(raw, guard))
    assert [m.id for m in store.list()] == [second, first]
    assert [m.id for m in store.list("held")] == [first]
    assert store.list(["delivered"]) == []
    with pytest.raises(QueueError, match="unknown state 'sent'"):
        store.list("sent")


def test_sqlite_is_durable_at_commit(tmp_path: Path) -> None:
    store = Store("sqlite:///" + str(tmp_path / "q.db"))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_relay_store_checkpoints_the_wal_off_the_commit_path(tmp_path: Path, guard: sendguard.Guard) -> None:
    """No commit runs SQLite's checkpoint (its writes and fsync stalled the relay); a thread does."""
    db = tmp_path / "q.db"
    store = Store("sqlite:///" + str(db), background_checkpoints=True)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        raw = example("01-good-reply-with-attachment.eml")
        before = db.stat().st_size
        store.add_many([new(raw, guard) for _ in range(200)])
        wal = Path(str(db) + "-wal")
        assert wal.stat().st_size > 200 * len(raw)  # committed: in the WAL
        deadline = time.monotonic() + 10
        while db.stat().st_size < before + 200 * len(raw) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert db.stat().st_size >= before + 200 * len(raw)  # copied into the database by the thread
    finally:
        store.close()
    assert len(Store("sqlite:///" + str(db)).list(None, limit=500)) == 200


def test_unusable_store_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory .*missing.* does not exist"):
        Store("sqlite:///" + str(tmp_path / "missing" / "q.db"))
    with pytest.raises(
        StoreError, match="cannot open the relay store postgresql\\+psycopg://u:\\*\\*\\*@127.0.0.1:1/x"
    ):
        Store("postgresql://u:secret@127.0.0.1:1/x")

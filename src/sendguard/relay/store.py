"""The relay's durable store: outbox, quarantine and decision log, on SQLAlchemy Core.

SQLite by default, in WAL mode with `synchronous=FULL`, so a commit is on disk before the relay
answers 250; PostgreSQL through a URL when several relays share one queue.

Life of a message (the `state` column):

    add() ──┬─► outbox ───claim()───► delivering ──finish(delivered)──► delivered
            │    ▲  │                   │  finish(defer): upstream down or slow → outbox, retried later
            │    │  │                   │  finish(bounce): upstream refused it for good → held
            │    │  │                   │  lease expired (its relay died) → claimable again
            │    │  ├─ recall() ──► recalled     (the sender's undo, while still in the outbox)
            │    │  └─ discard() ─► discarded
            ├─► held ──┬─ release() ──┘
            │          ├─ discard() ─► discarded
            │          └─ replace_recipients(): new To/Cc, checked again, stays held
            └─► rejected    (refused with 550 and kept for the record; never sent)

Every verdict and every action writes a row to the decision log in the same transaction as the
state change, so the log and the queue cannot disagree.

Claiming is what keeps several relays from sending a message twice: on PostgreSQL one statement
picks due rows with `FOR UPDATE SKIP LOCKED` and marks them `delivering` for this relay (its
"node"); on SQLite every writing transaction is `BEGIN IMMEDIATE`, so claims are serialised by
the database lock. A claim is a lease: if its relay dies, the rows become claimable again when
`lease_until` passes (or at once when the same node restarts, see `recover`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sendguard.config import Config
from sendguard.guard import Guard
from sendguard.relay import trace
from sendguard.relay.checking import check_raw
from sendguard.relay.errors import MessageNotFound, QueueError, StoreError, WrongState
from sendguard.relay.recipients import envelope_addresses, rewrite_recipients
from sendguard.report import Finding, Location, Report, Severity

STATES = ("outbox", "held", "delivering", "delivered", "discarded", "recalled", "rejected")
PENDING = ("outbox", "held", "delivering")
# What the decision log calls the relay's own decision for each state a message can enter with.
ARRIVAL_ACTION = {"outbox": "queued", "held": "held", "rejected": "rejected"}
DEFAULT_FILE = "sendguard.db"

metadata = sa.MetaData()

log = logging.getLogger(__name__)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("mail_from", sa.Text, nullable=False),
    sa.Column("rcpt_tos", sa.JSON, nullable=False),
    sa.Column("mail_options", sa.JSON, nullable=False),
    sa.Column("peer", sa.Text),  # "helo [ip]" of the submitting client, for the Received: line
    sa.Column("subject", sa.Text),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    # The undo window ends at release_at; next_attempt is never earlier (see add/defer), so
    # "due" is just next_attempt <= now.
    sa.Column("release_at", sa.Float),
    sa.Column("next_attempt", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_by", sa.Text),
    sa.Column("lease_until", sa.Float),
    sa.Column("delivered_at", sa.Float),
)
sa.Index("ix_messages_due", messages.c.state, messages.c.next_attempt)
sa.Index("ix_messages_created", messages.c.created)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("message_id", sa.String(16), nullable=False, index=True),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("rcpt_count", sa.Integer, nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
)
sa.Index("ix_decisions_time", decisions.c.time)  # decisions(limit): newest first, without a full sort


@dataclass(frozen=True)
class NewMessage:
    """What the relay hands to `add`: the message as received and the decision taken on it."""

    raw: bytes
    mail_from: str
    rcpt_tos: Sequence[str]
    state: str  # outbox | held | rejected
    verdict: str  # pass | warn | block
    findings: Sequence[Finding]
    subject: str | None = None
    mail_options: Sequence[str] = ()
    peer: str | None = None
    undo_seconds: float = 0.0  # outbox only: how long the sender may still recall it
    note: str | None = None


@dataclass(frozen=True)
class Completion:
    """The whole check of a stored message, once the rules that ran after the reply are done.

    The relay answers on the rules that can change its reply and stores the message with their
    findings; this replaces them with all of them (and the verdict they give) in the message
    and in its arrival entry of the decision log. The message's state never changes with it.
    """

    id: str
    verdict: str
    findings: Sequence[Finding]


@dataclass(frozen=True)
class MessageSummary:
    """One row of the queue, without the message bytes (what a list shows)."""

    id: str
    state: str
    verdict: str
    rules: tuple[str, ...]
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str | None
    size: int
    created: datetime
    release_at: datetime | None
    attempts: int
    next_attempt: datetime | None
    last_error: str | None
    delivered_at: datetime | None

    @property
    def recallable(self) -> bool:
        """Still in the outbox: a recall stops it (guaranteed until `release_at`, possible after)."""
        return self.state == "outbox"


@dataclass(frozen=True)
class StoredMessage(MessageSummary):
    """A message with its bytes and findings (what `get` returns)."""

    raw: bytes
    findings: tuple[Finding, ...]
    mail_options: tuple[str, ...]
    peer: str | None
    version: float  # changes whenever the row does: lets an editor notice a concurrent action

    def report(self) -> Report:
        """The stored findings as a Report, for the same renderers as `sendguard check`."""
        return Report(findings=list(self.findings), subject=self.subject)


@dataclass(frozen=True)
class Decision:
    """One row of the decision log: a verdict by the relay, or an action by a person."""

    id: int
    time: datetime
    message_id: str
    sender: str
    rcpt_count: int
    rules: tuple[str, ...]
    verdict: str
    action: str  # queued | held | rejected | released | discarded | recalled | recipients-replaced
    actor: str  # "relay" or the person's name
    note: str | None


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, ready to hand to the upstream server."""

    id: str
    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    peer: str | None
    created: float
    attempts: int
    lease_until: float  # this relay must be done with it well before then (see Delivery)


@dataclass(frozen=True)
class Outcome:
    """How a delivery attempt ended, for `finish`.

    kind: "delivered"; "defer" (temporary failure: retry at `retry_at`); "bounce" (refused for
    good: hold for a person). `rcpt_tos`, when given, narrows the recipients still owed the
    message (the upstream took it for the others).
    """

    id: str
    kind: str
    error: str | None = None
    retry_at: float | None = None
    rcpt_tos: Sequence[str] | None = None


def store_url(config: Config) -> str:
    """`[relay] store`: a database URL, or a SQLite file path relative to the config file."""
    value = config.get("relay", "store", str, DEFAULT_FILE)
    if "://" in value:
        return value
    return "sqlite:///" + str(config.resolve_path(value).resolve())


class Store:
    """The queue and the decision log. Safe to share between threads; one per process is enough."""

    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        """`background_checkpoints` (the relay): on SQLite, copy the WAL into the database from a
        thread of its own instead of in whichever commit crosses SQLite's threshold, so no
        message waits behind a checkpoint's writes and fsync (100-300 ms on a busy disk)."""
        self.url = _normalise_url(url)
        self._checkpointer: _Checkpointer | None = None
        try:
            self.engine = _make_engine(self.url, auto_checkpoint=not background_checkpoints)
            self.display_url = self.engine.url.render_as_string(hide_password=True)
            self.is_postgres = self.engine.dialect.name == "postgresql"
            # Writes go through this handle; on SQLite it makes them BEGIN IMMEDIATE (see _make_engine).
            self._writer = self.engine.execution_options(sendguard_write=True)
            # The relay's hot path (write) runs statements compiled once, on the DBAPI cursor.
            dialect = self.engine.dialect
            self._insert_message = _Compiled(
                messages.insert().values({c.name: sa.bindparam(c.name) for c in messages.c}), dialect
            )
            self._insert_decision = _Compiled(
                decisions.insert().values(
                    {c.name: sa.bindparam(c.name) for c in decisions.c if c.name != "id"}
                ),
                dialect,
            )
            self._complete_message = _Compiled(
                messages.update()
                .where(messages.c.id == sa.bindparam("done_id"))
                .values(
                    verdict=sa.bindparam("done_verdict"),
                    rules=sa.bindparam("done_rules"),
                    findings=sa.bindparam("done_findings"),
                ),
                dialect,
            )
            self._complete_decision = _Compiled(
                decisions.update()
                .where(
                    decisions.c.message_id == sa.bindparam("done_id"),
                    decisions.c.actor == "relay",
                    sa.or_(*(decisions.c.action == action for action in ARRIVAL_ACTION.values())),
                )
                .values(verdict=sa.bindparam("done_verdict"), rules=sa.bindparam("done_rules")),
                dialect,
            )
            self._delivered: dict[int, _Compiled] = {}  # by how many ids
            self._hot: Connection | None = None  # write()'s own connection
            self._hot_lock = threading.Lock()
            self._create_schema()
            if background_checkpoints and self.engine.dialect.name == "sqlite":
                self._checkpointer = _Checkpointer(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open the relay store {_redact(url)}: {_reason(exc)}") from None

    @classmethod
    def from_config(cls, config: Config) -> Store:
        return cls(store_url(config))

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._hot_lock:
            if self._hot is not None:
                self._hot.close()
                self._hot = None
        self.engine.dispose()

    # -- the relay's side ----------------------------------------------------------------------

    def add(self, item: NewMessage, actor: str = "relay") -> str:
        """Store one message and its decision durably; returns its id."""
        return self.add_many([item], actor)[0]

    def add_many(self, items: Sequence[NewMessage], actor: str = "relay") -> list[str]:
        """Store several messages in one transaction (group commit: one fsync for all)."""
        with self._write() as conn:
            ids, _ = self._insert(conn, items, actor, time.time())
        return ids

    def write(
        self,
        node: str,
        items: Sequence[NewMessage],
        outcomes: Sequence[Outcome],
        completions: Sequence[Completion] = (),
        *,
        claim: int = 0,
        lease_seconds: float = 0.0,
    ) -> tuple[list[str], list[Outgoing], int]:
        """The relay's group commit: new messages, delivery outcomes and completed checks in one
        transaction.

        The first `claim` new messages that are due at once (outbox, no undo window) are stored
        already claimed by `node` (`delivering`, leased for `lease_seconds`), exactly as a
        claim() right after the commit would leave them: the relay hands them to its lanes
        without another transaction. Returns the new ids, the claimed messages, and how many
        outcomes were still ours (as finish()).
        """
        now = time.time()
        with self._hot_lock:
            # One connection kept for this path (no pool checkout per commit); dropped after any
            # error, so the next write starts on a fresh one.
            if self._hot is None:
                self._hot = self._writer.connect()
            try:
                with self._hot.begin():
                    done = self._finish(self._hot, node, outcomes, now)
                    ids, claimed = self._insert(self._hot, items, "relay", now, node, claim, lease_seconds)
                    if completions:
                        self._complete(self._hot, completions)
            except BaseException:
                hot, self._hot = self._hot, None
                with contextlib.suppress(Exception):
                    hot.close()
                raise
        return ids, claimed, done

    def _complete(self, conn: Connection, completions: Sequence[Completion]) -> None:
        rows = [
            {
                "done_id": c.id,
                "done_verdict": c.verdict,
                "done_rules": json.dumps(sorted({f.rule for f in c.findings})),
                "done_findings": json.dumps([f.to_dict() for f in c.findings]),
            }
            for c in completions
        ]
        cursor = conn.connection.cursor()
        try:
            self._complete_message.run(cursor, rows)
            self._complete_decision.run(cursor, rows)
        finally:
            cursor.close()

    def _insert(
        self,
        conn: Connection,
        items: Sequence[NewMessage],
        actor: str,
        now: float,
        node: str | None = None,
        claim: int = 0,
        lease_seconds: float = 0.0,
    ) -> tuple[list[str], list[Outgoing]]:
        rows, log, claimed = [], [], []
        for item in items:
            if item.state not in ARRIVAL_ACTION:
                raise ValueError(f"a new message cannot be {item.state!r}")
            message_id = new_id()
            release_at = now + item.undo_seconds if item.state == "outbox" else None
            rules = sorted({f.rule for f in item.findings})
            row = {
                "id": message_id,
                "created": now,
                "updated": now,
                "state": item.state,
                "verdict": item.verdict,
                "rules": rules,
                "findings": [f.to_dict() for f in item.findings],
                "mail_from": item.mail_from,
                "rcpt_tos": list(item.rcpt_tos),
                "mail_options": list(item.mail_options),
                "peer": item.peer,
                "subject": item.subject,
                "size": len(item.raw),
                "raw": item.raw,
                "release_at": release_at,
                "next_attempt": release_at,
                "attempts": 0,
                "claimed_by": None,
                "lease_until": None,
            }
            if (
                node is not None
                and len(claimed) < claim
                and item.state == "outbox"
                and item.undo_seconds <= 0
            ):
                # As claim() would leave it: delivering, leased to `node`, first attempt counted.
                lease_until = now + lease_seconds
                row.update(state="delivering", claimed_by=node, lease_until=lease_until, attempts=1)
                claimed.append(
                    Outgoing(
                        message_id,
                        item.raw,
                        item.mail_from,
                        tuple(item.rcpt_tos),
                        tuple(item.mail_options),
                        item.peer,
                        now,
                        1,
                        lease_until,
                    )
                )
            rows.append(row)
            log.append(
                _decision(
                    time=now,
                    message_id=message_id,
                    sender=item.mail_from,
                    rcpt_count=len(item.rcpt_tos),
                    rules=rules,
                    verdict=item.verdict,
                    action=ARRIVAL_ACTION[item.state],
                    actor=actor,
                    note=item.note,
                )
            )
        if rows:
            cursor = conn.connection.cursor()
            try:
                self._insert_message.run(cursor, [_json_columns(r, _MESSAGE_JSON) for r in rows])
                self._insert_decision.run(cursor, [_json_columns(r, _DECISION_JSON) for r in log])
            finally:
                cursor.close()
        return [r["id"] for r in rows], claimed

    def claim(self, node: str, limit: int, lease_seconds: float) -> list[Outgoing]:
        """Take up to `limit` due messages for delivery by `node`; no other claim can get them.

        Due: in the outbox with next_attempt passed, or `delivering` under an expired lease.
        """
        with self._write() as conn:
            return self._claim(conn, node, limit, lease_seconds, time.time())

    def claim_due(self, node: str, limit: int, lease_seconds: float) -> tuple[list[Outgoing], float | None]:
        """claim(), and when it took fewer than `limit`, next_due() in the same transaction."""
        now = time.time()
        with self._write() as conn:
            out = self._claim(conn, node, limit, lease_seconds, now)
            return out, (self._next_due(conn) if len(out) < limit else None)

    def _claim(
        self, conn: Connection, node: str, limit: int, lease_seconds: float, now: float
    ) -> list[Outgoing]:
        m = messages
        due = sa.or_(
            sa.and_(m.c.state == "outbox", m.c.next_attempt <= now),
            sa.and_(m.c.state == "delivering", m.c.lease_until < now),
        )
        pick = (
            sa.select(m.c.id)
            .where(due)
            .order_by(m.c.next_attempt)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("pick")
            .prefix_with("MATERIALIZED", dialect="postgresql")  # lock exactly `limit` rows, once
        )
        lease_until = now + lease_seconds
        stmt = (
            m.update()
            .where(m.c.id == pick.c.id)
            .values(
                state="delivering",
                claimed_by=node,
                lease_until=lease_until,
                attempts=m.c.attempts + 1,
                updated=now,
            )
            .returning(
                m.c.id,
                m.c.raw,
                m.c.mail_from,
                m.c.rcpt_tos,
                m.c.mail_options,
                m.c.peer,
                m.c.created,
                m.c.attempts,
            )
        )
        rows = conn.execute(stmt).all()
        out = [
            Outgoing(
                r.id,
                r.raw,
                r.mail_from,
                tuple(r.rcpt_tos),
                tuple(r.mail_options),
                r.peer,
                r.created,
                r.attempts,
                lease_until,
            )
            for r in rows
        ]
        out.sort(key=lambda o: o.created)
        return out

    def finish(self, node: str, outcomes: Sequence[Outcome]) -> int:
        """Record how deliveries by `node` ended, in one transaction; returns how many still were ours.

        A row whose lease was taken over by another relay (ours expired) is left alone.
        """
        with self._write() as conn:
            return self._finish(conn, node, outcomes, time.time())

    def _finish(self, conn: Connection, node: str, outcomes: Sequence[Outcome], now: float) -> int:
        m = messages
        done = 0
        # The common case, plain deliveries, in one statement.
        plain = [o.id for o in outcomes if o.kind == "delivered" and o.rcpt_tos is None and o.error is None]
        if plain:
            done += self._mark_delivered(conn, node, plain, now)
        for o in outcomes:
            if o.kind == "delivered" and o.rcpt_tos is None and o.error is None:
                continue
            ours = sa.and_(m.c.id == o.id, m.c.state == "delivering", m.c.claimed_by == node)
            values: dict[str, Any] = {"updated": now, "lease_until": None}
            if o.rcpt_tos is not None:
                values["rcpt_tos"] = list(o.rcpt_tos)
            if o.kind == "delivered":
                values.update(state="delivered", delivered_at=now, last_error=o.error)
            elif o.kind == "defer":
                values.update(state="outbox", next_attempt=o.retry_at or now, last_error=o.error)
            elif o.kind == "bounce":
                values.update(state="held", last_error=o.error)
            else:
                raise ValueError(f"unknown outcome {o.kind!r}")
            if o.kind == "bounce":
                row = conn.execute(
                    sa.select(m.c.mail_from, m.c.rcpt_tos, m.c.rules, m.c.verdict).where(ours)
                ).first()
                if row is None:
                    continue
                rcpts = o.rcpt_tos if o.rcpt_tos is not None else row.rcpt_tos
                conn.execute(
                    decisions.insert(),
                    _decision(
                        time=now,
                        message_id=o.id,
                        sender=row.mail_from,
                        rcpt_count=len(rcpts),
                        rules=row.rules,
                        verdict=row.verdict,
                        action="held",
                        actor="relay",
                        note=o.error,
                    ),
                )
            done += conn.execute(m.update().where(ours).values(**values)).rowcount
        return done

    def _mark_delivered(self, conn: Connection, node: str, ids: list[str], now: float) -> int:
        statement = self._delivered.get(len(ids))
        if statement is None:
            m = messages
            statement = _Compiled(
                m.update()
                .where(
                    m.c.id.in_([sa.bindparam(f"id{i}") for i in range(len(ids))]),
                    m.c.state == "delivering",
                    m.c.claimed_by == sa.bindparam("node"),
                )
                .values(
                    updated=sa.bindparam("now"),
                    delivered_at=sa.bindparam("now"),
                    lease_until=None,
                    state="delivered",
                    last_error=None,
                ),
                self.engine.dialect,
            )
            if len(ids) <= 64:
                self._delivered[len(ids)] = statement
        cursor = conn.connection.cursor()
        try:
            return statement.run(
                cursor, [{"node": node, "now": now} | {f"id{i}": v for i, v in enumerate(ids)}]
            )
        finally:
            cursor.close()

    def recover(self, node: str) -> int:
        """Return messages `node` had claimed to the outbox (it restarted, so it is no longer sending them).

        Call only once this node is the one listening (its address is bound), so no live relay
        of the same name still holds them. This is where an in-flight hand-off at a crash
        becomes a possible duplicate: whether the upstream got it cannot be known.
        """
        now = time.time()
        m = messages
        with self._write() as conn:
            return conn.execute(
                m.update()
                .where(m.c.state == "delivering", m.c.claimed_by == node)
                .values(state="outbox", next_attempt=now, lease_until=None, updated=now)
            ).rowcount

    def next_due(self) -> float | None:
        """When the next message becomes claimable (epoch seconds), or None when nothing waits."""
        with self.engine.connect() as conn:
            return self._next_due(conn)

    def _next_due(self, conn: Connection) -> float | None:
        m = messages
        outbox = conn.execute(sa.select(sa.func.min(m.c.next_attempt)).where(m.c.state == "outbox")).scalar()
        leases = conn.execute(
            sa.select(sa.func.min(m.c.lease_until)).where(m.c.state == "delivering")
        ).scalar()
        times = [t for t in (outbox, leases) if t is not None]
        return min(times) if times else None

    # -- the reviewer's side (CLI and console) ----------------------------------------------------

    def list(
        self, states: str | Iterable[str] | None = None, *, limit: int = 200, offset: int = 0
    ) -> list[MessageSummary]:
        """Messages, newest first; `states` filters (e.g. "held", or PENDING), None means all."""
        wanted = _states(states)
        query = sa.select(*_SUMMARY_COLUMNS).order_by(messages.c.created.desc(), messages.c.id)
        if wanted is not None:
            query = query.where(messages.c.state.in_(wanted))
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [_summary(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many messages are in each state (every state present, zeros included)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(messages.c.state, sa.func.count()).group_by(messages.c.state)).all()
        found = {state: n for state, n in rows}
        return {state: found.get(state, 0) for state in STATES}

    def get(self, message_id: str) -> StoredMessage:
        """One message with its bytes and findings; raises MessageNotFound."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(messages).where(messages.c.id == message_id)).first()
        if row is None:
            raise MessageNotFound(message_id)
        return _stored(row)

    def release(self, message_id: str, actor: str, note: str | None = None) -> None:
        """A person decided a held message may go: back to the outbox, due at once."""
        now = time.time()
        self._transition(
            message_id,
            actor,
            "release",
            ("held",),
            "released",
            {"state": "outbox", "release_at": now, "next_attempt": now},
            note,
        )

    def discard(self, message_id: str, actor: str, note: str | None = None) -> None:
        """A held (or not yet sent) message will never be sent; it is kept for the record."""
        self._transition(
            message_id, actor, "discard", ("held", "outbox"), "discarded", {"state": "discarded"}, note
        )

    def recall(self, message_id: str, actor: str, note: str | None = None) -> None:
        """Undo send: stop a message still in the outbox (always possible before its release_at)."""
        self._transition(message_id, actor, "recall", ("outbox",), "recalled", {"state": "recalled"}, note)

    def purge(self, before: float) -> int:
        """Delete finished messages (delivered, discarded, recalled, rejected) last changed before
        `before` (epoch seconds), bodies and all; returns how many. Held and queued mail is never
        touched, and the decision log keeps every message's history."""
        with self._write() as conn:
            result = conn.execute(
                messages.delete().where(messages.c.state.not_in(PENDING), messages.c.updated < before)
            )
        return result.rowcount

    def replace_recipients(
        self, message_id: str, to: Sequence[str], *, cc: Sequence[str] = (), actor: str, guard: Guard
    ) -> StoredMessage:
        """Give a held message new To/Cc (Bcc dropped), check it again with `guard`, keep it held.

        The envelope recipients become exactly `to` + `cc`. The body is untouched; only the
        To/Cc/Bcc header fields are rewritten. The new verdict and findings replace the old ones;
        a person still has to release it.
        """
        current = self.get(message_id)
        if current.state != "held":
            raise WrongState(message_id, "edit", current.state, ("held",))
        rcpts = envelope_addresses([*to, *cc])
        raw = rewrite_recipients(current.raw, to, cc)
        checked = check_raw(guard, raw, rcpts)
        now = time.time()
        note = "To: " + ", ".join(to) + ("; Cc: " + ", ".join(cc) if cc else "")
        m = messages
        with self._write() as conn:
            row = conn.execute(
                self._lock(sa.select(m.c.state, m.c.updated).where(m.c.id == message_id))
            ).first()
            if row is None:
                raise MessageNotFound(message_id)
            if row.state != "held" or row.updated != current.version:
                # Someone acted on it while we were checking: do not overwrite their decision.
                raise WrongState(message_id, "edit", row.state, ("held (and unchanged)",))
            conn.execute(
                m.update()
                .where(m.c.id == message_id)
                .values(
                    raw=raw,
                    size=len(raw),
                    rcpt_tos=rcpts,
                    verdict=checked.verdict,
                    rules=checked.rules,
                    findings=[f.to_dict() for f in checked.findings],
                    subject=checked.subject,
                    updated=now,
                )
            )
            conn.execute(
                decisions.insert(),
                _decision(
                    time=now,
                    message_id=message_id,
                    sender=current.mail_from,
                    rcpt_count=len(rcpts),
                    rules=checked.rules,
                    verdict=checked.verdict,
                    action="recipients-replaced",
                    actor=actor,
                    note=note,
                ),
            )
        return self.get(message_id)

    def decisions(self, limit: int = 100, *, message_id: str | None = None) -> list[Decision]:
        """The decision log, newest first; optionally only one message's history."""
        d = decisions
        query = sa.select(d).order_by(d.c.time.desc(), d.c.id.desc()).limit(limit)
        if message_id is not None:
            query = query.where(d.c.message_id == message_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Decision(
                r.id,
                _dt(r.time),
                r.message_id,
                r.sender,
                r.rcpt_count,
                tuple(r.rules),
                r.verdict,
                r.action,
                r.actor,
                r.note,
            )
            for r in rows
        ]

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    def _lock(self, query: sa.Select) -> sa.Select:
        """Row lock on PostgreSQL (a concurrent claim skips the row); SQLite already holds the write lock."""
        return query.with_for_update() if self.is_postgres else query

    def _transition(
        self,
        message_id: str,
        actor: str,
        verb: str,
        allowed: Sequence[str],
        action: str,
        values: dict[str, Any],
        note: str | None,
    ) -> None:
        now = time.time()
        m = messages
        with self._write() as conn:
            row = conn.execute(
                self._lock(
                    sa.select(m.c.state, m.c.mail_from, m.c.rcpt_tos, m.c.rules, m.c.verdict).where(
                        m.c.id == message_id
                    )
                )
            ).first()
            if row is None:
                raise MessageNotFound(message_id)
            if row.state not in allowed:
                raise WrongState(message_id, verb, row.state, allowed)
            conn.execute(m.update().where(m.c.id == message_id).values(updated=now, **values))
            conn.execute(
                decisions.insert(),
                _decision(
                    time=now,
                    message_id=message_id,
                    sender=row.mail_from,
                    rcpt_count=len(row.rcpt_tos),
                    rules=row.rules,
                    verdict=row.verdict,
                    action=action,
                    actor=actor,
                    note=note,
                ),
            )

    def _create_schema(self) -> None:
        with self._write() as conn:
            if self.is_postgres:
                # Two relays starting at once must not both try to CREATE TABLE.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7301994)"))
            metadata.create_all(conn)


class _Compiled:
    """A statement compiled once for a dialect and run on a DBAPI cursor: no SQLAlchemy work per call.

    Only for the relay's hot path (Store.write). Parameters are plain driver values: JSON
    columns must be serialised by the caller (_json_columns).
    """

    def __init__(self, statement: sa.Executable, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup is not None
        if compiled.positiontup is not None:
            self.names = list(compiled.positiontup)
        else:
            self.names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", self.sql)))
        binds = {name: bind.effective_value for name, bind in compiled.binds.items()}
        self.defaults = {name: binds.get(name) for name in self.names}  # the statement's own literals

    def run(self, cursor: Any, rows: list[dict[str, Any]]) -> int:
        params = [self._params(row) for row in rows]
        if len(params) == 1:
            cursor.execute(self.sql, params[0])
        else:
            cursor.executemany(self.sql, params)
        return cursor.rowcount

    def _params(self, row: dict[str, Any]) -> Any:
        full = self.defaults | row
        if self.positional:
            return tuple(full[name] for name in self.names)
        return {name: full[name] for name in self.names}


_MESSAGE_JSON = tuple(c.name for c in messages.c if isinstance(c.type, sa.JSON))
_DECISION_JSON = tuple(c.name for c in decisions.c if isinstance(c.type, sa.JSON))


def _json_columns(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return row | {name: json.dumps(row[name]) for name in names}


# MessageSummary's fields are named after their columns.
_SUMMARY_COLUMNS = [messages.c[f.name] for f in fields(MessageSummary)]
_TIME_FIELDS = {"created", "release_at", "next_attempt", "delivered_at"}
_LIST_FIELDS = {"rules", "rcpt_tos"}


def new_id() -> str:
    """12 characters of Crockford-style base32 (60 random bits): short enough to read out, unique in practice."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = secrets.randbits(60)
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in range(12))


def _states(states: str | Iterable[str] | None) -> list[str] | None:
    if states is None:
        return None
    wanted = [states] if isinstance(states, str) else list(states)
    for s in wanted:
        if s not in STATES:
            raise QueueError(f"unknown state {s!r} (expected one of: {', '.join(STATES)})")
    return wanted


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _summary_fields(r: Any) -> dict[str, Any]:
    out = {}
    for f in fields(MessageSummary):
        value = getattr(r, f.name)
        out[f.name] = (
            _dt(value) if f.name in _TIME_FIELDS else tuple(value) if f.name in _LIST_FIELDS else value
        )
    return out


def _summary(r: Any) -> MessageSummary:
    return MessageSummary(**_summary_fields(r))


def _stored(r: Any) -> StoredMessage:
    return StoredMessage(
        **_summary_fields(r),
        raw=bytes(r.raw),
        findings=tuple(finding_from_dict(f) for f in r.findings),
        mail_options=tuple(r.mail_options),
        peer=r.peer,
        version=r.updated,
    )


def finding_from_dict(d: dict[str, Any]) -> Finding:
    """Inverse of Finding.to_dict (findings are stored as JSON)."""
    return Finding(
        d["rule"],
        Severity.parse(d["severity"]),
        d["message"],
        Location(**d["location"]),
        d["evidence"],
        d["suggestion"],
    )


def _decision(
    *,
    time: float,
    message_id: str,
    sender: str,
    rcpt_count: int,
    rules: Sequence[str],
    verdict: str,
    action: str,
    actor: str,
    note: str | None,
) -> dict[str, Any]:
    """A decision-log row (keyword names = columns, so a call cannot put a value in the wrong one)."""
    return {
        "time": time,
        "message_id": message_id,
        "sender": sender,
        "rcpt_count": rcpt_count,
        "rules": list(rules),
        "verdict": verdict,
        "action": action,
        "actor": actor,
        "note": note,
    }


def _normalise_url(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver we install; SQLAlchemy's default for postgresql:// is psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class _Checkpointer:
    """Copies the SQLite WAL into the database once a second, off the relay's commit path.

    PASSIVE: it never waits for, or blocks, a writer; frames a reader still needs are left for
    the next round. Durability does not depend on it (a commit is durable once in the WAL).
    """

    INTERVAL = 1.0

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sendguard-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.INTERVAL):
            # The DBAPI connection is in autocommit (see _make_engine): no transaction around it.
            try:
                raw = self._engine.raw_connection()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("WAL checkpoint: cannot connect: %s", _reason(exc))
                continue
            start = time.monotonic()
            try:
                [(_, frames, copied)] = raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # a busy or vanished file: try again next round
                log.warning("WAL checkpoint failed: %s", exc)
            else:
                if trace.enabled:
                    trace.record(checkpoint=[start, time.monotonic()], frames=frames, copied=copied)
            finally:
                raw.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


def _make_engine(url: str, *, auto_checkpoint: bool = True) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    path = sa.make_url(url).database
    if path and path != ":memory:" and not Path(path).parent.is_dir():
        raise StoreError(f"cannot open the relay store {path}: directory {Path(path).parent} does not exist")
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # the WAL is fsynced at every commit: 250 means on disk
        if not auto_checkpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")  # a _Checkpointer thread does it
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the database lock up front: no lock upgrade mid-transaction, so no
        # SQLITE_BUSY surprises, and two claims can never read the same due rows.
        write = conn.get_execution_options().get("sendguard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _redact(url: str) -> str:
    try:
        return sa.make_url(_normalise_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

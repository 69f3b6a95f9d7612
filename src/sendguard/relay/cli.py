"""`sendguard relay` and `sendguard queue list|show|release|discard|recall|log`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from sendguard.cli import EXIT_OK, add_config_option
from sendguard.config import Config
from sendguard.guard import Guard
from sendguard.org.loaders import load_org
from sendguard.relay.errors import QueueError, StoreError
from sendguard.relay.settings import DEFAULT_LISTEN, RELAY_KEYS, load_settings
from sendguard.relay.store import PENDING, STATES, Store, StoredMessage
from sendguard.render import print_report


def register(subparsers: argparse._SubParsersAction) -> None:
    relay = subparsers.add_parser("relay", help="run the SMTP relay that checks mail before it leaves")
    add_config_option(relay)
    relay.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"where clients submit mail (default: [relay] listen or {DEFAULT_LISTEN})",
    )
    relay.add_argument(
        "--upstream", metavar="HOST:PORT", help="the real submission server (default: [relay] upstream)"
    )
    relay.add_argument("--log-level", choices=("debug", "info", "warning"), default="info")
    relay.set_defaults(run=cmd_relay)

    queue = subparsers.add_parser("queue", help="list, show and act on the relay's held and outgoing mail")
    actions = queue.add_subparsers(dest="queue_command", required=True, parser_class=type(queue))

    listing = actions.add_parser("list", help="messages in the queue, newest first")
    add_config_option(listing)
    listing.add_argument(
        "--state",
        action="append",
        choices=(*STATES, "all"),
        help=f"only this state (repeatable; default: {', '.join(PENDING)})",
    )
    listing.add_argument("--limit", type=int, default=50, help="at most N messages (default 50)")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(run=cmd_list)

    show = actions.add_parser("show", help="a message's envelope, findings and history")
    add_config_option(show)
    show.add_argument("id", metavar="ID")
    show.add_argument(
        "--format", choices=("text", "json", "raw"), default="text", help="raw: the message bytes"
    )
    show.set_defaults(run=cmd_show)

    for name, verb, help_text in (
        ("release", "release", "send a held message after all"),
        ("discard", "discard", "never send a held (or not yet sent) message; it is kept for the record"),
        ("recall", "recall", "undo send: stop a message still in the outbox"),
    ):
        action = actions.add_parser(name, help=help_text)
        add_config_option(action)
        action.add_argument("id", metavar="ID")
        action.add_argument("--note", help="why (recorded in the decision log)")
        action.set_defaults(run=_act(verb))

    history = actions.add_parser("log", help="the decision log: verdicts and actions, newest first")
    add_config_option(history)
    history.add_argument("--id", metavar="ID", help="only this message's history")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(run=cmd_log)

    purge = actions.add_parser(
        "purge", help="delete finished messages older than N days (held and queued mail is kept)"
    )
    add_config_option(purge)
    purge.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    purge.set_defaults(run=cmd_purge)


def cmd_relay(args: argparse.Namespace) -> int:
    from sendguard.relay.checkpool import CheckPool
    from sendguard.relay.server import serve

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection at INFO
    config = Config.load(args.config)
    settings = load_settings(config, args.listen, args.upstream)
    store = Store(settings.store_url, background_checkpoints=True)
    # The check workers load their guards while this process loads its own.
    checker = CheckPool(config.path, settings.check_workers, settings.on_warn)
    try:
        guard = Guard(config, load_org(config))
        asyncio.run(serve(guard, settings, store, checker))
    finally:
        checker.close()
        store.close()
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    states = None if args.state and "all" in args.state else (args.state or list(PENDING))
    with _store(args) as store:
        rows = store.list(states, limit=args.limit)
    if args.format == "json":
        _json([_summary_dict(m) for m in rows])
        return EXIT_OK
    if not rows:
        print(f"no messages ({', '.join(states) if states else 'any state'})")
        return EXIT_OK
    now = time.time()
    print(
        f"{'ID':<12}  {'STATE':<10}  {'VERDICT':<7}  {'AGE':>5}  {'FROM':<28}  {'RCPTS':>5}  RULES / SUBJECT"
    )
    for m in rows:
        rules = ",".join(m.rules) or "-"
        subject = (m.subject or "").replace("\n", " ")
        print(
            f"{m.id:<12}  {m.state:<10}  {m.verdict:<7}  {_age(now - m.created.timestamp()):>5}  "
            f"{_clip(m.mail_from, 28):<28}  {len(m.rcpt_tos):>5}  {rules}  {_clip(subject, 50)!r}"
        )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    with _store(args) as store:
        message = store.get(args.id)
        history = store.decisions(limit=100, message_id=args.id)
    if args.format == "raw":
        sys.stdout.buffer.write(message.raw)
        return EXIT_OK
    if args.format == "json":
        out = _summary_dict(message)
        out["findings"] = [f.to_dict() for f in message.findings]
        out["history"] = [_decision_dict(d) for d in reversed(history)]
        _json(out)
        return EXIT_OK
    _print_message(message)
    print("history:")
    for d in reversed(history):
        note = f"  ({d.note})" if d.note else ""
        print(f"  {_when(d.time)}  {d.actor:<12}  {d.action}{note}")
    return EXIT_OK


def _act(verb: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with _store(args) as store:
            getattr(store, verb)(args.id, _actor(), args.note)
            state = store.get(args.id).state
        print(f"{verb}{'d' if verb.endswith('e') else 'ed'} {args.id} (now {state})")
        return EXIT_OK

    return run


def cmd_log(args: argparse.Namespace) -> int:
    with _store(args) as store:
        rows = store.decisions(limit=args.limit, message_id=args.id)
    if args.format == "json":
        _json([_decision_dict(d) for d in rows])
        return EXIT_OK
    for d in rows:
        rules = ",".join(d.rules) or "-"
        note = f"  ({d.note})" if d.note else ""
        print(
            f"{_when(d.time)}  {d.message_id:<12}  {d.action:<19}  {d.actor:<12}  {d.verdict:<5}  "
            f"{_clip(d.sender, 28):<28}  {d.rcpt_count:>3} rcpt  {rules}{note}"
        )
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    if args.older_than <= 0:
        raise QueueError(f"--older-than must be a positive number of days (not {args.older_than:g})")
    with _store(args) as store:
        removed = store.purge(time.time() - args.older_than * 86400)
    print(
        f"deleted {removed} finished message{'' if removed == 1 else 's'} older than {args.older_than:g} days "
        "(the decision log keeps their history)"
    )
    return EXIT_OK


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[Store]:
    config = Config.load(args.config)
    config.section("relay", allowed=RELAY_KEYS)
    store = Store.from_config(config)
    try:
        yield store
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"relay store {store.display_url}: {reason}") from None
    finally:
        store.close()


def _actor() -> str:
    """Who acts, for the decision log: $USER, else the login name."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:
        return "unknown"


def _print_message(m: StoredMessage) -> None:
    fields = [
        ("id", m.id),
        (
            "state",
            m.state + (f" (recallable until {_when(m.release_at)})" if m.recallable and m.release_at else ""),
        ),
        ("verdict", m.verdict),
        ("from", m.mail_from),
        ("to", ", ".join(m.rcpt_tos)),
        ("subject", m.subject or ""),
        ("received", _when(m.created)),
        ("size", f"{m.size} bytes"),
        ("attempts", str(m.attempts)),
    ]
    if m.delivered_at:
        fields.append(("delivered", _when(m.delivered_at)))
    if m.next_attempt and m.state == "outbox":
        fields.append(("next attempt", _when(m.next_attempt)))
    if m.last_error:
        fields.append(("last error", m.last_error))
    for name, value in fields:
        print(f"{name + ':':<14}{value}")
    print()
    report = m.report()
    report.path = m.id
    print_report(Console(highlight=False), report)


def _summary_dict(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "state": m.state,
        "verdict": m.verdict,
        "rules": list(m.rules),
        "mail_from": m.mail_from,
        "rcpt_tos": list(m.rcpt_tos),
        "subject": m.subject,
        "size": m.size,
        "created": _iso(m.created),
        "release_at": _iso(m.release_at),
        "attempts": m.attempts,
        "next_attempt": _iso(m.next_attempt),
        "last_error": m.last_error,
        "delivered_at": _iso(m.delivered_at),
    }


def _decision_dict(d: Any) -> dict[str, Any]:
    return {
        "time": _iso(d.time),
        "message_id": d.message_id,
        "sender": d.sender,
        "rcpt_count": d.rcpt_count,
        "rules": list(d.rules),
        "verdict": d.verdict,
        "action": d.action,
        "actor": d.actor,
        "note": d.note,
    }


def _json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(max(seconds, 0))}s"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

"""The SMTP side of the relay: an aiosmtpd handler that checks, stores, and answers.

For each message (DATA):
1. the guard checks it, in a worker process (checkpool.py: a check never stalls this loop); a
   large message only with the rules that can change the reply (checking.py);
2. the verdict picks a state: pass → outbox; warn → outbox or held (`on_warn`); block → held or
   rejected (`on_block`); a message the guard cannot read → held, always;
3. the message and the decision are committed to the store (group commit, see batch.py; a
   message due at once is stored already claimed for delivery and handed to the lanes);
4. only then the client hears 250 (queued) or 550 5.7.1 naming the rules and the id;
5. for a large message, the other rules' findings, when they come, are added to the message's
   record and its decision-log entry (with a later group commit). They cannot change its
   state. If the relay stops or dies in between, the record keeps only the deciding rules'
   findings; the message itself is never affected.
If the commit fails the client gets 451 and keeps the message: nothing is acknowledged that is
not on disk.

Who may send (this is what keeps it from being an open relay): a MAIL FROM in one of the
organisation's internal domains, or an authenticated session. With `require_auth` every client
must authenticate first; off loopback the relay refuses to start without it (settings.py).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hmac
import logging
import os
import secrets
import signal
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sendguard.errors import SendguardError
from sendguard.guard import Guard
from sendguard.passwords import verify_password
from sendguard.relay import trace
from sendguard.relay.checking import Checked, completed
from sendguard.relay.checkpool import CheckPool
from sendguard.relay.delivery import Delivery
from sendguard.relay.settings import RelaySettings
from sendguard.relay.store import Completion, NewMessage, Store
from sendguard.report import Finding, Severity

log = logging.getLogger("sendguard.relay")

# Replies. Enhanced status codes (RFC 3463): 5.7.1 "delivery not authorized, message refused".
OK = "250 OK"
QUEUED = "250 2.0.0 Ok: queued as {id}"
HELD = "550 5.7.1 Held for review, quarantine id {id}: {rules}"
REJECTED = "550 5.7.1 Refused by sendguard: {rules} (reference {id})"
NOT_STORED = "451 4.3.0 sendguard could not store the message; nothing was sent, please try again"
NOT_CHECKED = "451 4.3.0 sendguard could not check the message; nothing was sent, please try again"
SENDER_DENIED = "550 5.7.1 Relaying denied: {sender} is not in an internal domain; authenticate first"
SENDER_DENIED_NO_AUTH = "550 5.7.1 Relaying denied: only senders in internal domains may use this relay"

# Only these MAIL FROM parameters are passed on upstream; SIZE is recomputed by the upstream.
FORWARDED_OPTIONS = ("BODY=8BITMIME", "SMTPUTF8")
MAX_REPLY = 480  # an SMTP reply line is at most 512 octets


class RelayHandler:
    """aiosmtpd handler: who may send (MAIL), and the check → store → reply path (DATA)."""

    def __init__(
        self,
        guard: Guard,
        settings: RelaySettings,
        check: Callable[[bytes, Sequence[str]], Awaitable[tuple[Checked, Awaitable[list[Finding]] | None]]],
        accept: Callable[[NewMessage], Awaitable[str]],
        complete: Callable[[Completion], Awaitable[None]],
    ) -> None:
        self.guard = guard
        self.settings = settings
        self._check = check
        self._accept = accept
        self._complete = complete
        self._in_flight = 0  # DATA commands being checked and stored right now
        self._finishing: set[asyncio.Task[None]] = set()  # checks completing after their reply

    async def drain(self, timeout: float) -> None:
        """Wait (up to `timeout`) for messages being stored to get their reply, and for their
        checks to be completed in the store, before shutting down."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._in_flight or self._finishing) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if not session.authenticated and not self.guard.org.is_internal_domain(domain):
            log.warning("refused sender %s from %s (not internal, not authenticated)", address, session.peer)
            return SENDER_DENIED.format(sender=address) if self.settings.users else SENDER_DENIED_NO_AUTH
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._in_flight += 1
        stamps = trace.begin(getattr(server, "accepted", None)) if trace.enabled else None
        try:
            return await self._data(session, envelope)
        finally:
            self._in_flight -= 1
            if stamps is not None:
                trace.end(stamps)

    async def _data(self, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            checked, rest = await self._check(raw, envelope.rcpt_tos)
        except Exception:  # noqa: BLE001 - aiosmtpd would answer 500 (permanent); this is temporary
            log.exception("could not check a message from %s", envelope.mail_from)
            return NOT_CHECKED
        state = self.decide(checked)
        item = NewMessage(
            raw=raw,
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            state=state,
            verdict=checked.verdict,
            findings=checked.findings,
            subject=checked.subject,
            mail_options=[o for o in envelope.mail_options if o in FORWARDED_OPTIONS],
            peer=_peer(session),
            undo_seconds=self.settings.undo_seconds if state == "outbox" else 0.0,
        )
        trace.stamp("queued")
        try:
            message_id = await self._accept(item)
        except Exception:  # noqa: BLE001 - the client keeps the message and retries; we log why
            log.exception("could not store a message from %s", envelope.mail_from)
            return NOT_STORED
        if rest is not None:
            task = asyncio.create_task(self._finish_check(message_id, checked, rest))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
        trace.stamp("stored")
        trace.stamp("id", message_id)
        log.info(
            "%s from %s to %d recipient(s): %s → %s %s",
            message_id,
            envelope.mail_from,
            len(envelope.rcpt_tos),
            checked.verdict,
            state,
            ",".join(checked.rules) or "-",
        )
        if state == "outbox":
            undo = self.settings.undo_seconds
            return QUEUED.format(id=message_id) + (f"; it can be recalled for {undo:g} s" if undo else "")
        template = HELD if state == "held" else REJECTED
        return _fit(template, message_id, _named_rules(checked))

    async def _finish_check(self, message_id: str, checked: Checked, rest: Awaitable[list[Finding]]) -> None:
        """Add the findings of the rules that ran after the reply to the stored record."""
        try:
            more = await rest
        except Exception as exc:  # noqa: BLE001 - the message is stored and decided; only notes are missing
            log.warning(
                "%s: the rest of its check was lost (%s); its record keeps the deciding rules",
                message_id,
                exc,
            )
            return
        if not more:
            return
        whole = completed(self.guard, checked, more)
        try:
            await self._complete(Completion(message_id, whole.verdict, whole.findings))
        except Exception:  # noqa: BLE001 - as above: the message is safe, its record lacks these findings
            log.exception("%s: could not add the rest of its check to the store", message_id)
            return
        log.info("%s: also %s", message_id, ",".join(sorted({f.rule for f in more})))

    def decide(self, checked: Checked) -> str:
        """outbox | held | rejected, from the verdict and `[relay] on_warn` / `on_block`."""
        if not checked.readable:
            return "held"
        if checked.verdict == "block":
            return "held" if self.settings.on_block == "hold" else "rejected"
        if checked.verdict == "warn" and self.settings.on_warn == "hold":
            return "held"
        return "outbox"


class _SMTP(SMTP):
    """aiosmtpd's SMTP session without two costs it pays per connection and per command.

    - Its __init__ finds its AUTH and command methods with `dir(self)` and
      `inspect.getmembers(self)`, which read every attribute of the new session (~0.3 ms per
      connection). It only keeps names starting with auth_ or smtp_, so dir() lists just those.
    - Its `_getaddr` (MAIL FROM, RCPT TO) defines a typing.Protocol class, an ABC, on every
      call (~0.1 ms each). Here the same parse, without the class, and remembered: the same
      addresses come back all day.
    """

    accepted: float | None = None  # when the connection came in (only when tracing, trace.py)

    def __dir__(self) -> list[str]:
        return _smtp_names()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if trace.enabled and self.accepted is None:
            self.accepted = time.monotonic()
        super().connection_made(transport)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        addr, rest = _parse_address(arg)
        if addr and self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest


@functools.cache
def _smtp_names() -> list[str]:
    return [name for name in dir(_SMTP) if name.startswith(("auth_", "smtp_"))]


@functools.lru_cache(maxsize=4096)
def _parse_address(arg: str) -> tuple[str | None, str | None]:
    """aiosmtpd's SMTP._getaddr, less its local-part limit: (address, rest), or (None, None)."""
    if not arg:
        return "", ""
    try:
        address, rest = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
    except HeaderParseError:
        return None, None
    return address.addr_spec, rest


def _named_rules(checked: Checked) -> list[str]:
    """The rules that decided the verdict (the blocking ones for block, the warnings for warn)."""
    level = Severity.BLOCK if checked.verdict == "block" else Severity.WARN
    return sorted({f.rule for f in checked.findings if f.severity >= level})


def _fit(template: str, message_id: str, rules: list[str]) -> str:
    """Fill in the reply, dropping rule names past the line limit ("+N more")."""
    for shown in range(len(rules), 0, -1):
        extra = f" +{len(rules) - shown} more" if shown < len(rules) else ""
        reply = template.format(id=message_id, rules=", ".join(rules[:shown]) + extra)
        if len(reply) <= MAX_REPLY:
            return reply
    return template.format(id=message_id, rules=f"{len(rules)} rules")


def _peer(session: Session) -> str:
    """`helo ([ip])` of the client, sanitised for the Received: line."""
    ip = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
    helo = "".join(c for c in (session.host_name or "unknown") if c.isprintable() and c.isascii())[:100]
    return f"{helo} ([{ip}])"


def authenticator(users: dict[str, str]) -> Callable[..., AuthResult]:
    """aiosmtpd authenticator for LOGIN/PLAIN against `[relay.users]` scrypt hashes.

    The hashes are the console's (one `sendguard console hash-password` serves both lists). A
    scrypt check costs ~0.1 s and aiosmtpd calls this on the event loop, so credentials that
    passed are remembered (as a keyed hash, never the password) for the life of the process:
    an application that logs in for every message pays for scrypt once, not every time.
    """
    secret = secrets.token_bytes(32)
    passed: OrderedDict[bytes, None] = OrderedDict()

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        stored = users.get(user)
        if stored is None:
            log.warning("failed AUTH for unknown user %r from %s", user, session.peer)
            return AuthResult(success=False, handled=False)
        key = hmac.new(
            secret, auth_data.login + b"\0" + auth_data.password + b"\0" + stored.encode(), "sha256"
        ).digest()
        if key in passed:
            passed.move_to_end(key)
        elif verify_password(auth_data.password.decode("utf-8", "replace"), stored):
            passed[key] = None
            if len(passed) > 1024:
                passed.popitem(last=False)
        else:
            log.warning("failed AUTH for %r from %s", user, session.peer)
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=user)

    return check


async def serve(guard: Guard, settings: RelaySettings, store: Store, checker: CheckPool) -> None:
    """Run the relay until SIGTERM/SIGINT, then shut down without losing anything."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db_executor = ThreadPoolExecutor(4, thread_name_prefix="sendguard-db")
    try:
        await checker.ready()
        await _serve(guard, settings, store, checker, db_executor, stop)
    finally:
        db_executor.shutdown(wait=True)
        trace.close()


async def _serve(
    guard: Guard,
    settings: RelaySettings,
    store: Store,
    checker: CheckPool,
    db_executor: ThreadPoolExecutor,
    stop: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    # The node name is unique among live relays: one address cannot be bound twice.
    node = f"{settings.hostname}:{settings.listen_host}:{settings.listen_port}"
    delivery = Delivery(store, settings, node, db_executor)
    handler = RelayHandler(guard, settings, checker.check, delivery.accept, delivery.complete)
    smtp_options: dict[str, Any] = {
        "hostname": settings.hostname,
        "ident": "sendguard relay",
        "data_size_limit": guard.max_bytes,
        "enable_SMTPUTF8": True,
        "tls_context": settings.tls_context(),
        "auth_required": settings.require_auth,
        "auth_require_tls": True,
    }
    if settings.users:
        smtp_options["authenticator"] = authenticator(settings.users)
    else:
        smtp_options["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]  # no users: do not offer AUTH
    try:
        server = await loop.create_server(
            lambda: _SMTP(handler, loop=loop, **smtp_options), settings.listen_host, settings.listen_port
        )
    except OSError as exc:
        raise SendguardError(
            f"cannot listen on {settings.listen_host}:{settings.listen_port}: "
            + (os.strerror(exc.errno) if exc.errno else str(exc))
        ) from None
    # Bound, so no other live relay has this node name: its claims are leftovers of a crash.
    recovered = await loop.run_in_executor(db_executor, store.recover, node)
    if recovered:
        log.warning(
            "%d message(s) were being handed upstream when this relay last stopped: sending again", recovered
        )
    delivery.start()
    if trace.enabled:
        trace.watch_gc()
    gc.freeze()  # what start-up loaded (guard, org, libraries) stays: full collections skip it
    log.info(
        "sendguard relay listening on %s:%d, upstream %s:%d, store %s, %d check worker(s)",
        settings.listen_host,
        settings.listen_port,
        settings.upstream.host,
        settings.upstream.port,
        store.display_url,
        settings.check_workers,
    )
    try:
        await stop.wait()
    finally:
        log.info("stopping: no new connections, finishing deliveries in hand")
        server.close()
        await handler.drain(timeout=5.0)
        await delivery.stop()
        log.info("stopped")

"""Hand queued mail to the upstream server: claim, send, record, retry with backoff.

One dispatcher claims due messages from the store (a lease in this relay's name) and feeds
`upstream_connections` lanes; each lane keeps one SMTP session open and sends message after
message on it, so a busy relay does not pay a connect/EHLO/STARTTLS/AUTH per message. A message
accepted here and due at once skips the dispatcher: it is stored already claimed and handed to
the lanes right after its commit (batch.py), as long as they have room.

What happens to a message after an attempt (see `Outcome`):
- accepted by the upstream for every recipient → delivered;
- upstream unreachable, slow, or a 4xx reply → back to the outbox, retried after
  retry_base_seconds · 2^(attempts-1) (capped at retry_max_seconds), for as long as it takes:
  the relay never gives up on accepted mail by itself;
- a 5xx reply (refused for good) → held, with the reply, for a person to decide;
- some recipients refused → the message stays owed to those only (the others have it).

A send is the only step that can duplicate a message: if the relay dies after the upstream
took the DATA but before the store recorded it, the restarted relay sends it again
(at-least-once, as every MTA).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import Executor
from email.utils import formatdate

import aiosmtplib

from sendguard.relay.batch import Writer
from sendguard.relay.settings import RelaySettings
from sendguard.relay.store import Completion, NewMessage, Outcome, Outgoing, Store

log = logging.getLogger("sendguard.relay")

IDLE_CLOSE_SECONDS = 5.0  # an upstream session unused this long is closed (servers drop idle ones anyway)
QUEUED_PER_LANE = 2  # claimed messages waiting in memory for a lane, at most, per lane


class TemporaryFailure(Exception):
    """Try again later: the upstream could not take the message now."""


class PermanentFailure(Exception):
    """The upstream refused the message for good; a person has to look at it."""


class Delivery:
    """The delivery side of one relay process (`node`)."""

    def __init__(self, store: Store, settings: RelaySettings, node: str, executor: Executor) -> None:
        self.store = store
        self.settings = settings
        self.upstream = settings.upstream
        self.node = node
        self._executor = executor
        self._tls = self.upstream.tls_context()
        self._queue: asyncio.Queue[Outgoing | None] = asyncio.Queue()
        self._nudge = asyncio.Event()
        # False once a claim found nothing more due and nothing was queued since: a lane that
        # goes idle then has no reason to wake the dispatcher (an empty claim costs a write
        # transaction). wake(), a full claim, or a failed one set it again.
        self._more = True
        self._idle_lanes = 0
        self.writer = Writer(
            store, node, executor, settings.lease_seconds, self._room, self._hand_off, self.wake
        )
        self._finish: Callable[[Outcome], object] = self.writer.finish
        self._dispatcher: asyncio.Task[None] | None = None
        self._lanes: list[asyncio.Task[None]] = []
        self._stopping = False
        # A delivery is abandoned well before its lease ends, so no other relay can take the
        # message over while this one may still be sending it.
        self._deadline = settings.lease_seconds / 2

    async def accept(self, item: NewMessage) -> str:
        """Store a new message durably (group commit); returns its id. Delivery follows on its own."""
        return await self.writer.add(item)

    async def complete(self, completion: Completion) -> None:
        """Record a message's whole check, once the rules left after the reply are done."""
        await self.writer.complete(completion)

    def _room(self) -> int:
        """How many messages stored as claimed the lanes can take now (see batch.py)."""
        if self._stopping:
            return 0
        return self.upstream.connections * QUEUED_PER_LANE - self._queue.qsize()

    def _hand_off(self, batch: list[Outgoing]) -> None:
        for message in batch:
            self._queue.put_nowait(message)

    def wake(self) -> None:
        """Something may be due now (a message was queued): look without waiting for the poll."""
        self._more = True
        self._nudge.set()

    def start(self) -> None:
        self._lanes = [asyncio.create_task(self._lane()) for _ in range(self.upstream.connections)]
        self._dispatcher = asyncio.create_task(self._dispatch())

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let lanes finish the message in hand (up to `grace`), give back the rest."""
        # Not cancelled: a claim already running in a database thread would still commit, and
        # the recover() below must come after it.
        self._stopping = True
        self._nudge.set()
        if self._dispatcher is not None:
            await self._dispatcher
        while not self._queue.empty():
            self._queue.get_nowait()  # claimed but not started: returned to the outbox below
        for _ in self._lanes:
            self._queue.put_nowait(None)
        _, late = await asyncio.wait(self._lanes, timeout=grace) if self._lanes else (set(), set())
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
        returned = await asyncio.get_running_loop().run_in_executor(
            self._executor, self.store.recover, self.node
        )
        if returned:
            log.info("returned %d claimed message(s) to the outbox", returned)

    # -- claiming ----------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._nudge.clear()
            wanted = self._idle_lanes - self._queue.qsize()
            wait = self.settings.poll_seconds
            if wanted > 0:
                self._more = False  # a wake() from here on sets it again
                try:
                    batch, due = await loop.run_in_executor(
                        self._executor, self.store.claim_due, self.node, wanted, self.settings.lease_seconds
                    )
                    self._hand_off(batch)
                    if len(batch) >= wanted:
                        self._more = True
                    elif due is not None:
                        # Drained: sleep until the next message is due (undo window, backoff),
                        # a local accept nudges us, or the poll interval passes (other processes).
                        wait = min(wait, max(due - time.time(), 0.005))
                except Exception:  # noqa: BLE001 - a database hiccup must not stop delivery for good
                    self._more = True
                    log.exception("could not claim messages from %s; retrying", self.store.display_url)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), timeout=wait)

    # -- sending -----------------------------------------------------------------------------

    async def _lane(self) -> None:
        lane = _Session()
        try:
            while True:
                self._idle_lanes += 1
                if self._more or self._stopping:
                    self._nudge.set()
                try:
                    message = await asyncio.wait_for(self._queue.get(), timeout=IDLE_CLOSE_SECONDS)
                except TimeoutError:
                    await lane.close()
                    continue
                finally:
                    self._idle_lanes -= 1
                if message is None:
                    return
                outcome = await self._attempt(lane, message)
                if outcome.kind == "defer":
                    self._more = True  # it is due again later: the dispatcher's next wait must know
                try:
                    await self._finish(outcome)
                except Exception:  # noqa: BLE001 - the lease runs out and the message is retried
                    log.exception("could not record the delivery of %s", message.id)
        finally:
            await lane.close()

    async def _attempt(self, lane: _Session, message: Outgoing) -> Outcome:
        started = time.monotonic()
        # Done with it half a lease before the lease ends at the latest, however long it waited
        # for this lane: no other relay can take it over while it may still be in flight.
        deadline = min(self._deadline, message.lease_until - time.time() - self._deadline)
        if deadline < min(self._deadline, self.upstream.timeout):
            log.warning("%s waited too long for an upstream session; back to the outbox", message.id)
            return Outcome(message.id, "defer", error="waited too long for an upstream session")
        try:
            async with asyncio.timeout(deadline):
                refused = await self._send(lane, message)
        except PermanentFailure as exc:
            await lane.close()
            log.warning("upstream refused %s for good, holding it: %s", message.id, exc)
            return Outcome(message.id, "bounce", error=f"upstream refused: {exc}")
        except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
            # An address the upstream cannot take (non-ASCII without SMTPUTF8, malformed):
            # retrying will not help, a person has to look at it.
            await lane.close()
            log.warning("cannot send %s upstream, holding it: %s", message.id, exc)
            return Outcome(message.id, "bounce", error=f"cannot be sent upstream: {exc}")
        except Exception as exc:  # noqa: BLE001 - down, slow, or a surprise: retry later, keep the lane alive
            await lane.close()
            if not isinstance(exc, (TemporaryFailure, aiosmtplib.SMTPException, OSError, TimeoutError)):
                log.exception("unexpected error delivering %s", message.id)
            reason = _describe(exc)
            retry_at = self._retry_at(message.attempts)
            log.warning(
                "could not deliver %s (attempt %d): %s; retrying in %.0fs",
                message.id,
                message.attempts,
                reason,
                retry_at - time.time(),
            )
            return Outcome(message.id, "defer", error=reason, retry_at=retry_at)
        if not refused:
            log.info("delivered %s in %.0f ms", message.id, (time.monotonic() - started) * 1000)
            return Outcome(message.id, "delivered")
        # Some recipients have it, the others were refused: the message is owed to those only.
        summary = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in refused.items())
        if all(code < 500 for code, _ in refused.values()):
            retry_at = self._retry_at(message.attempts)
            error = f"recipients refused for now: {summary}"
            return Outcome(message.id, "defer", error=error, retry_at=retry_at, rcpt_tos=list(refused))
        log.warning("upstream refused recipients of %s for good, holding it: %s", message.id, summary)
        return Outcome(message.id, "bounce", error=f"recipients refused: {summary}", rcpt_tos=list(refused))

    async def _send(self, lane: _Session, message: Outgoing) -> dict[str, tuple[int, str]]:
        """One mail transaction on the lane's session; returns the recipients refused."""
        if lane.smtp is not None and lane.smtp.is_connected:
            try:
                await self._mail_from(lane.smtp, message)
            except aiosmtplib.SMTPServerDisconnected:
                # The server dropped our idle session. Nothing of this message was sent, so a
                # new session cannot duplicate it.
                await lane.close()
        else:
            await lane.close()
        if lane.smtp is None:
            lane.smtp = await self._connect()
            await self._mail_from(lane.smtp, message)
        smtp = lane.smtp
        refused: dict[str, tuple[int, str]] = {}
        for rcpt in message.rcpt_tos:
            try:
                await smtp.rcpt(rcpt, encoding=_encoding(message))
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[rcpt] = (exc.code, exc.message)
        if len(refused) == len(message.rcpt_tos):
            await smtp.rset()
            text = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in refused.items())
            if min(code for code, _ in refused.values()) >= 500:
                raise PermanentFailure(text)
            raise TemporaryFailure(text)
        try:
            await smtp.data(self._with_trace(message))
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:
                raise PermanentFailure(f"DATA: {exc.code} {exc.message}") from None
            raise
        return refused

    async def _connect(self) -> aiosmtplib.SMTP:
        up = self.upstream
        smtp = aiosmtplib.SMTP(
            hostname=up.host,
            port=up.port,
            timeout=up.timeout,
            use_tls=up.security == "tls",
            start_tls=up.security == "starttls",
            tls_context=self._tls,
            local_hostname=self.settings.hostname,
        )
        await smtp.connect()
        if up.user is not None:
            try:
                await smtp.login(up.user, up.password or "")
            except aiosmtplib.SMTPAuthenticationError as exc:
                # Our credentials are wrong, not the message: retry (and say so in the log).
                smtp.close()
                raise TemporaryFailure(
                    f"upstream AUTH as {up.user!r} failed: {exc.code} {exc.message}"
                ) from None
        return smtp

    async def _mail_from(self, smtp: aiosmtplib.SMTP, message: Outgoing) -> None:
        options = []
        for option in message.mail_options:
            if option == "SMTPUTF8":
                if not smtp.supports_extension("smtputf8"):
                    raise PermanentFailure(
                        "the message needs SMTPUTF8, which the upstream server does not offer"
                    )
                options.append(option)
            elif option.startswith("BODY=") and smtp.supports_extension("8bitmime"):
                options.append(option)
        try:
            await smtp.mail(message.mail_from, options=options, encoding=_encoding(message))
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code >= 500:
                raise PermanentFailure(f"MAIL FROM: {exc.code} {exc.message}") from None
            raise

    def _with_trace(self, message: Outgoing) -> bytes:
        """The message with this hop's Received: line on top (RFC 5321 §4.4); the rest is untouched."""
        received = (
            f"Received: from {message.peer or 'unknown'}\r\n\tby {self.settings.hostname} (sendguard) "
            f"with ESMTP id {message.id};\r\n\t{formatdate(message.created, localtime=True)}\r\n"
        )
        return received.encode("ascii", "replace") + message.raw

    def _retry_at(self, attempts: int) -> float:
        s = self.settings
        delay = min(s.retry_base_seconds * 2 ** max(attempts - 1, 0), s.retry_max_seconds)
        # ±10% jitter, so messages deferred together (an outage) do not all come back at once.
        return time.time() + delay * random.uniform(0.9, 1.1)


def _encoding(message: Outgoing) -> str:
    return "utf-8" if "SMTPUTF8" in message.mail_options else "ascii"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out"
    return str(exc) or type(exc).__name__


class _Session:
    """A lane's upstream session, kept between messages; closed after any failure."""

    def __init__(self) -> None:
        self.smtp: aiosmtplib.SMTP | None = None

    async def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await asyncio.wait_for(smtp.quit(), timeout=2)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()

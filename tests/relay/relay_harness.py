"""Real processes on loopback for the relay tests: an upstream SMTP sink, relay subprocesses, a client.

    client (smtplib) ──► sendguard relay (subprocess) ──► Sink (aiosmtpd in this process)

The sink records every message it accepts; it can be stopped and started again on the same port
(an upstream outage), answer slowly, or refuse recipients. Relays are real `sendguard relay`
processes, so a test can SIGKILL one in the middle of its work.
"""

from __future__ import annotations

import email
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sendguard.relay.store import Store
from support import EXAMPLE_MESSAGES, EXAMPLE_ORG

SENDGUARD = Path(sys.executable).with_name("sendguard")
SENDER = "sam.carter@revcalc.io"
CUSTOMER = "peter.jones@acme.com"
OTHER_CUSTOMER = "julia.meyer@northwind-telecom.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example(name: str) -> bytes:
    """An example message as it travels over SMTP: CRLF line endings."""
    return (EXAMPLE_MESSAGES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def relay_config(tmp_path: Path, store_url: str, **relay: Any) -> Path:
    """A copy of the example org with a [relay] table (store + `relay` keys); returns the config path."""
    target = tmp_path / "org"
    shutil.copytree(EXAMPLE_ORG, target, dirs_exist_ok=True)
    config = target / "sendguard.toml"
    base = (EXAMPLE_ORG / "sendguard.toml").read_text()
    table = {"store": store_url, **relay}
    config.write_text(base + "\n[relay]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items()))
    return config


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def numbered(seq: int, *, bad: bool = False, run: str = "t") -> bytes:
    """A small message carrying its sequence number; `bad` ones are caught by test-marker."""
    subject = f"[TEST] Invoice question {seq}" if bad else f"Invoice question {seq}"
    body = "Hi Peter,\r\n\r\nHere is the answer to your question.\r\n\r\nBest,\r\nSam\r\n"
    return (
        f"From: Sam Carter <{SENDER}>\r\nTo: Peter Jones <{CUSTOMER}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{run}-{seq}@revcalc.io>\r\nX-Test-Seq: {seq}\r\n\r\n{body}"
    ).encode()


def seq_of(raw: bytes) -> int | None:
    value = email.message_from_bytes(raw, policy=policy.compat32)["X-Test-Seq"]
    return int(value) if value is not None else None


def body_of(raw: bytes) -> bytes:
    """Everything after the header block."""
    return raw.split(b"\r\n\r\n", 1)[1]


@dataclass
class Arrival:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    at: float


class _SinkHandler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.sink.refuse:
            return self.sink.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            self.sink.arrivals.append(
                Arrival(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, time.time())
            )
        return "250 2.0.0 Ok: sunk"


@dataclass
class Sink:
    """The upstream server: an aiosmtpd Controller that records what it accepts."""

    port: int = field(default_factory=free_port)
    delay: float = 0.0
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply, e.g. "550 5.1.1 no such user"
    tls_context: ssl.SSLContext | None = None
    users: dict[str, str] | None = None  # plain passwords: this is the test's own upstream
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> Sink:
        options: dict[str, Any] = {}
        if self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        if self.users is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(_SinkHandler(self), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok)

    def seqs(self) -> list[int]:
        with self.lock:
            return [s for a in self.arrivals if (s := seq_of(a.content)) is not None]

    def wait_for(self, predicate: Callable[[Sink], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)


class RelayProcess:
    """`sendguard relay` as a subprocess on a free loopback port; its log goes to a file."""

    def __init__(
        self, config: Path, upstream_port: int, port: int | None = None, env: dict[str, str] | None = None
    ):
        self.config = config
        self.upstream_port = upstream_port
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.log = config.parent / f"relay-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> RelayProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(SENDGUARD), "relay", "--config", str(self.config), "--listen", f"127.0.0.1:{self.port}",
                 "--upstream", f"127.0.0.1:{self.upstream_port}", "--log-level", "info"],
                stdout=log, stderr=subprocess.STDOUT, env=self.env,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"relay exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"relay did not listen within {timeout}s:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash. Its guard workers must then exit by themselves."""
        assert self.proc is not None
        children = self.children()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        deadline = time.monotonic() + 10
        while (
            alive := [pid for pid in children if Path(f"/proc/{pid}").exists()]
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive, f"processes of the killed relay still running: {alive}"

    def children(self) -> list[int]:
        """Process ids whose parent is the relay (its guard workers)."""
        assert self.proc is not None
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"relay did not stop on SIGTERM:\n{self.log_text()}") from None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Reply:
    code: int
    text: str


def submit(
    port: int, raw: bytes, rcpts: Iterable[str] | None = None, sender: str = SENDER, *, timeout: float = 10.0
) -> Reply:
    """One SMTP transaction; returns the final reply (250 or the refusal) instead of raising on 5xx.

    The envelope recipients default to the message's To/Cc/Bcc, as a mail client would send it.
    """
    if rcpts is None:
        headers = email.message_from_bytes(raw, policy=policy.compat32)
        fields = [v for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])]
        rcpts = [addr for _, addr in getaddresses(fields)] or [CUSTOMER]
    with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as client:
        return _send(client, raw, list(rcpts), sender)


def _send(client: smtplib.SMTP, raw: bytes, rcpts: list[str], sender: str) -> Reply:
    client.ehlo("client.test")
    code, text = client.mail(sender)
    if code != 250:
        return Reply(code, text.decode())
    accepted = 0
    for rcpt in rcpts:
        code, text = client.rcpt(rcpt)
        if code in (250, 251):
            accepted += 1
        else:
            last = Reply(code, text.decode())
    if not accepted:
        return last
    code, text = client.data(raw)
    return Reply(code, text.decode())


def held_seqs(store: Store) -> list[int]:
    return [s for m in store.list("held", limit=100000) if (s := seq_of(store.get(m.id).raw)) is not None]

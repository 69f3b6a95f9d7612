"""Real processes on loopback for the end-to-end console test: the relay, the console, an SMTP sink."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sendguard_process(args: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `sendguard ARGS` until the block ends; wait until it listens on `port`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sendguard.cli", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"sendguard {args[0]} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"sendguard {args[0]} not listening:\n{log.read_text()}") from None
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


class Sink:
    """The upstream server: an aiosmtpd server that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._arrived = threading.Condition()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return self.controller.port

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._arrived:
            self.messages.append(
                Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(envelope.content or b""))
            )
            self._arrived.notify_all()
        return "250 2.0.0 OK sink"

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)


@contextmanager
def running_sink() -> Iterator[Sink]:
    sink = Sink()
    sink.controller.start()
    try:
        yield sink
    finally:
        sink.controller.stop()

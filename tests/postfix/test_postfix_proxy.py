"""A real Postfix with the sendguard relay as its before-queue proxy filter (smtpd_proxy_filter).

    smtplib client --> Postfix smtpd (submission port) ==proxy==> `sendguard relay`
    `sendguard relay` --> Postfix smtpd (reinjection port) --> Postfix queue --> aiosmtpd sink

Because the filter is in the SMTP conversation, the client hears the relay's own replies: the
queue id for clean mail, and `550 5.7.1 Held for review, quarantine id ...` for bad mail.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from postfix_harness import Postfix, postfix_missing
from processes import Sink, free_port, running_sink, sendguard_process

from sendguard.config import Config
from sendguard.relay.store import Store
from support import EXAMPLE_MESSAGES, example_guard

pytestmark = pytest.mark.skipif(postfix_missing() is not None, reason=postfix_missing() or "")

SENDER = "dana.whitfield@revcalc.io"


@dataclass
class MailPath:
    sink: Sink
    postfix: Postfix
    store: Store


@pytest.fixture(scope="module")
def mail_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailPath]:
    tmp = tmp_path_factory.mktemp("postfix")
    # poll_seconds: how soon the relay sees a release made by another process (this test).
    config_path = example_guard(
        tmp, extra_toml='[relay]\npoll_seconds = 0.2\nhostname = "relay.test"\n'
    ).config.path
    relay_port, reinject_port = free_port(), free_port()
    with running_sink() as sink:
        postfix = Postfix(
            submit_port=free_port(),
            proxy_filter_port=relay_port,
            reinject_port=reinject_port,
            relayhost_port=sink.port,
        )
        relay_args = ["relay", "--config", str(config_path), "--listen", f"127.0.0.1:{relay_port}"]
        try:
            postfix.start()
            with sendguard_process(
                [*relay_args, "--upstream", f"127.0.0.1:{reinject_port}"], relay_port, tmp / "relay.log"
            ):
                store = Store.from_config(Config.load(config_path))
                try:
                    yield MailPath(sink, postfix, store)
                finally:
                    store.close()
        finally:
            postfix.stop()


def submit(postfix: Postfix, raw: bytes, rcpts: list[str]) -> tuple[int, str]:
    """One message through Postfix's submission port; the reply to the end of DATA."""
    with smtplib.SMTP("127.0.0.1", postfix.submit_port, timeout=60) as client:
        client.ehlo("client.test")
        assert client.mail(SENDER)[0] == 250
        for rcpt in rcpts:
            assert client.rcpt(rcpt)[0] == 250
        code, text = client.data(raw)
    return code, text.decode()


def crlf(name: str) -> bytes:
    return (EXAMPLE_MESSAGES / name).read_bytes().replace(b"\n", b"\r\n")


def body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


def test_clean_mail_goes_through_the_relay_and_postfix_to_the_sink(mail_path: MailPath) -> None:
    raw = crlf("01-good-reply-with-attachment.eml")
    before = len(mail_path.sink.messages)
    code, text = submit(mail_path.postfix, raw, ["peter.jones@acme.com"])
    assert code == 250, text
    # Postfix says "queued as" too: the id must be one the relay's store knows.
    relay_id = text.removeprefix("2.0.0 Ok: queued as ")
    assert mail_path.store.get(relay_id).mail_from == SENDER, text
    arrived = mail_path.sink.wait_for(before + 1, timeout=30)
    assert len(arrived) == before + 1, f"clean mail never reached the sink\n{mail_path.postfix.log()}"
    got = arrived[-1]
    assert got.mail_from == SENDER and got.rcpt_tos == ("peter.jones@acme.com",)
    assert body(got.content) == body(raw)  # attachment and all, byte for byte
    head = got.content.split(b"\r\n\r\n", 1)[0]
    assert b"by relay.test (sendguard)" in head  # it went through the relay
    assert head.count(b"(Postfix)") >= 2  # ...between Postfix's submission and reinjection smtpd


def test_bad_mail_is_refused_with_the_relays_550_text_and_held(mail_path: MailPath) -> None:
    raw = crlf("02-bad-cc-other-customer.eml")
    rcpts = ["peter.jones@acme.com", "julia.meyer@northwind-telecom.com"]
    before = len(mail_path.sink.messages)
    code, text = submit(mail_path.postfix, raw, rcpts)
    assert code == 550, text
    assert text.startswith("5.7.1 Held for review, quarantine id "), text
    assert text.endswith(": cross-account-recipients"), text
    quarantine_id = text.removeprefix("5.7.1 Held for review, quarantine id ").split(":", 1)[0]
    assert f"proxy-reject: END-OF-MESSAGE: 550 5.7.1 Held for review, quarantine id {quarantine_id}" in (
        mail_path.postfix.log()
    )
    held = mail_path.store.get(quarantine_id)
    assert held.state == "held" and held.rules == ("cross-account-recipients",)
    assert sorted(held.rcpt_tos) == sorted(rcpts)

    # Nothing left: the sink still has only what it had (Postfix's queue flushes in well under 1 s).
    assert len(mail_path.sink.wait_for(before + 1, timeout=1.5)) == before

    # A reviewer releases it: the relay sends it on through Postfix to the sink.
    mail_path.store.release(quarantine_id, "reviewer", note="customer asked for both")
    arrived = mail_path.sink.wait_for(before + 1, timeout=30)
    assert len(arrived) == before + 1, f"released mail never arrived\n{mail_path.postfix.log()}"
    assert sorted(arrived[-1].rcpt_tos) == sorted(rcpts)
    assert body(arrived[-1].content) == body(raw)

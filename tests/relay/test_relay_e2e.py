"""End to end on loopback: smtplib client → `sendguard relay` process → aiosmtpd sink."""

from __future__ import annotations

import re
import smtplib
import ssl
import time
from pathlib import Path

import pytest
from relay_harness import (
    CUSTOMER,
    OTHER_CUSTOMER,
    SENDER,
    RelayProcess,
    Sink,
    body_of,
    example,
    relay_config,
    submit,
)

import sendguard
from sendguard.cli import main
from sendguard.passwords import hash_password
from sendguard.relay import checkpool
from sendguard.relay.checking import check_raw
from sendguard.relay.store import NewMessage, Store
from support import EXAMPLE_CONFIG

pytestmark = pytest.mark.timeout(90)

FAST = {"retry_base_seconds": 0.2, "retry_max_seconds": 1.0, "poll_seconds": 0.2, "upstream_timeout": 5, "lease_seconds": 20}  # fmt: skip
LANES = 2
QUEUED = re.compile(r"2\.0\.0 Ok: queued as ([0-9A-Z]{12})")
HELD = re.compile(r"5\.7\.1 Held for review, quarantine id ([0-9A-Z]{12}): (.+)")


@pytest.fixture
def sink() -> Sink:
    s = Sink().start()
    yield s
    s.stop()


def start_relay(tmp_path: Path, store_url: str, sink: Sink, **relay: object) -> tuple[RelayProcess, Path]:
    config = relay_config(tmp_path, store_url, **{**FAST, **relay})
    return RelayProcess(config, sink.port).start(), config


def test_clean_mail_arrives_intact_bad_mail_is_held_then_released(
    tmp_path: Path, store_url: str, sink: Sink, capsys: pytest.CaptureFixture[str]
) -> None:
    relay, config = start_relay(tmp_path, store_url, sink)
    try:
        clean = example("01-good-reply-with-attachment.eml")
        reply = submit(relay.port, clean, [CUSTOMER, "anna.berg@acme.com"])
        assert reply.code == 250 and QUEUED.search(reply.text), reply
        sink.wait_for(lambda s: len(s.arrivals) == 1, 30, "the clean message upstream")
        arrived = sink.arrivals[0]
        assert arrived.rcpt_tos == [CUSTOMER, "anna.berg@acme.com"]
        assert body_of(arrived.content) == body_of(clean)  # byte-identical body
        # Our trace line on top (RFC 5321 4.4), then the message exactly as the client sent it.
        received, original = arrived.content.split(b"\r\n", 3)[:3], arrived.content.split(b"\r\n", 3)[3]
        assert received[0] == b"Received: from client.test ([127.0.0.1])"
        assert original == clean

        bad = example("02-bad-cc-other-customer.eml")
        reply = submit(relay.port, bad, [CUSTOMER, OTHER_CUSTOMER])
        held = HELD.search(reply.text)
        assert reply.code == 550 and held, reply
        quarantine_id, rules = held.groups()
        assert rules == "cross-account-recipients"
        time.sleep(0.6)  # a few delivery polls: nothing may go out
        assert len(sink.arrivals) == 1

        assert main(["queue", "show", quarantine_id, "--config", str(config)]) == 0
        shown = capsys.readouterr().out
        assert "cross-account-recipients" in shown and "julia.meyer@northwind-telecom.com" in shown
        assert main(["queue", "release", quarantine_id, "--config", str(config)]) == 0
        sink.wait_for(lambda s: len(s.arrivals) == 2, 30, "the released message upstream")
        assert body_of(sink.arrivals[1].content) == body_of(bad)
    finally:
        assert relay.stop() == 0, relay.log_text()


def large(raw: bytes) -> bytes:
    """`raw` with ~9 KB of plain report text after its body: big enough for the relay to check
    its non-deciding rules after the reply (checkpool.DEFER_FROM_BYTES)."""
    line = b"Our incident review covers the timeline, the cause and the changes we are making.\r\n"
    return raw.rstrip(b"\r\n") + b"\r\n\r\n" + line * 110


def test_rules_that_cannot_change_the_reply_complete_the_record_after_it(
    tmp_path: Path, store_url: str, sink: Sink
) -> None:
    """For a large message the reply waits only for the deciding rules; the record ends up as
    the whole check."""
    guard = sendguard.load(EXAMPLE_CONFIG)
    relay, _ = start_relay(tmp_path, store_url, sink)
    store = Store(store_url)
    try:
        spelling = large(example("12-warn-spelling.eml"))  # warnings only: forwarded (on_warn = forward)
        assert len(spelling) >= checkpool.DEFER_FROM_BYTES
        reply = submit(relay.port, spelling)  # to its To: one customer
        assert reply.code == 250, reply
        forwarded = QUEUED.search(reply.text).group(1)
        hostile = large(example("07-warn-hostile-reply.eml"))  # to another customer, and hostile
        reply = submit(relay.port, hostile, [CUSTOMER])
        assert reply.code == 550 and HELD.search(reply.text).group(2) == "cross-account-recipients", reply
        held = HELD.search(reply.text).group(1)
        sink.wait_for(lambda s: len(s.arrivals) == 1, 30, "the message with spelling warnings")

        for message_id, raw, rcpts, rules in (
            (forwarded, spelling, ["bill.lumbergh@initech.com"], ("spelling",)),
            (held, hostile, [CUSTOMER], ("cross-account-recipients", "hostile-tone")),
        ):
            whole = check_raw(guard, raw, rcpts)
            deadline = time.time() + 30
            while store.get(message_id).findings != whole.findings:
                assert time.time() < deadline, f"{message_id}: {store.get(message_id).rules}, not {rules}"
                time.sleep(0.05)
            got = store.get(message_id)
            assert (got.verdict, got.rules) == (whole.verdict, rules)
            [arrival] = store.decisions(message_id=message_id)
            assert (arrival.verdict, arrival.rules) == (whole.verdict, rules)
        assert store.get(forwarded).state in ("delivering", "delivered")  # the warnings did not stop it
        assert store.get(held).state == "held"
    finally:
        store.close()
        assert relay.stop() == 0, relay.log_text()


def test_recalled_mail_never_arrives(tmp_path: Path, sink: Sink) -> None:
    relay, config = start_relay(tmp_path, "sqlite:///" + str(tmp_path / "q.db"), sink, undo_seconds=1.5)
    try:
        sent_at = time.time()
        reply = submit(relay.port, example("01-good-reply-with-attachment.eml"))
        assert reply.text.endswith("; it can be recalled for 1.5 s"), reply
        keep = QUEUED.search(reply.text).group(1)
        recall = QUEUED.search(submit(relay.port, example("05-good-balance-with-credit.eml")).text).group(1)
        assert main(["queue", "recall", recall, "--config", str(config)]) == 0
        sink.wait_for(lambda s: len(s.arrivals) == 1, 30, "the message that was not recalled")
        assert sink.arrivals[0].at - sent_at >= 1.5  # it waited out its undo window
        time.sleep(1.0)  # well past the recalled one's window, several polls
        assert len(sink.arrivals) == 1 and b"Balance" not in sink.arrivals[0].content
        store = Store("sqlite:///" + str(tmp_path / "q.db"))
        assert (store.get(keep).state, store.get(recall).state) == ("delivered", "recalled")
        assert main(["queue", "recall", keep, "--config", str(config)]) == 2  # too late: it has left
        store.close()
    finally:
        relay.stop()


def test_warn_hold_and_block_reject_policies(
    tmp_path: Path, sink: Sink, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "sqlite:///" + str(tmp_path / "q.db")
    relay, config = start_relay(tmp_path, url, sink, on_warn="hold", on_block="reject")
    try:
        warn = submit(relay.port, example("06-warn-missing-attachment.eml"))
        assert warn.code == 550 and HELD.search(warn.text).group(2) == "missing-attachment", warn
        block = submit(relay.port, example("03-bad-test-campaign.eml"))
        refused = re.search(r"5\.7\.1 Refused by sendguard: (.+) \(reference ([0-9A-Z]{12})\)", block.text)
        assert block.code == 550 and refused, block
        assert "test-marker" in refused.group(1)
        store = Store(url)
        assert store.get(refused.group(2)).state == "rejected"  # kept for the record
        store.close()
        assert main(["queue", "release", refused.group(2), "--config", str(config)]) == 2
        assert "it is rejected, not held" in capsys.readouterr().err
        time.sleep(0.5)
        assert sink.arrivals == []
    finally:
        relay.stop()


def test_no_open_relay_unreadable_held_envelope_checked(tmp_path: Path, sink: Sink) -> None:
    url = "sqlite:///" + str(tmp_path / "q.db")
    relay, _ = start_relay(tmp_path, url, sink)
    try:
        outsider = submit(
            relay.port, example("01-good-reply-with-attachment.eml"), sender="someone@gmail.com"
        )
        assert outsider.code == 550 and "5.7.1 Relaying denied" in outsider.text
        garbage = submit(relay.port, b"\x00\x01 this is not a message\r\n")
        assert garbage.code == 550 and HELD.search(garbage.text).group(2) == "unreadable-message"
        # Addressed to another customer on the envelope only (a Bcc): checked all the same.
        sneaky = submit(relay.port, example("01-good-reply-with-attachment.eml"), [CUSTOMER, OTHER_CUSTOMER])
        assert sneaky.code == 550 and HELD.search(sneaky.text).group(2) == "cross-account-recipients"
        store = Store(url)
        held = store.list("held")
        assert len(held) == 2 and all(store.get(m.id).raw for m in held)  # never dropped
        store.close()
        time.sleep(0.5)
        assert sink.arrivals == []
    finally:
        relay.stop()


def test_upstream_refusals_retry_or_hold(tmp_path: Path, sink: Sink) -> None:
    url = "sqlite:///" + str(tmp_path / "q.db")
    sink.refuse = {
        "anna.berg@acme.com": "450 4.2.1 mailbox busy",
        "nobody@acme.com": "550 5.1.1 no such user",
    }
    relay, _ = start_relay(tmp_path, url, sink, upstream_connections=LANES)
    store = Store(url)
    try:
        partly = QUEUED.search(
            submit(
                relay.port, example("01-good-reply-with-attachment.eml"), [CUSTOMER, "anna.berg@acme.com"]
            ).text
        ).group(1)
        sink.wait_for(lambda s: len(s.arrivals) == 1, 30, "delivery to the recipient that was accepted")
        assert sink.arrivals[0].rcpt_tos == [CUSTOMER]
        deferred = store.get(partly)
        assert deferred.state in ("outbox", "delivering") and deferred.rcpt_tos == ("anna.berg@acme.com",)
        sink.refuse.pop("anna.berg@acme.com")
        sink.wait_for(lambda s: len(s.arrivals) == 2, 30, "the retry to the busy mailbox")
        assert sink.arrivals[1].rcpt_tos == ["anna.berg@acme.com"]

        refused = QUEUED.search(
            submit(relay.port, example("01-good-reply-with-attachment.eml"), ["nobody@acme.com"]).text
        ).group(1)
        wait_for_state(store, refused, "held")
        held = store.get(refused)
        assert held.state == "held" and "550 5.1.1 no such user" in held.last_error
        assert store.decisions(1, message_id=refused)[0].action == "held"

        # An address the upstream cannot even be asked about (non-ASCII, no SMTPUTF8): held, and
        # the lane that tried it keeps delivering.
        odd = store.add(
            NewMessage(
                example("01-good-reply-with-attachment.eml"),
                SENDER,
                ["jürgen@acme.com"],
                "outbox",
                "pass",
                [],
            )
        )
        wait_for_state(store, odd, "held")
        assert "cannot be sent upstream" in store.get(odd).last_error
        for _ in range(LANES):
            assert submit(relay.port, example("01-good-reply-with-attachment.eml"), [CUSTOMER]).code == 250
        sink.wait_for(lambda s: len(s.arrivals) == 2 + LANES, 30, "deliveries after the odd address")
    finally:
        store.close()
        relay.stop()


def wait_for_state(store: Store, message_id: str, state: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while store.get(message_id).state != state:
        assert time.time() < deadline, f"{message_id} is {store.get(message_id).state}, not {state}"
        time.sleep(0.1)


def test_starttls_and_auth_both_ways(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    upstream = Sink(tls_context=server_tls, users={"relay-bot": "upstream-secret"}).start()
    config = relay_config(
        tmp_path, "sqlite:///" + str(tmp_path / "q.db"), **FAST, tls_cert=str(cert), tls_key=str(key),
        users={"alice": hash_password("wonderland", log2_n=10)},
        upstream_security="starttls", upstream_ca=str(cert), upstream_user="relay-bot",
        upstream_password_env="TEST_UPSTREAM_PASSWORD",
    )  # fmt: skip
    relay = RelayProcess(config, upstream.port, env={"TEST_UPSTREAM_PASSWORD": "upstream-secret"}).start()
    client_tls = ssl.create_default_context(cafile=str(cert))
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.starttls(context=client_tls)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("alice", "wrong")
            client.login("alice", "wonderland")
            # Authenticated: an external sender is allowed.
            client.sendmail("contractor@gmail.com", [CUSTOMER], example("01-good-reply-with-attachment.eml"))
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.starttls(context=client_tls)
            client.login("alice", "wonderland")  # again: remembered, and still checked ...
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.starttls(context=client_tls)
            with pytest.raises(smtplib.SMTPAuthenticationError):  # ... so a wrong one still fails
                client.login("alice", "wonderland!")
        upstream.wait_for(lambda s: len(s.arrivals) == 1, 30, "delivery over STARTTLS + AUTH upstream")
        assert upstream.arrivals[0].mail_from == "contractor@gmail.com"
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.starttls(context=client_tls)
            with pytest.raises(smtplib.SMTPSenderRefused, match="authenticate first"):
                client.sendmail("contractor@gmail.com", [CUSTOMER], b"Subject: x\r\n\r\nhi\r\n")
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls") and not client.has_extn("auth")  # AUTH only inside TLS
    finally:
        relay.stop()
        upstream.stop()
    assert "upstream-secret" not in relay.log_text()

"""SENDGUARD_RELAY_TRACE: a relay asked to trace writes each message's stages, its commits and checkpoints."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from relay_harness import CUSTOMER, RelayProcess, Sink, example, relay_config, submit

from sendguard.relay import trace

pytestmark = pytest.mark.timeout(90)

QUEUED = re.compile(r"queued as ([0-9A-Z]{12})")


def test_a_traced_relay_records_every_stage_of_each_message(tmp_path: Path) -> None:
    sink = Sink().start()
    path = tmp_path / "trace.jsonl"
    config = relay_config(tmp_path, "sqlite:///" + str(tmp_path / "q.db"), check_workers=1)
    relay = RelayProcess(config, sink.port, env={trace.ENV: str(path)}).start()
    try:
        raw = example("01-good-reply-with-attachment.eml")
        ids = [QUEUED.search(submit(relay.port, raw, [CUSTOMER]).text)[1] for _ in range(3)]
        sink.wait_for(lambda s: len(s.arrivals) == 3, 30, "the messages upstream")
        time.sleep(1.5)  # past the checkpointer's interval: it has copied the WAL at least once
    finally:
        assert relay.stop() == 0, relay.log_text()
        sink.stop()

    events = [json.loads(line) for line in path.read_text().splitlines()]
    messages = {e["message"]["id"]: e["message"] for e in events if "message" in e}
    commits = {i: e for e in events if "commit" in e for i in e["ids"]}
    assert sorted(messages) == sorted(ids)
    for message_id in ids:
        m, commit = messages[message_id], commits[message_id]
        start, end, cpu, waited = m["worker"]
        # Each stage follows the one before it, on the one clock all the relay's processes share.
        order = [
            m["accepted"], m["data"], m["dispatched"], start, end, m["checked"], m["queued"],
            commit["commit"][0], commit["commit"][1], m["stored"], m["replied"],
        ]  # fmt: skip
        assert order == sorted(order), m
        assert cpu > 0 and waited >= 0 and commit["cpu"] > 0 and commit["cpu_wait"] >= 0 <= m["loop_wait"]
    # Delivery outcomes are committed by the same writer, in commits of their own or with messages.
    assert sum(e["outcomes"] for e in events if "commit" in e) == 3
    assert any("checkpoint" in e for e in events)


def test_untraced_relay_stamps_nothing() -> None:
    # The test process has no SENDGUARD_RELAY_TRACE: stamping outside a traced message is a no-op.
    assert not trace.enabled
    trace.stamp("checked")

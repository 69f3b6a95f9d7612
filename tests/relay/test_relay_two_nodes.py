"""Two relay processes sharing one store deliver every message exactly once, and both do work.

The queue is filled before the relays start, so both race for the same due rows from their
first claim; messages submitted through both while they run join the race.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from relay_harness import CUSTOMER, RelayProcess, Sink, numbered, relay_config, submit

from sendguard.relay.store import NewMessage, Store

pytestmark = pytest.mark.timeout(120)

PRELOADED, SUBMITTED = 200, 40


def test_two_relays_share_the_queue_without_double_delivery(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture
) -> None:
    store = Store(store_url)
    store.add_many(
        [
            NewMessage(numbered(seq, run="two"), "sam.carter@revcalc.io", [CUSTOMER], "outbox", "pass", [])
            for seq in range(PRELOADED)
        ]
    )
    sink = Sink(delay=0.005).start()
    config = relay_config(tmp_path, store_url, poll_seconds=0.1, upstream_connections=3)
    relays = [RelayProcess(config, sink.port) for _ in range(2)]
    starters = [threading.Thread(target=r.start) for r in relays]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    try:
        for seq in range(PRELOADED, PRELOADED + SUBMITTED):
            assert submit(relays[seq % 2].port, numbered(seq, run="two"), [CUSTOMER]).code == 250
        total = PRELOADED + SUBMITTED
        sink.wait_for(lambda s: len(set(s.seqs())) == total, 60, "every message upstream")
        sink.wait_for(
            lambda s: store.counts()["delivered"] == total, 10, "every message recorded as delivered"
        )
    finally:
        codes = [r.stop() for r in relays]
        sink.stop()
    arrivals = Counter(sink.seqs())
    with store.engine.connect() as conn:
        by_node = Counter(
            row.claimed_by
            for row in conn.exec_driver_sql("SELECT claimed_by FROM messages WHERE state = 'delivered'")
        )
    store.close()
    with capsys.disabled():
        print(f"\n[two relays, {store_url.split(':')[0]}] delivered {sum(by_node.values())}: {dict(by_node)}")
    assert codes == [0, 0]
    assert sorted(arrivals) == list(range(total))
    assert [seq for seq, n in arrivals.items() if n > 1] == []  # exactly once
    assert len(by_node) == 2 and min(by_node.values()) >= total // 10  # both relays took a real share

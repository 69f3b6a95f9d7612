"""`sendguard queue ...` and `sendguard relay` from the command line: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
from relay_harness import CUSTOMER, SENDGUARD, example, free_port, relay_config

import sendguard
from sendguard.cli import main
from sendguard.relay.checking import check_raw
from sendguard.relay.store import NewMessage, Outcome, Store

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def queue(tmp_path: Path) -> tuple[Path, Store, dict[str, str]]:
    """A config whose store holds one held, one queued (in its undo window) and one delivered message."""
    config = relay_config(tmp_path, "queue.db")  # a relative path: beside the config file
    guard = sendguard.load(config)
    store = Store.from_config(guard.config)
    ids = {}
    for name, file, state, undo in (
        ("held", "02-bad-cc-other-customer.eml", "held", 0),
        ("queued", "01-good-reply-with-attachment.eml", "outbox", 300),
        ("sent", "05-good-balance-with-credit.eml", "outbox", 0),
    ):
        raw = example(file)
        checked = check_raw(guard, raw, [CUSTOMER])
        ids[name] = store.add(
            NewMessage(raw, "sam.carter@revcalc.io", [CUSTOMER], state, checked.verdict, checked.findings,
                       checked.subject, undo_seconds=undo)
        )  # fmt: skip
    [claimed] = store.claim("test-node", 5, lease_seconds=60)
    store.finish("test-node", [Outcome(claimed.id, "delivered")])
    yield config, store, ids
    store.close()


def test_store_defaults_beside_the_config(queue) -> None:
    config, store, _ = queue
    assert (config.parent / "queue.db").exists()
    assert store.display_url == "sqlite:///" + str((config.parent / "queue.db").resolve())


def test_list_shows_pending_by_default_and_all_on_request(queue, capsys: pytest.CaptureFixture[str]) -> None:
    config, _, ids = queue
    assert main(["queue", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert ids["held"] in out and ids["queued"] in out and ids["sent"] not in out
    assert "cross-account-recipients" in out
    assert main(["queue", "list", "--state", "all", "--format", "json", "--config", str(config)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"]: r["state"] for r in rows} == {ids["held"]: "held", ids["queued"]: "outbox", ids["sent"]: "delivered"}  # fmt: skip


def test_show_renders_findings_and_history(queue, capsys: pytest.CaptureFixture[str]) -> None:
    config, _, ids = queue
    assert main(["queue", "show", ids["held"], "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "state:        held" in out and "cross-account-recipients" in out
    assert "Cc: julia.meyer@northwind-telecom.com" in out  # the offending line
    assert "relay         held" in out
    assert main(["queue", "show", ids["queued"], "--format", "json", "--config", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "outbox" and shown["history"][0]["action"] == "queued"


def test_actions_record_the_user(
    queue, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, store, ids = queue
    monkeypatch.setenv("USER", "carol")
    assert main(["queue", "recall", ids["queued"], "--config", str(config), "--note", "wrong customer"]) == 0
    assert capsys.readouterr().out == f"recalled {ids['queued']} (now recalled)\n"
    assert main(["queue", "discard", ids["held"], "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"discarded {ids['held']} (now discarded)\n"
    assert [(d.action, d.actor) for d in store.decisions(2)] == [
        ("discarded", "carol"),
        ("recalled", "carol"),
    ]
    assert main(["queue", "log", "--config", str(config), "--limit", "2"]) == 0
    log = capsys.readouterr().out.splitlines()
    assert len(log) == 2 and "discarded" in log[0] and "carol" in log[0] and "(wrong customer)" in log[1]


def test_purge_deletes_finished_mail_only_and_keeps_the_log(
    queue, capsys: pytest.CaptureFixture[str]
) -> None:
    config, store, ids = queue
    assert main(["queue", "purge", "--older-than", "1", "--config", str(config)]) == 0
    assert "deleted 0 finished messages older than 1 days" in capsys.readouterr().out  # all are new
    assert store.purge(time.time() + 1) == 1  # as if a day had passed: only the delivered one goes
    assert {m.id for m in store.list(None, limit=10)} == {ids["held"], ids["queued"]}
    assert any(d.message_id == ids["sent"] for d in store.decisions(20))
    assert main(["queue", "purge", "--older-than", "0", "--config", str(config)]) == 2
    assert "--older-than must be a positive number of days" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["queue", "release", "NOSUCHID"], "sendguard: no message with id 'NOSUCHID' in the queue"),
        (["queue", "recall", "{sent}"], "sendguard: cannot recall {sent}: it is delivered, not outbox"),
        (["queue", "release", "{queued}"], "sendguard: cannot release {queued}: it is outbox, not held"),
    ],
)
def test_queue_errors_are_one_line(
    queue, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    config, _, ids = queue
    assert main([a.format(**ids) for a in argv] + ["--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.err == error.format(**ids) + "\n" and captured.out == ""


@pytest.mark.parametrize(
    ("relay", "argv", "error"),
    [
        ({}, ["--listen", "localhost", "--upstream", "127.0.0.1:25"],
         "--listen: expected HOST:PORT, like 127.0.0.1:2525 (not 'localhost')"),
        ({}, ["--listen", "127.0.0.1:2525"], "no upstream server: pass --upstream HOST:PORT or set [relay] upstream"),
        ({}, ["--listen", "0.0.0.0:2525", "--upstream", "127.0.0.1:25"],
         "refusing to listen on 0.0.0.0, which is not loopback, without authentication"),
        ({"on_block": "drop"}, ["--upstream", "127.0.0.1:25"],
         'sendguard.toml:{line}: [relay] on_block: expected "hold", "reject" (not \'drop\')'),
        ({"retry_sconds": 5}, ["--upstream", "127.0.0.1:25"], "sendguard.toml:{line}: unknown key 'retry_sconds' in [relay]"),
        ({"users": {"alice": "scrypt$15$8$1$c2FsdA$aGFzaA"}}, ["--upstream", "127.0.0.1:25"],
         "[relay] users need tls_cert and tls_key"),
        ({"upstream_user": "bot"}, ["--upstream", "127.0.0.1:25"],
         "[relay] upstream_user and upstream_password_env go together"),
        ({"store": "no/such/dir/q.db"}, ["--upstream", "127.0.0.1:25"], "directory"),
        ({"store": "postgresql://u:pw@127.0.0.1:1/x"}, ["--upstream", "127.0.0.1:25"],
         "cannot open the relay store postgresql+psycopg://u:***@127.0.0.1:1/x"),
    ],
)  # fmt: skip
def test_relay_refuses_bad_settings_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], relay: dict, argv: list[str], error: str
) -> None:
    config = relay_config(tmp_path, relay.pop("store", "q.db"), **relay)
    assert main(["relay", "--config", str(config), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sendguard: ") and err.count("\n") == 1, err
    # The key is the second line of the [relay] table relay_config appends to the example config.
    line = config.read_text().splitlines().index("[relay]") + 3
    assert error.replace("{line}", str(line)) in err


def test_relay_on_a_busy_port_exits_2_without_traceback(tmp_path: Path) -> None:
    config = relay_config(tmp_path, "q.db")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [str(SENDGUARD), "relay", "--config", str(config), "--listen", f"127.0.0.1:{port}",
             "--upstream", f"127.0.0.1:{free_port()}"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"sendguard: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in done.stderr


def test_relay_never_defaults_to_a_single_check_worker(tmp_path: Path) -> None:
    # One worker is one queue: whenever its process pauses, every message waits behind it (issue 6).
    from sendguard.config import Config
    from sendguard.relay.settings import load_settings

    def workers(**relay: object) -> int:
        config = Config.load(relay_config(tmp_path, "q.db", **relay))
        return load_settings(config, upstream="127.0.0.1:2525").check_workers

    assert workers() >= 2
    assert workers(check_workers=1) == 1  # still possible when asked for

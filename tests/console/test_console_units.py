"""The console's parts on their own: password hashes, session signing, span marking, its CLI."""

from __future__ import annotations

import io
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from console_support import console_config

from sendguard.cli import main
from sendguard.console.auth import SessionSigner, csrf_ok
from sendguard.console.views import age, mark_spans
from sendguard.passwords import check_hash_format, hash_password, verify_password


def test_password_hash_round_trip_and_salt() -> None:
    first, second = hash_password("s3cret", log2_n=10), hash_password("s3cret", log2_n=10)
    assert first != second  # salted
    assert first.startswith("scrypt$10$8$1$")
    assert verify_password("s3cret", first) and verify_password("s3cret", second)
    assert not verify_password("s3cret ", first)
    assert not verify_password("", first)


def test_malformed_hashes_are_reported_and_never_verify() -> None:
    for bad in (
        "",
        "plain",
        "md5$abc",
        "scrypt$15$8$1$salt",
        "scrypt$x$8$1$c2FsdA$aGFzaA",
        "scrypt$40$8$1$c2FsdA$aGFzaA",
    ):
        assert check_hash_format(bad) is not None, bad
        assert not verify_password("anything", bad)
    assert check_hash_format(hash_password("x", log2_n=10)) is None


def test_session_signature_expiry_and_csrf() -> None:
    signer = SessionSigner(b"k" * 32, max_age=60)
    session = signer.new("alice")
    cookie = signer.dump(session)
    assert signer.load(cookie) == session
    assert SessionSigner(b"x" * 32, max_age=60).load(cookie) is None  # another key
    assert signer.load(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert signer.load("garbage") is None and signer.load(None) is None
    old = SessionSigner(b"k" * 32, max_age=60)
    stale = old.dump(type(session)(user="alice", csrf=session.csrf, issued=time.time() - 61))
    assert signer.load(stale) is None
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, "") and not csrf_ok(session, None) and not csrf_ok(None, session.csrf)
    assert signer.new("alice").csrf != session.csrf


def test_mark_spans_merges_overlaps_and_clamps() -> None:
    assert mark_spans("abcdef", []) == [("abcdef", False)]
    assert mark_spans("abcdef", [(1, 3)]) == [("a", False), ("bc", True), ("def", False)]
    assert mark_spans("abcdef", [(2, 4), (1, 3)]) == [("a", False), ("bcd", True), ("ef", False)]
    assert mark_spans("abcdef", [(0, 2), (4, 99)]) == [("ab", True), ("cd", False), ("ef", True)]
    assert mark_spans("abc", [(-5, 1), (2, 2)]) == [("a", True), ("bc", False)]
    assert mark_spans("", [(0, 3)]) == [("", False)]
    text = "<b>x</b> y"
    assert "".join(seg for seg, _ in mark_spans(text, [(3, 4), (8, 10)])) == text  # nothing lost


def test_age() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert age(now - timedelta(seconds=5), now) == "5 s"
    assert age(now - timedelta(minutes=12, seconds=59), now) == "12 min"
    assert age(now - timedelta(hours=3), now) == "3 h"
    assert age(now - timedelta(days=2, hours=5), now) == "2 d"
    assert age(now + timedelta(seconds=30), now) == "0 s"


def _sendguard(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    """Run the real `sendguard` command line in-process; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a tty: hash-password reads a line
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_hash_password_command_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _sendguard(capsys, monkeypatch, "console", "hash-password", stdin="pass phrase\n")
    assert code == 0, err
    printed = out.strip()
    assert verify_password("pass phrase", printed) and not verify_password("pass phrase\n", printed)
    code, _, err = _sendguard(capsys, monkeypatch, "console", "hash-password", stdin="\n")
    assert code == 2 and "empty password" in err


def test_console_command_refuses_plain_http_off_loopback_and_bad_listen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = str(console_config(tmp_path))
    code, _, err = _sendguard(capsys, monkeypatch, "console", "--config", config, "--listen", "0.0.0.0:8025")
    assert code == 2 and "refusing to serve the console on 0.0.0.0 over plain http" in err
    code, _, err = _sendguard(capsys, monkeypatch, "console", "--config", config, "--listen", "8025")
    assert code == 2 and "--listen expects HOST:PORT" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('tls_cert = "nope.pem"\ntls_key = "nope.key"\n', "tls_cert: file not found"),
        ('tls_cert = "nope.pem"\n', "tls_cert and tls_key go together"),
        ('secret_key = "short"\n', "secret_key must be at least 32 characters"),
    ],
)
def test_console_command_reports_config_mistakes_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    message: str,
) -> None:
    path = console_config(tmp_path)
    text = path.read_text().replace(f'secret_key = "{"k" * 40}"\n', "")
    path.write_text(text + extra)
    code, _, err = _sendguard(capsys, monkeypatch, "console", "--config", str(path))
    assert code == 2, err
    assert message in err and f"{path}:" in err  # file:line
    assert len(err.strip().splitlines()) == 1

"""The review console through FastAPI's TestClient: login, session cookie, CSRF, escaping, actions.

The app runs over a real relay store (SQLite in tmp_path) and the real guard; only the HTTP
transport is in-process.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import PASSWORD, console_config, store_message
from fastapi.testclient import TestClient

import sendguard
from sendguard.config import Config
from sendguard.console.app import COOKIE, create_app
from sendguard.console.settings import console_settings
from sendguard.errors import ConfigError
from sendguard.guard import Guard
from sendguard.relay.store import Store
from support import EXAMPLE_MESSAGES, build_message

CC_OTHER_CUSTOMER = (EXAMPLE_MESSAGES / "02-bad-cc-other-customer.eml").read_bytes()
CC_RCPTS = ["peter.jones@acme.com", "julia.meyer@northwind-telecom.com"]
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """A TestClient over the console app, with the store and guard it uses."""

    def __init__(self, config_path: Path) -> None:
        config = Config.load(config_path)
        self.guard: Guard = sendguard.load(config_path)
        self.store = Store.from_config(config)
        # https: the session cookie is Secure, and httpx (like a browser) keeps Secure cookies
        # off plain-http requests to a non-loopback host such as "testserver".
        self.client = TestClient(
            create_app(self.guard, self.store, console_settings(config)), base_url="https://testserver"
        )

    def csrf(self, path: str = "/") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        match = CSRF_FIELD.search(page.text)
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def login(self, username: str = "alice", password: str = PASSWORD) -> None:
        r = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf": self.csrf("/login")},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/", r.text

    def hold(self, raw: bytes = CC_OTHER_CUSTOMER, rcpts: list[str] = CC_RCPTS, **kw: object) -> str:
        return store_message(self.store, self.guard, raw, rcpts, **kw)


@pytest.fixture()
def console(tmp_path: Path) -> Iterator[Console]:
    c = Console(console_config(tmp_path))
    yield c
    c.client.close()
    c.store.close()


# -- login and the session cookie -------------------------------------------------------------


def test_pages_need_a_login(console: Console) -> None:
    mid = console.hold()
    for path in ("/", f"/messages/{mid}", "/log", "/?view=all"):
        r = console.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    assert console.client.get("/login").status_code == 200


def test_session_cookie_is_httponly_secure_and_samesite_strict(console: Console) -> None:
    anonymous = console.client.get("/login")
    logged_in = console.client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf": CSRF_FIELD.search(anonymous.text).group(1)},
        follow_redirects=False,
    )
    assert logged_in.status_code == 303
    for response in (anonymous, logged_in):
        header = response.headers["set-cookie"]
        assert header.startswith(COOKIE + "=")
        for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
            assert attribute.lower() in header.lower(), header
        assert "domain=" not in header.lower()  # a __Host- cookie must not name a domain


def test_wrong_password_and_unknown_user_are_refused_alike(console: Console) -> None:
    for user, password in (("alice", "wrong"), ("mallory", PASSWORD), ("", "")):
        r = console.client.post(
            "/login", data={"username": user, "password": password, "csrf": console.csrf("/login")}
        )
        assert r.status_code == 401
        assert "Wrong user name or password." in r.text
    assert console.client.get("/", follow_redirects=False).status_code == 303


def test_login_needs_the_csrf_token_of_the_login_form(console: Console) -> None:
    console.csrf("/login")  # the browser has an anonymous session...
    r = console.client.post(
        "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403  # ...but the form did not come from the console
    r = console.client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf": "forged"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert console.client.get("/", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_is_a_logged_out_browser(console: Console) -> None:
    console.login()
    value = console.client.cookies[COOKIE]
    payload, signature = value.rsplit(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["u"] = "bob"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + signature
    console.client.cookies.clear()
    console.client.cookies.set(COOKIE, forged, domain="testserver", path="/")
    assert console.client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_login_rotates_the_csrf_token_and_logout_ends_the_session(console: Console) -> None:
    before = console.csrf("/login")
    console.login()
    after = console.csrf("/")
    assert after != before
    r = console.client.post("/logout", data={"csrf": after}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert console.client.get("/", follow_redirects=False).headers["location"] == "/login"


# -- CSRF on actions ---------------------------------------------------------------------------


def test_actions_without_the_csrf_token_change_nothing(console: Console) -> None:
    mid = console.hold()
    console.login()
    for data in ({}, {"csrf": ""}, {"csrf": "not-the-token"}):
        for action in ("release", "discard"):
            r = console.client.post(f"/messages/{mid}/{action}", data=data, follow_redirects=False)
            assert r.status_code == 403, (action, data)
        r = console.client.post(
            f"/messages/{mid}/recipients/edit", data={**data, "to": "peter.jones@acme.com"}
        )
        assert r.status_code == 403
    assert console.store.get(mid).state == "held"
    assert [d.action for d in console.store.decisions(message_id=mid)] == ["held"]


def test_a_token_from_another_session_is_refused(console: Console, tmp_path: Path) -> None:
    mid = console.hold()
    other = TestClient(console.client.app, base_url="https://testserver")
    other_token = CSRF_FIELD.search(other.get("/login").text).group(1)
    console.login()
    r = console.client.post(f"/messages/{mid}/release", data={"csrf": other_token})
    assert r.status_code == 403
    assert console.store.get(mid).state == "held"


# -- escaping: a held message is untrusted input ------------------------------------------------


def test_message_content_is_escaped_everywhere(console: Console) -> None:
    evil = "<script>alert('x')</script>"
    raw = build_message(
        sender=f'"{evil}" <sam.carter@revcalc.io>',
        to="Peter Jones <peter.jones@acme.com>",
        subject=f"[TEST] {evil}",
        body=f"Hi Peter,\n\n{evil} <img src=x onerror=alert(1)> dear *|FNAME|*\n\nSam\n",
    )
    mid = console.hold(raw, ["peter.jones@acme.com"], mail_from="sam.carter@revcalc.io")
    console.login()
    pages = {
        "list": console.client.get("/").text,
        "message": console.client.get(f"/messages/{mid}").text,
        "log": console.client.get("/log").text,
    }
    for name, html in pages.items():
        assert "<script" not in html.lower(), name
        assert "<img" not in html.lower(), name
    message = pages["message"]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in message
    assert "&lt;img src=x onerror=alert(1)&gt;" in message
    # the placeholder finding's span is highlighted, its text still escaped around it
    assert '<mark class="block">*|FNAME|*</mark>' in message
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages["list"]
    assert "script-src" not in console.client.get("/").headers["content-security-policy"]
    assert "default-src 'none'" in console.client.get("/").headers["content-security-policy"]


def test_an_unreadable_message_is_shown_as_escaped_raw_text(console: Console) -> None:
    raw = b"this is not a mail message <b>bold</b>\r\n"
    mid = console.hold(raw, ["peter.jones@acme.com"])
    console.login()
    page = console.client.get(f"/messages/{mid}").text
    assert "unreadable-message" in page
    assert "this is not a mail message &lt;b&gt;bold&lt;/b&gt;" in page


# -- pages and actions -----------------------------------------------------------------------


def test_list_shows_verdict_rules_sender_recipients_and_age(console: Console) -> None:
    mid = console.hold()
    console.login()
    page = console.client.get("/").text
    row = page[page.index(f'href="/messages/{mid}"') :]
    row = row[: row.index("</tr>")]
    for text in (
        "block",
        "cross-account-recipients",
        "dana.whitfield@revcalc.io",
        "peter.jones@acme.com, julia.meyer@northwind-telecom.com",
        "Re: Unacceptable downtime",
        " s</td>",
    ):
        assert text in row, text


def test_message_page_highlights_the_offending_text(console: Console) -> None:
    mid = console.hold()
    console.login()
    page = console.client.get(f"/messages/{mid}").text
    assert '<span class="ln">Cc:</span> <mark class="block">julia.meyer@northwind-telecom.com</mark>' in page
    assert "Thank you for raising this." in page  # the body is shown
    assert "Remove julia.meyer@northwind-telecom.com" in page  # the suggestion


def test_body_findings_are_marked_on_their_line(console: Console) -> None:
    raw = build_message(body="Hi *|FNAME|*,\n\nYour order shipped.\n\nSam\n")
    mid = console.hold(raw, ["peter.jones@acme.com"], mail_from="sam.carter@revcalc.io")
    console.login()
    page = console.client.get(f"/messages/{mid}").text
    line = '<span class="line flagged block"><span class="ln">1</span> Hi <mark class="block">*|FNAME|*</mark>,</span>'
    assert line in page


def test_release_is_recorded_with_who_and_when(console: Console) -> None:
    mid = console.hold()
    console.login()
    r = console.client.post(f"/messages/{mid}/release", data={"csrf": console.csrf()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/messages/{mid}?done=released"
    assert console.store.get(mid).state == "outbox"
    latest = console.store.decisions(message_id=mid)[0]
    assert (latest.action, latest.actor) == ("released", "alice")
    page = console.client.get(r.headers["location"]).text
    assert "Released: the relay will deliver it shortly." in page
    assert "<td>released</td><td>alice</td>" in page
    assert "<td>released</td>" in console.client.get("/log").text


def test_discard_then_release_is_refused_with_the_reason(console: Console) -> None:
    mid = console.hold()
    console.login()
    token = console.csrf()
    assert console.client.post(f"/messages/{mid}/discard", data={"csrf": token}).status_code == 200
    assert console.store.get(mid).state == "discarded"
    r = console.client.post(f"/messages/{mid}/release", data={"csrf": token})
    assert r.status_code == 409
    assert "it is discarded, not held" in r.text
    assert console.store.get(mid).state == "discarded"


def test_recall_within_the_undo_window(console: Console) -> None:
    raw = (EXAMPLE_MESSAGES / "01-good-reply-with-attachment.eml").read_bytes()
    mid = console.hold(raw, ["peter.jones@acme.com"], state="outbox", undo_seconds=300)
    console.login()
    page = console.client.get(f"/messages/{mid}").text
    assert "undo window open for 4 min more" in page or "undo window open for 5 min more" in page
    assert "Recall (undo send)" in page
    r = console.client.post(f"/messages/{mid}/recall", data={"csrf": console.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    assert console.store.get(mid).state == "recalled"
    latest = console.store.decisions(message_id=mid)[0]
    assert (latest.action, latest.actor) == ("recalled", "alice")
    r = console.client.post(f"/messages/{mid}/recall", data={"csrf": console.csrf()})
    assert r.status_code == 409


def test_edit_recipients_rechecks_the_message(console: Console) -> None:
    mid = console.hold()
    console.login()
    r = console.client.post(
        f"/messages/{mid}/recipients/edit",
        data={"csrf": console.csrf(), "to": "Peter Jones <peter.jones@acme.com>", "cc": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    stored = console.store.get(mid)
    assert stored.state == "held"  # a person still releases it
    assert stored.verdict == "pass" and not stored.findings
    assert stored.rcpt_tos == ("peter.jones@acme.com",)
    assert b"northwind" not in stored.raw.split(b"\r\n\r\n", 1)[0].lower()
    assert stored.raw.endswith(CC_OTHER_CUSTOMER.split(b"\n\n", 1)[1])  # body untouched
    latest = console.store.decisions(message_id=mid)[0]
    assert (latest.action, latest.actor, latest.verdict) == ("recipients-replaced", "alice", "pass")
    page = console.client.get(r.headers["location"]).text
    assert "checked again" in page and "No findings." in page


def test_edit_recipients_with_a_bad_address_keeps_what_was_typed(console: Console) -> None:
    mid = console.hold()
    console.login()
    r = console.client.post(
        f"/messages/{mid}/recipients/edit",
        data={"csrf": console.csrf(), "to": "peter.jones@acme.com, <b>nobody</b>", "cc": ""},
    )
    assert r.status_code == 400
    assert "not an email address" in r.text
    assert "peter.jones@acme.com, &lt;b&gt;nobody&lt;/b&gt;</textarea>" in r.text
    assert console.store.get(mid).rcpt_tos == tuple(CC_RCPTS)


def test_unknown_message_is_a_404(console: Console) -> None:
    console.login()
    r = console.client.get("/messages/NOSUCHID")
    assert r.status_code == 404 and "NOSUCHID" in r.text


# -- [console] settings -------------------------------------------------------------------------


def test_console_settings_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = console_config(tmp_path, "session_hours = 0\n")
    with pytest.raises(ConfigError, match="session_hours must be positive") as err:
        console_settings(Config.load(path))
    assert err.value.line == len(path.read_text().splitlines())
    bad_hash = (
        path.read_text().replace("session_hours = 0\n", "").replace('alice = "scrypt$', 'alice = "md5$')
    )
    path.write_text(bad_hash)
    with pytest.raises(ConfigError, match="users.alice: expected"):
        console_settings(Config.load(path))
    path.write_text(path.read_text() + "colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown key 'colour' in \\[console\\]"):
        console_settings(Config.load(path))

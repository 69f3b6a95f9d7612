"""The console in a real browser, end to end, every piece a real process on loopback:

    smtplib client --> `sendguard relay` --> held (550 5.7.1)
    Chromium (Playwright) --> `sendguard console`: log in, open the held message, release it
    `sendguard relay`'s delivery worker --> aiosmtpd sink: the released message arrives

The relay and the console share one SQLite store, as in a deployment on one host.
"""

from __future__ import annotations

import re
import shutil
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from console_support import PASSWORD, console_config
from playwright.sync_api import Browser, Page, expect, sync_playwright
from processes import Sink, free_port, running_sink, sendguard_process

from support import EXAMPLE_MESSAGES

CHROMIUM = "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest stop it reaching for Google's servers, which
# this machine's closed network refuses (and which a test has no business calling).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE_SUBJECT = "Re: Unacceptable downtime <script>alert('subject')</script><img src=x onerror=alert(2)>"

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"Debian's chromium is not installed ({CHROMIUM} missing)"
)


@dataclass
class Stack:
    sink: Sink
    relay_port: int
    console_url: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One stack for the module: starting the relay and the console (each loads the guard) is
    # most of this file's run time, and the tests do not depend on each other's messages.
    tmp_path = tmp_path_factory.mktemp("stack")
    # poll_seconds: how soon the relay notices a release made by another process (the console).
    config = console_config(tmp_path, '\n[relay]\npoll_seconds = 0.2\nhostname = "relay.test"\n')
    relay_port, console_port = free_port(), free_port()
    with running_sink() as sink:
        relay = ["relay", "--config", str(config), "--listen", f"127.0.0.1:{relay_port}"]
        with (
            sendguard_process(
                [*relay, "--upstream", f"127.0.0.1:{sink.port}"], relay_port, tmp_path / "relay.log"
            ),
            sendguard_process(
                ["console", "--config", str(config), "--listen", f"127.0.0.1:{console_port}"],
                console_port,
                tmp_path / "console.log",
            ),
        ):
            yield Stack(sink, relay_port, f"http://127.0.0.1:{console_port}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def submit(port: int, raw: bytes, mail_from: str, rcpts: list[str]) -> tuple[int, str]:
    """Send through the relay like a mail client; returns the reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        try:
            client.sendmail(mail_from, rcpts, raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error.decode()
    return 250, ""


def test_log_in_open_a_held_message_release_it_and_it_arrives(stack: Stack, browser: Browser) -> None:
    original = (EXAMPLE_MESSAGES / "02-bad-cc-other-customer.eml").read_bytes()
    hostile = original.replace(b"Subject: Re: Unacceptable downtime", b"Subject: " + HOSTILE_SUBJECT.encode())
    raw = hostile.replace(b"\n", b"\r\n")  # on the wire, as a mail client sends it
    rcpts = ["peter.jones@acme.com", "julia.meyer@northwind-telecom.com"]
    code, reply = submit(stack.relay_port, raw, "dana.whitfield@revcalc.io", rcpts)
    assert code == 550 and reply.startswith("5.7.1 Held for review"), reply
    quarantine_id = re.search(r"quarantine id (\w+)", reply).group(1)
    assert "cross-account-recipients" in reply

    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        _log_in(page, stack.console_url)

        # The held list shows the message; open it.
        row = page.locator("table.queue tr", has_text=quarantine_id)
        expect(row).to_contain_text("cross-account-recipients")
        expect(row).to_contain_text("dana.whitfield@revcalc.io")
        row.get_by_role("link", name=quarantine_id).click()
        expect(page).to_have_url(f"{stack.console_url}/messages/{quarantine_id}")

        # Findings with the offending text highlighted; the hostile subject shown as text.
        expect(page.locator("#state")).to_have_text("held")
        expect(page.locator(".finding.block mark")).to_have_text("julia.meyer@northwind-telecom.com")
        expect(page.locator("h1.subject")).to_have_text(HOSTILE_SUBJECT)
        expect(page.locator("pre.body")).to_contain_text("Thank you for raising this.")
        assert page.locator("h1.subject img, h1.subject script").count() == 0

        started = time.monotonic()
        page.get_by_role("button", name="Release").click()
        expect(page.locator(".notice")).to_have_text("Released: the relay will deliver it shortly.")

        # The relay's delivery worker picks the release up from the shared store.
        arrived = stack.sink.wait_for(1, timeout=20)
        delivery_seconds = time.monotonic() - started
        assert len(arrived) == 1, "the released message never reached the sink"
        got = arrived[0]
        assert got.mail_from == "dana.whitfield@revcalc.io"
        assert sorted(got.rcpt_tos) == sorted(rcpts)
        head, body = got.content.split(b"\r\n\r\n", 1)
        assert body == raw.split(b"\r\n\r\n", 1)[1]  # byte-identical body
        assert b"by relay.test (sendguard)" in head and quarantine_id.encode() in head

        # The sink has it; the relay records "delivered" just after the upstream's 250.
        deadline = time.monotonic() + 15
        while page.locator("#state").inner_text() != "delivered" and time.monotonic() < deadline:
            page.wait_for_timeout(200)
            page.reload()
        expect(page.locator("#state")).to_have_text("delivered")
        history = page.locator("table.log")
        expect(history).to_contain_text("released")
        expect(history).to_contain_text("alice")
        assert dialogs == [], f"message content ran script in the console: {dialogs}"
        print(f"release -> arrival at the sink: {delivery_seconds * 1000:.0f} ms")
    finally:
        context.close()


def test_the_session_cookie_is_accepted_by_chromium_over_loopback_http(
    stack: Stack, browser: Browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        _log_in(page, stack.console_url)
        (cookie,) = context.cookies()
        assert cookie["name"] == "__Host-sendguard-session"
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        # A page cannot read it: HttpOnly, as seen by the page's own script engine.
        assert page.evaluate("document.cookie") == ""
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{stack.console_url}/login")
        page.goto(stack.console_url + "/log")
        expect(page).to_have_url(f"{stack.console_url}/login")
    finally:
        context.close()


def _log_in(page: Page, url: str) -> None:
    page.goto(url + "/")
    expect(page).to_have_url(url + "/login")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(url + "/")
    expect(page.locator("header .who")).to_have_text("alice")

"""Parse once: headers, recipients resolved to accounts, new vs quoted text, links, attachments, amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sendguard.errors import InputError
from sendguard.message.model import Party
from sendguard.message.quotes import quoted_authors, quoted_flags
from support import CORPORA, build_message, example_guard

GUARD = example_guard()


def parse(raw: bytes):
    return GUARD.parse(raw)


def test_recipients_are_resolved_to_internal_account_or_unknown() -> None:
    msg = parse(
        build_message(
            to=["Peter Jones <peter.jones@acme.com>", "someone@sub.acme-corp.co.uk"],
            cc=["dana@revcalc.io", "bob.lindqvist@gmail.com", "stranger@example.org"],
            bcc="x@umbrellahealth.org",
        )
    )
    got = {a.address: (a.field, a.party, a.account_id, a.via) for a in msg.recipients}
    assert got == {
        "peter.jones@acme.com": ("To", Party.ACCOUNT, "acme", "contact"),
        "someone@sub.acme-corp.co.uk": ("To", Party.ACCOUNT, "acme", "domain"),
        "dana@revcalc.io": ("Cc", Party.INTERNAL, None, None),
        "bob.lindqvist@gmail.com": ("Cc", Party.ACCOUNT, "globex", "contact"),
        "stranger@example.org": ("Cc", Party.UNKNOWN, None, None),
        "x@umbrellahealth.org": ("Bcc", Party.ACCOUNT, "umbrella", "domain"),
    }
    assert msg.sender is not None and msg.sender.party is Party.INTERNAL


def test_punycode_domain_is_decoded() -> None:
    lookalike = "acm\u0435.com"  # Cyrillic 'е'
    msg = parse(build_message(to="peter@" + lookalike.encode("idna").decode()))
    assert msg.recipients[0].domain == lookalike
    assert msg.recipients[0].party is Party.UNKNOWN


def test_encoded_words_and_latin1_body() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@revcalc.io>\r\n"
        b"To: =?iso-8859-1?q?Ren=E9e?= <renee@acme.com>\r\n"
        b"Subject: =?utf-8?b?w5xiZXJ3ZWlzdW5nIGbDvHIgTm92ZW1iZXI=?=\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"Gr\xfc\xdfe Ren\xe9e,\r\nDie Rechnung \xfcber \x801.240,50 ist f\xe4llig.\r\n"
    )
    msg = parse(raw)
    assert msg.subject == "Überweisung für November"
    assert msg.recipients[0].display_name == "Renée"
    assert msg.lines[0].text == "Grüße Renée,"


def test_unknown_charset_falls_back_without_error() -> None:
    raw = b"From: a@revcalc.io\nTo: b@acme.com\nSubject: x\nContent-Type: text/plain; charset=x-no-such-charset\n\nHello \xe2\x82\xac 5\n"
    assert parse(raw).lines[0].text == "Hello € 5"


def test_new_and_quoted_text_gmail_style() -> None:
    body = "Thanks, fixed.\n\nOn Mon, 23 Nov 2026 at 09:00, Peter <peter@acme.com> wrote:\n> It broke.\n> Again.\n"
    msg = parse(build_message(body=body))
    assert [ln.text for ln in msg.new_lines if ln.text] == ["Thanks, fixed."]
    assert msg.quoted_lines[0].text.startswith("On Mon")


def test_supercite_initials_mark_quotes() -> None:
    """Seen in SpamAssassin ham (exmh lists): Emacs Supercite quotes with the writer's initials."""
    assert quoted_flags(["GAB> I tried that.", "Jason> me too", "It works now.", "Note: x>y"]) == [
        True,
        True,
        False,
        False,
    ]


def test_attribution_wrapped_over_two_lines() -> None:
    flags = quoted_flags(
        ["Sure.", "On Mon, Nov 23, 2026 at 9:00 AM Peter Jones <", "peter@acme.com> wrote:", "> hi"]
    )
    assert flags == [False, True, True, True]


def test_interleaved_reply_keeps_authors_lines_new() -> None:
    lines = ["On Mon, Peter wrote:", "> Can you fix it?", "Yes, today.", "> And the invoice?", "Attached."]
    assert quoted_flags(lines) == [True, True, False, True, False]


@pytest.mark.parametrize(
    "separator",
    [
        "---------- Forwarded message ---------",
        "-----Original Message-----",
        "Begin forwarded message:",
    ],
)
def test_forward_separators_quote_everything_below(separator: str) -> None:
    flags = quoted_flags(["FYI below.", "", separator, "From: Julia", "Text from Julia"])
    assert flags == [False, False, True, True, True]


def test_outlook_header_block() -> None:
    lines = [
        "See below.",
        "",
        "From: Julia Meyer <julia@northwind-telecom.com>",
        "Sent: Friday, 20 November 2026 09:00",
        "To: Support",
        "Subject: Export",
        "",
        "Broken.",
    ]
    assert quoted_flags(lines) == [False, False, True, True, True, True, True, True]


def test_indented_lotus_notes_header_block() -> None:
    """From Enron (random-sample/taylor-m/sent/104.): the From line and the To list wrap."""
    lines = [
        "Mind if we bring a friend or two?",
        "",
        "Mark",
        "   ",
        "\tEnron Capital & Trade Resources Corp.",
        "\tFrom:  gordon.hagendorf@kvaerner.com                           01/14/99 09:30 ",
        "AM",
        "\t",
        "",
        "To: Danny.Holland@EngageEnergy.com, ron_bateman@gensler.com, ",
        "paul.a.iademarco1@jsc.nasa.gov, rvidrine@notes.mdacc.tmc.edu, Mark - ECT ",
        "Legal Taylor/HOU/ECT, RCC515@aol.com",
        "cc: Marc.R.Cutler@BankAmerica.com ",
        "Subject: Friday & Drinks",
        "We still have too much beer left.",
    ]
    flags = quoted_flags(lines)
    assert flags[:5] == [False] * 5 and all(flags[5:])


def test_quoted_lines_know_their_author() -> None:
    lines = [
        "Thanks.",
        "",
        "On Tue, 3 Sep 2002, Julia <julia@northwind.com> wrote:",
        "> first",
        "> > On Mon, Bob <bob@acme.com> wrote:",
        "> > older",
        "new again",
        "> no attribution",
    ]
    authors = quoted_authors(lines, quoted_flags(lines))
    assert authors == [
        None,
        None,
        "julia@northwind.com",
        "julia@northwind.com",
        "bob@acme.com",
        "bob@acme.com",
        None,
        None,
    ]


def test_a_from_line_in_prose_is_not_a_quote_block() -> None:
    assert quoted_flags(["From: the team, with thanks.", "We shipped it."]) == [False, False]


def test_html_only_message_is_reduced_to_text_with_links_and_quotes() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Hi Peter,</p>"
        '<p>See <a href="https://app.revcalc.io/x">your dashboard</a>.</p>'
        '<div class="gmail_quote"><p>On Mon Julia wrote:</p><blockquote>old text</blockquote></div></body></html>'
    )
    raw = (
        b"From: a@revcalc.io\nTo: peter.jones@acme.com\nSubject: x\nContent-Type: text/html; charset=utf-8\n\n"
        + html.encode()
    )
    msg = parse(raw)
    assert [ln.text for ln in msg.new_lines if ln.text] == ["Hi Peter,", "See your dashboard."]
    assert all(ln.quoted for ln in msg.lines if "old text" in ln.text)
    assert [(lk.host, lk.anchor) for lk in msg.links] == [("app.revcalc.io", "your dashboard")]
    assert "color" not in " ".join(ln.text for ln in msg.lines)


def test_text_directly_inside_blockquote_is_quoted() -> None:
    from sendguard.message.html import html_to_lines

    lines, _ = html_to_lines("<p>Hi</p><blockquote>Deal with it!!!</blockquote><p>Thanks</p>")
    assert [ln for ln in lines if ln[0]] == [("Hi", False), ("Deal with it!!!", True), ("Thanks", False)]


def test_attachments_and_forwarded_message() -> None:
    inner = build_message(subject="inner", body="inner text")
    raw = build_message(
        attachments=[("q.pdf", b"%PDF-1.4 x", "application/pdf"), ("fwd.eml", inner, "message/rfc822")]
    )
    msg = parse(raw)
    names = [(a.filename, a.content_type) for a in msg.attachments]
    assert ("q.pdf", "application/pdf") in names
    assert any(a.content_type == "message/rfc822" for a in msg.attachments)
    assert not any("inner text" in ln.text for ln in msg.lines)


def test_amounts_with_currency() -> None:
    body = "You owe $400.00.\nRefund: €1.240,50 or USD 1,240.50; 12,400 GBP and 9 dollars.\nVersion 2.3 ships to 400 users."
    msg = parse(build_message(body=body))
    assert [(a.value, a.currency) for a in msg.amounts] == [
        (Decimal("400.00"), "USD"),
        (Decimal("1240.50"), "EUR"),
        (Decimal("1240.50"), "USD"),
        (Decimal("12400"), "GBP"),
        (Decimal("9"), "USD"),
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not an RFC 5322 message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe garbage", "not an RFC 5322 message"),
        (b"just some text without headers\nsecond line\n", "not an RFC 5322 message"),
        (b"From: a@revcalc.io\nSubject: no recipients\n\nbody\n", "no recipients"),
    ],
)
def test_unusable_input_is_an_input_error(raw: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse(raw)


def test_mbox_envelope_line_is_accepted() -> None:
    raw = b"From sam@revcalc.io  Mon Nov 23 09:00:00 2026\n" + build_message(subject="with envelope")
    assert parse(raw).subject == "with envelope"
    with pytest.raises(InputError, match="not an RFC 5322 message"):
        parse(b"From sam@revcalc.io  Mon Nov 23 09:00:00 2026\nno headers here\n")


def test_over_size_limit_is_refused_with_the_limit_named() -> None:
    raw = build_message() + b"x" * (21 * 1024 * 1024)
    with pytest.raises(InputError, match=r"over the 20 MB limit"):
        parse(raw)


def test_broken_mime_boundary_still_parses() -> None:
    raw = b'From: a@revcalc.io\nTo: peter.jones@acme.com\nSubject: x\nContent-Type: multipart/mixed; boundary="nope"\n\nHello there\n'
    msg = parse(raw)
    assert msg.defects  # the parser noticed, and we still have a model


@pytest.mark.skipif(
    not (CORPORA / "quoted-replies").is_dir(), reason="../shared/corpora/quoted-replies not present"
)
def test_reply_parser_fixtures_keep_quotes_out_of_new_text() -> None:
    """On email_reply_parser's fixtures, a '>'-quoted line is never taken for new text."""
    folder = CORPORA / "quoted-replies" / "email_reply_parser"
    checked = 0
    for path in sorted(folder.glob("*.txt")):
        lines = path.read_text(errors="replace").splitlines()
        flags = quoted_flags(lines)
        for text, quoted in zip(lines, flags, strict=True):
            if text.lstrip().startswith(">"):
                assert quoted, f"{path.name}: {text!r}"
        checked += 1
    assert checked >= 10

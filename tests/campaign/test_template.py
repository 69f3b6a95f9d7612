"""Campaign templates: the header, the two forms, merge tags, and what a recipient's message is."""

from __future__ import annotations

import pytest
from campaign_support import THANKS, write_template

from sendguard import InputError
from sendguard.campaign.template import load_template


def test_front_matter_declares_the_campaign(tmp_path):
    template = load_template(write_template(tmp_path, THANKS))
    assert template.meta.name == "SecureHome Plus: thank you"
    assert template.meta.segment == ("customers-with-product:SecureHome Plus",)
    assert template.email_column == "email"
    assert template.columns == {"first_name", "last_name", "company", "balance"}
    assert [e.tag for e in template.expressions][:3] == [
        "{{ first_name }}",
        "{{ last_name }}",
        "{{ first_name }}",
    ]


def test_rendered_message_is_what_jinja_renders(tmp_path):
    template = load_template(write_template(tmp_path, THANKS))
    row = {
        "email": " Kim@Example.com",
        "first_name": "Kim",
        "last_name": "Lee",
        "company": "Lee & Co",
        "balance": None,
    }
    msg = template.render_message(row)
    assert msg["To"] == "Kim Lee <Kim@Example.com>"
    assert msg["Subject"] == "Kim, thank you for your purchase of SecureHome Plus"
    body = msg.get_content()
    assert "Hi Kim,\n" in body and "for Lee & Co." in body
    assert "balance is $.\n" in body  # a null value renders empty, like an absent one


def test_a_line_break_in_a_header_value_is_a_space(tmp_path):
    template = load_template(write_template(tmp_path, THANKS))
    msg = template.render_message({"email": "a@b.com", "first_name": "Kim\nBcc: x@evil.com"})
    assert msg["Subject"].startswith("Kim Bcc: x@evil.com, thank you") and msg["Bcc"] is None


def test_manifest_with_text_and_html_files(tmp_path):
    (tmp_path / "body.txt").write_text("Hi {{ first_name }},\nThanks.\n")
    (tmp_path / "body.html").write_text("<p>Hi {{ first_name }},</p><p>Thanks.</p>")
    manifest = tmp_path / "campaign.toml"
    manifest.write_text(
        'name = "Thanks"\nmode = "test"\nexpected_size = 10\nsubject = "Thanks, {{ first_name }}"\n'
        'from = "RevCalc <news@revcalc.io>"\ntext = "body.txt"\nhtml = "body.html"\n'
    )
    template = load_template(manifest)
    assert (template.meta.mode, template.meta.expected_size) == ("test", 10)
    msg = template.render_message({"email": "kim@example.com", "first_name": "<Kim>"})
    assert msg["To"] == "kim@example.com"
    html = msg.get_body(("html",)).get_content()
    assert "<p>Hi &lt;Kim&gt;,</p>" in html  # autoescaped in HTML, as the recipient's client shows it
    assert "Hi <Kim>," in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('+++\nname = "x"\ncolour = "red"\n+++\n' + THANKS.split("+++\n", 2)[2], "unknown key 'colour'"),
        ('+++\nmode = "staging"\n+++\n' + THANKS.split("+++\n", 2)[2], 'mode must be "test" or "live"'),
        ("Hello there\n", "not an RFC 5322 message"),
        (THANKS.replace("Hi {{ first_name }},", "Hi {{ first_name ,"), "merge tag syntax error"),
        (THANKS.replace("Hi {{", "Hi \ue000 {{"), "private-use"),
        (
            THANKS.replace("From: RevCalc", "Cc: {{ manager }}\nFrom: RevCalc"),
            "merge tags in Cc are not supported",
        ),
    ],
)
def test_template_errors_name_the_problem(tmp_path, text, error):
    with pytest.raises(InputError, match=error):
        load_template(write_template(tmp_path, text))

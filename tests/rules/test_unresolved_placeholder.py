import pytest

from rules_support import Case, assert_fires, assert_quiet

RULE = "unresolved-placeholder"

TRIGGERS = [
    Case("angle-spaced-merge-word", dict(body="Dear <<First Name>>,\n"), "<<First Name>>"),
    Case("jinja", dict(body="Hi {{ first_name }},\n"), "{{ first_name }}"),
    Case("subject-braces", dict(subject="{FirstName}, your renewal"), "{FirstName}"),
    Case("mailchimp", dict(body="Hi *|FNAME|*,\n"), "*|FNAME|*"),
    Case("marketing-cloud", dict(body="Dear %%First_Name%%,\n"), "%%First_Name%%"),
    Case("square-brackets", dict(body="Dear [FirstName],\n"), "[FirstName]"),
    Case("square-brackets-spaced", dict(body="Dear [First Name], about [Company Name]\n"), "[First Name]"),
    Case("dollar", dict(body="Hi ${name},\n"), "${name}"),
    Case("angle", dict(body="Hi <<name>>,\n"), "<<name>>"),
    Case("salesforce", dict(body="Hi {!Contact.FirstName},\n"), "{!Contact.FirstName}"),
    Case("jinja-block", dict(body="{% if vip %}Thanks{% endif %}\n"), "{% if vip %}"),
    Case(
        "html-attribute",
        dict(body="Hi Peter", html='<p>Hi Peter</p><a href="{{ unsubscribe_url }}">x</a>'),
        "unsubscribe_url",
    ),
    Case("body-brace-merge-word", dict(body="Dear {first_name},\n"), "{first_name}"),
]
NEAR_MISSES = [
    # Code and notes in real mail (SpamAssassin ham: exmh and rpm lists)
    Case("shell-variable", dict(body='Hi Peter,\nExmh_Status "${args}: $err" purple\n')),
    Case("rpm-macro", dict(body="Hi Peter,\ninstall -m 755 %{name}-%{version}/*\n")),
    Case("log-braces", dict(body="Hi Peter,\n18:19:04 Ftoc_PickMsgs {{1 hit}}\n")),
    Case("product-link-word", dict(body="Hi Peter,\nI would like to use [Link] a lot more.\n")),
    # Lotus Notes attachment note, seen on real mail (Enron corpus, buy-r/inbox/175.)
    Case("lotus-attachment-note", dict(body="Hi Peter,\n<<Concur Expense Document>> - January 2002\n")),
    Case("code-braces-in-body", dict(body="Hi Peter,\nSet {timeout} in the config as {value}.\n")),
    Case("external-tag", dict(subject="[EXTERNAL] Re: invoice", body="Hi Peter,\nSee [1] and [Appendix].\n")),
    Case("attachment-note", dict(body="Hi Peter,\n<<agenda.doc>> <<Q3 Report.pdf>>\n")),
    Case(
        "quoted-template",
        dict(
            body="Fixed.\n\nOn Mon, Peter <peter.jones@acme.com> wrote:\n> Why does it say Hi *|FNAME|* ?\n"
        ),
    ),
    Case("json", dict(body='Hi Peter,\nSend {"id": 4} to the API.\n')),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    assert_fires(RULE, case)


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)

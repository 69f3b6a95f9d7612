import pytest

from rules_support import Case, assert_fires, assert_quiet

RULE = "missing-attachment"
PDF = [("contract.pdf", b"%PDF-1.4", "application/pdf")]

TRIGGERS = [
    # Phrasings from the hand-labelled real mail (bench/labels/attachment_labels.tsv)
    Case(
        "attached-below",
        dict(body="Hi Peter,\nThe two images attached below show the error.\n"),
        "attached",
    ),
    Case("trailing-attached", dict(body="Hi Peter,\nThe Q3 numbers, attached.\n"), "attached"),
    Case(
        "open-the-attachment",
        dict(body="Hi Peter,\nPlease open and read the attachment.\n"),
        "read the attachment",
    ),
    Case(
        "please-find-attached",
        dict(body="Hi Peter,\nPlease find attached the signed contract.\n"),
        "find attached",
    ),
    Case("ive-attached", dict(body="Hi Peter,\nI've attached the logs you asked for.\n"), "attached"),
    Case("attached-is", dict(body="Hi Peter,\nAttached is the Q3 report.\n"), "Attached is"),
    Case("enclosed", dict(body="Dear Peter,\nEnclosed please find our quote.\n"), "Enclosed please find"),
    Case("see-attached", dict(body="Hi Peter,\nsee attached.\n"), "see attached"),
    Case("subject", dict(subject="Invoice attached", body="Hi Peter,\nThanks.\n")),
    Case(
        "inline-logo-only",
        dict(body="Hi Peter,\nPlease find attached the invoice.\n", attachments=[]),
        "find attached",
    ),
]
NEAR_MISSES = [
    # SpamAssassin ham: a named inline part (easy-ham-1/01216…) and a uuencoded file (hard-ham-1/00189…)
    Case(
        "named-inline-part",
        dict(
            body="Hi Peter,\nI've attached the clip.\n", attachments=[("clip.mng", b"\x8aMNG", "video/mng")]
        ),
    ),
    Case(
        "uuencoded",
        dict(body="Hi Peter,\nI've attached the data.\n\nbegin 644 oops1.dat\nM86)C9&5F9V@*\n`\nend\n"),
    ),
    Case(
        "has-attachment", dict(body="Hi Peter,\nPlease find attached the signed contract.\n", attachments=PDF)
    ),
    Case("separately", dict(body="Hi Peter,\nI will send the file separately.\n")),
    Case("not-attached", dict(body="Hi Peter,\nThe report is not attached; it is on the portal.\n")),
    Case("their-attachment", dict(body="Hi Peter,\nThanks, the attachment you sent opened fine.\n")),
    Case(
        "quoted",
        dict(
            body="Got it.\n\nOn Mon, Peter <peter.jones@acme.com> wrote:\n> Please find attached the logs.\n"
        ),
    ),
    Case("disclaimer", dict(body="Hi Peter,\nThanks.\n\nThis email and any attachments are confidential.\n")),
    Case(
        "below-signature",
        dict(body="Hi Peter,\nThanks.\n-- \nSam\nSee attached policy at revcalc.io/policy\n"),
    ),
    Case("emotional", dict(body="Hi Peter,\nThe team is very attached to the old dashboard.\n")),
]


@pytest.mark.parametrize("case", TRIGGERS, ids=str)
def test_fires(case: Case) -> None:
    assert_fires(RULE, case)


@pytest.mark.parametrize("case", NEAR_MISSES, ids=str)
def test_quiet(case: Case) -> None:
    assert_quiet(RULE, case)

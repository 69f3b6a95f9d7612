"""`sendguard campaign check`: exit codes, JSON keys, one-line errors; and the shipped example."""

from __future__ import annotations

import json

import pytest
from campaign_support import THANKS, customer, org, write_audience, write_template

from sendguard.cli import main
from support import ROOT

EXAMPLE = ROOT / "examples" / "campaign"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["campaign", "check", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_0_and_json_keys(tmp_path, capsys):
    rows = [customer("kim@gmail.com", "Kim"), customer("jo@gmail.com", "")]
    config, template = org(tmp_path), write_template(tmp_path, THANKS)
    code, out, _ = run(
        capsys,
        "--config",
        str(config),
        "--format",
        "json",
        "--workers",
        "1",
        str(template),
        str(write_audience(tmp_path, rows)),
    )
    assert code == 0
    data = json.loads(out)
    assert {"verdict", "audience", "would_send", "held", "reasons", "template_findings", "samples"} <= set(
        data
    )
    assert (data["verdict"], data["audience"], data["would_send"], data["held"]) == ("warn", 2, 1, 1)
    assert data["reasons"] == {"missing-merge-field": 1} and data["samples"] == {
        "missing-merge-field": ["jo@gmail.com"]
    }


def test_shipped_example_is_blocked_for_the_reasons_it_shows(capsys):
    code, out, _ = run(
        capsys,
        "--config",
        str(EXAMPLE / "sendguard.toml"),
        "--format",
        "json",
        str(EXAMPLE / "purchase-thanks.eml"),
        str(EXAMPLE / "audience.csv"),
    )
    assert code == 1
    data = json.loads(out)
    assert data["reasons"] == {
        "segment-mismatch": 2,
        "missing-merge-field": 3,
        "balance-mismatch": 3,
        "duplicate": 1,
        "foreign-account-content": 1,
        "role-address": 1,
        "suppressed": 1,
    }
    assert (data["audience"], data["would_send"]) == (12, 4)


def test_shipped_draft_goes_to_the_seed_list_only(capsys):
    config, draft = str(EXAMPLE / "sendguard.toml"), str(EXAMPLE / "purchase-thanks-draft.eml")
    assert run(capsys, "--config", config, draft, str(EXAMPLE / "seed-list.csv"))[0] == 0
    code, out, _ = run(capsys, "--config", config, draft, str(EXAMPLE / "audience.csv"))
    assert code == 1
    assert "not-on-test-list" in out and "BLOCK" in out
    code, out, _ = run(capsys, "--config", config, "--mode", "live", draft, str(EXAMPLE / "seed-list.csv"))
    assert code == 1 and "test-marker" in out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["missing.eml", "audience.csv"], "missing.eml: template not found"),
        (["template.eml", "nowhere.csv"], "nowhere.csv: audience not found"),
        (["template.eml", "audience.csv", "--segment", "tier=gold"], "names column 'tier'"),
        (["broken.eml", "audience.csv"], "broken.eml:3: invalid TOML"),
        (["to-fixed.eml", "audience.csv"], "To must be the recipient's address as a merge tag"),
    ],
)
def test_input_errors_are_one_line_exit_2(tmp_path, capsys, monkeypatch, args, error):
    monkeypatch.chdir(tmp_path)
    config = org(tmp_path)
    write_template(tmp_path, THANKS)
    write_template(
        tmp_path, '+++\nname = "x"\nsegment = kind=lead\n+++\n' + THANKS.split("+++\n", 2)[2], "broken.eml"
    )
    write_template(tmp_path, THANKS.replace("<{{ email }}>", "<peter.jones@acme.com>"), "to-fixed.eml")
    write_audience(tmp_path, [customer("kim@gmail.com", "Kim")])
    code, _, err = run(capsys, "--config", str(config), *args)
    assert code == 2
    assert err.count("\n") == 1 and error in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["campaign", "check", "t.eml", "a.csv", "--workers", "0"])
    assert exit_info.value.code == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err

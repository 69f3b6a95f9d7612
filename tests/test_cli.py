"""The `sendguard` CLI: exit codes, output formats, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sendguard.cli import main
from sendguard.rules import RULES
from support import EXAMPLE_CONFIG, EXAMPLE_MESSAGES, EXAMPLE_ORG, build_message

CFG = ["--config", str(EXAMPLE_CONFIG)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_message_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *CFG, str(EXAMPLE_MESSAGES / "01-good-reply-with-attachment.eml"))
    assert code == 0
    assert "PASS" in out


def test_blocking_message_exits_1_and_marks_the_span(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *CFG, str(EXAMPLE_MESSAGES / "04-bad-wrong-balance.eml"))
    assert code == 1
    assert "balance-mismatch" in out
    line = next(ln for ln in out.splitlines() if "outstanding balance of $400.00" in ln)
    carets = out.splitlines()[out.splitlines().index(line) + 1]
    assert carets.index("^") == line.index("$400.00") and carets.count("^") == len("$400.00")
    assert "USD 9.00" in out  # the suggestion names the ledger balance


def test_warning_exits_0_unless_strict(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLE_MESSAGES / "06-warn-missing-attachment.eml")
    assert run(capsys, "check", *CFG, path)[0] == 0
    assert run(capsys, "check", *CFG, "--strict", path)[0] == 1


def test_json_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    files = [
        str(EXAMPLE_MESSAGES / "02-bad-cc-other-customer.eml"),
        str(EXAMPLE_MESSAGES / "01-good-reply-with-attachment.eml"),
    ]
    code, out, _ = run(capsys, "check", *CFG, "--format", "json", *files)
    data = json.loads(out)
    assert code == 1
    assert [r["verdict"] for r in data["results"]] == ["block", "pass"]
    finding = data["results"][0]["findings"][0]
    assert set(finding) == {"rule", "severity", "message", "location", "evidence", "suggestion"}
    assert finding["rule"] == "cross-account-recipients" and finding["severity"] == "block"
    assert finding["location"]["field"] == "Cc"


def test_config_from_env_and_from_cwd(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    msg = str(EXAMPLE_MESSAGES / "02-bad-cc-other-customer.eml")
    monkeypatch.setenv("SENDGUARD_CONFIG", str(EXAMPLE_CONFIG))
    assert run(capsys, "check", msg)[0] == 1
    monkeypatch.delenv("SENDGUARD_CONFIG")
    shutil.copytree(EXAMPLE_ORG, tmp_path / "org")
    monkeypatch.chdir(tmp_path / "org")
    assert run(capsys, "check", msg)[0] == 1
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check", msg)
    assert code == 2 and "no config given" in err


def test_every_example_message_has_the_expected_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    """File names say what each shipped example must give: good-* pass, warn-* warn, bad-* block."""
    code, out, _ = run(
        capsys, "check", *CFG, "--format", "json", *sorted(map(str, EXAMPLE_MESSAGES.glob("*.eml")))
    )
    results = json.loads(out)["results"]
    assert len(results) >= 12
    for r in results:
        expected = {"good": "pass", "warn": "warn", "bad": "block"}[Path(r["path"]).name.split("-")[1]]
        assert r["verdict"] == expected, (r["path"], [f["rule"] for f in r["findings"]])


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0
    for rule in RULES:
        assert rule.id in out
    code, out, _ = run(capsys, "explain", "cross-account-recipients")
    assert code == 0 and "Bad" in out and "Good" in out
    code, _, err = run(capsys, "explain", "no-such-rule")
    assert code == 2 and "unknown rule" in err


@pytest.fixture()
def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "garbage": b"\x00\x01\x02\xff\xfe\xfd" * 1000,
        "8bit": bytes(range(128, 256)) * 40,
        "no-headers": b"Hello Peter,\nthe invoice is attached.\n",
        "no-recipients": b"From: sam@revcalc.io\nSubject: hi\n\nbody\n",
        "huge": build_message() + b"A" * (25 * 1024 * 1024),
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.eml"
        out[name].write_bytes(data)
    return out


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("garbage", "not an RFC 5322 message"),
        ("8bit", "not an RFC 5322 message"),
        ("no-headers", "not an RFC 5322 message"),
        ("no-recipients", "no recipients"),
        ("huge", "over the 20 MB limit"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], bad_inputs: dict[str, Path], name: str, reason: str
) -> None:
    code, _, err = run(capsys, "check", *CFG, str(bad_inputs[name]))
    assert code == 2
    assert err.count("\n") == 1 and reason in err and str(bad_inputs[name]) in err


def test_missing_file_and_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", *CFG, str(tmp_path / "nope.eml"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "check", *CFG, str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_bad_config_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "sendguard.toml").write_text("[organization\nname='x'\n")
    code, _, err = run(
        capsys,
        "check",
        "--config",
        str(tmp_path / "sendguard.toml"),
        str(EXAMPLE_MESSAGES / "01-good-reply-with-attachment.eml"),
    )
    assert code == 2 and "sendguard.toml:1: invalid TOML" in err


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "--format", "xml", "x.eml"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_real_process_prints_no_traceback(bad_inputs: dict[str, Path]) -> None:
    """The installed entry point, as a user runs it: one line on stderr, exit 2, never a traceback."""
    exe = Path(sys.executable).parent / "sendguard"
    for path in bad_inputs.values():
        proc = subprocess.run(
            [str(exe), "check", *CFG, str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_scan_summarises_an_archive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    archive = tmp_path / "sent"
    shutil.copytree(EXAMPLE_MESSAGES, archive)
    (archive / "broken.eml").write_bytes(b"\xff\xfe not mail")
    code, out, _ = run(capsys, "scan", *CFG, "--format", "json", str(archive))
    data = json.loads(out)
    assert code == 0
    assert data["messages"] == len(list(EXAMPLE_MESSAGES.glob("*.eml")))
    assert [u["path"] for u in data["unreadable"]] == [str(archive / "broken.eml")]
    assert data["rules"]["cross-account-recipients"]["messages"]["block"] == 1
    assert data["verdicts"]["block"] >= 5


def test_scan_reads_mbox(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mbox = tmp_path / "sent.mbox"
    parts = []
    for p in sorted(EXAMPLE_MESSAGES.glob("0[1-4]*.eml")):
        parts.append(
            b"From sam@revcalc.io Mon Nov 23 09:00:00 2026\n" + p.read_bytes().replace(b"\r\n", b"\n") + b"\n"
        )
    mbox.write_bytes(b"".join(parts))
    code, out, _ = run(capsys, "scan", *CFG, "--format", "json", str(mbox))
    data = json.loads(out)
    assert data["messages"] == 4 and data["verdicts"]["block"] == 3


def test_errors_keep_path_and_line_across_processes() -> None:
    """Campaign and relay workers raise in another process; the error comes back pickled."""
    import pickle

    from sendguard.errors import InputError

    error = pickle.loads(pickle.dumps(InputError("bad row", path="audience.csv", line=3)))
    assert type(error) is InputError
    assert (error.reason, error.path, error.line) == ("bad row", "audience.csv", 3)
    assert str(error) == "audience.csv:3: bad row"


def test_vocabulary_learns_a_teams_term_and_the_guard_then_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = tmp_path / "sent"
    sent.mkdir()
    for i in range(3):
        body = f"Hi Peter,\n\nThe socal desk confirmed volume {i} for tomorrow.\n\nSam\n"
        (sent / f"{i}.eml").write_bytes(build_message(body=body))
    (sent / "copy.eml").write_bytes(
        build_message(body="Hi Peter,\n\nThe socal desk confirmed volume 0 for tomorrow.\n\nSam\n")
    )
    vocab = tmp_path / "org" / "vocabulary.txt"
    shutil.copytree(EXAMPLE_ORG, tmp_path / "org")
    config = tmp_path / "org" / "sendguard.toml"

    code, out, err = run(capsys, "vocabulary", "--config", str(config), str(sent), "--output", str(vocab))
    assert code == 0 and out == ""
    assert [w for w in vocab.read_text().splitlines() if not w.startswith("#")] == ["socal"]
    assert "1 word from 4 messages" in err

    message = sent / "0.eml"
    assert "spelling" in run(capsys, "check", "--config", str(config), str(message))[1]
    config.write_text(config.read_text().replace("[vocabulary]", '[vocabulary]\nfile = "vocabulary.txt"'))
    assert "spelling" not in run(capsys, "check", "--config", str(config), str(message))[1]


def test_vocabulary_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "vocabulary", *CFG, str(tmp_path / "missing"))
    assert code == 2 and "no such file or directory" in err and "Traceback" not in err
    code, _, err = run(capsys, "vocabulary", *CFG, str(tmp_path), "--min-messages", "0")
    assert code == 2 and "--min-messages must be at least 1" in err

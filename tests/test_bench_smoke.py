"""Smoke test of the benchmark report: compare.py's sections import, and the quick path of the
attachment, real-mail and speed sections runs on a handful of messages in seconds.

The corpora live outside the repository (../shared/corpora); without them these tests skip.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CORPORA = ROOT.parent / "shared" / "corpora"
sys.path.insert(0, str(BENCH))

import compare  # noqa: E402 - bench/ is not a package; it is put on the path just above

needs_corpora = pytest.mark.skipif(
    not (CORPORA / "enron").is_dir() or not (CORPORA / "spamassassin-ham").is_dir(),
    reason=f"the public corpora are not at {CORPORA} (Enron and SpamAssassin ham are needed)",
)


@pytest.mark.parametrize("section", compare.SECTIONS, ids=lambda s: s.key)
def test_section_module_imports_and_has_run(section: compare.Section) -> None:
    if not (BENCH / f"{section.module}.py").exists():
        pytest.skip(f"bench/{section.module}.py has not landed yet; compare.py reports it as missing")
    module = importlib.import_module(section.module)
    assert callable(module.run)


def test_generic_rendering_of_an_unknown_shape() -> None:
    text = compare.render_generic({"recall": 0.9, "by_list": {"wikipedia": {"n": 3}}, "examples": ["a"]})
    assert "| recall | 0.9 |" in text
    assert "wikipedia" in text and "examples" in text


@needs_corpora
def test_attachment_quick() -> None:
    import attachment_bench

    result = attachment_bench.run(quick=True)
    sendguard = result["scores"]["sendguard missing-attachment"]["all"]
    assert sendguard["tp"] + sendguard["fn"] > 0
    assert result["targets"] and "precision" in attachment_bench.to_markdown(result)


@needs_corpora
def test_realmail_on_a_handful_of_messages() -> None:
    import realmail_bench

    result = realmail_bench.run(limit=15)
    assert [c["key"] for c in result["corpora"]] == ["enron-sent", "enron-all", "spamassassin"]
    # The whole Enron set is reported as its sent folders plus the other folders: 15 + 15.
    limits = {"enron-sent": 15, "enron-all": 30, "spamassassin": 15}
    assert all(
        0 < c["messages"] + sum(c["unreadable"].values()) <= limits[c["key"]] for c in result["corpora"]
    )
    assert "Every block-level hit" in realmail_bench.to_markdown(result)


@needs_corpora
def test_relay_bench_real_mail_is_sent_as_the_example_org() -> None:
    from email import message_from_bytes

    import relay_bench
    import sendguard

    mix = relay_bench.real_mail(6)
    guard = sendguard.load(relay_bench.EXAMPLE_ORG / "sendguard.toml")
    assert len(mix) == 6
    for raw in mix:
        msg = message_from_bytes(raw)
        assert msg.get_all("From") == [f"Sam Carter <{relay_bench.SENDER}>"]
        assert msg.get_all("To") == [", ".join(relay_bench.RCPTS)] and msg["Cc"] is None
        assert guard.check(raw).verdict != "block"  # held mail would never reach the bench's sink


@needs_corpora
def test_speed_on_a_handful_of_messages() -> None:
    import speed_bench

    result = speed_bench.run(quick=True, messages=10)
    assert result["contacts"] == 2_000 * speed_bench.CONTACTS_PER_ACCOUNT
    assert result["timing"]["messages"] > 0
    assert set(result["timing"]["rules"]) == set(result["rules"])


@needs_corpora
def test_compare_writes_a_report_when_a_section_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One real section and one whose worker cannot even start: both end up in the report."""
    broken = compare.Section(9, "broken", "no_such_bench_module_here", "A section that breaks", 30)
    monkeypatch.setattr(compare, "SECTIONS", (*compare.SECTIONS, broken))
    out = tmp_path / "REPORT.md"
    assert compare.main(["--quick", "--only", "attachment,broken", "--out", str(out)]) == 0
    report = out.read_text(encoding="utf-8")
    assert "## Targets vs measured" in report and "Versions: Python" in report
    assert "# 3. Missing attachment vs keyword baselines" in report
    assert "# 9. A section that breaks" in report and "**This section failed**" in report
    assert (tmp_path / "report" / "attachment_pr.png").exists()

"""Each campaign check on a small generated audience, through `Guard.check_campaign`."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from campaign_support import THANKS, check, customer, org, write_audience, write_template

from sendguard import ConfigError, Finding, InputError, Report, Severity
from sendguard.campaign import CampaignReport

DRAFT = THANKS.replace("Subject: {{ first_name }}", "Subject: {Test} {{ first_name }}")


def lead(email: str, first: str = "Lee") -> dict[str, str]:
    return customer(email, first, kind="lead", products="")


def held_for(report: CampaignReport, reason: str) -> list[str]:
    return report.samples.get(reason, []) if report.reasons.get(reason) else []


def test_clean_campaign_passes(tmp_path):
    rows = [customer("peter.jones@acme.com", "Peter", company="Acme Corp", balance="9.00")]
    rows += [customer(f"buyer{i}@gmail.com", "Kim", company="your home") for i in range(5)]
    report = check(org(tmp_path), write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    assert isinstance(report, Report) and isinstance(report, CampaignReport)
    assert (report.verdict, report.audience, report.would_send, report.held) == ("pass", 6, 6, 0)
    assert report.reasons == {} and report.template_findings == []


def test_leads_outside_the_segment_block_the_campaign(tmp_path):
    """The vendor story: a purchase confirmation about to go to leads who never bought."""
    rows = [customer(f"buyer{i}@gmail.com", "Kim") for i in range(8)]
    rows += [lead("sam.taylor@gmail.com"), lead("priya.nair@outlook.com")]
    report = check(org(tmp_path), write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    assert report.verdict == "block"
    assert report.reasons["segment-mismatch"] == 2
    assert report.samples["segment-mismatch"] == ["sam.taylor@gmail.com", "priya.nair@outlook.com"]
    assert report.segment == ["kind=customer", "products~SecureHome Plus"]
    assert report.would_send == 8
    [finding] = [f for f in report.findings if f.rule == "segment-mismatch"]
    assert isinstance(finding, Finding) and finding.severity is Severity.BLOCK


def test_segment_from_the_command_line_replaces_the_header(tmp_path):
    rows = [customer("a@gmail.com", "Al"), lead("b@gmail.com")]
    config, template, audience = (
        org(tmp_path),
        write_template(tmp_path, THANKS),
        write_audience(tmp_path, rows),
    )
    report = check(config, template, audience, segment=["leads"])
    assert report.segment == ["kind=lead"] and report.samples["segment-mismatch"] == ["a@gmail.com"]
    report = check(config, template, audience, segment=["products~securehome plus", "kind=Customer"])
    assert report.samples["segment-mismatch"] == ["b@gmail.com"]  # case and spaces do not matter


@pytest.mark.parametrize(
    ("segment", "error"),
    [
        (["customers-with-product"], "needs an argument"),
        (["vip"], "neither COLUMN=VALUE"),
        (["tier=gold"], "column 'tier'"),
    ],
)
def test_bad_segments_are_input_errors(tmp_path, segment, error):
    config, template = org(tmp_path), write_template(tmp_path, THANKS)
    with pytest.raises(InputError, match=error):
        check(config, template, write_audience(tmp_path, [customer("a@gmail.com")]), segment=segment)


def test_test_send_to_a_live_address_is_blocked(tmp_path):
    rows = [
        customer("seed.inbox@gmail.com", "Seed"),  # on the test list
        customer("sam.carter@revcalc.io", "Sam"),  # internal
        customer("peter.jones@acme.com", "Peter", company="Acme Corp", balance="9.00"),  # a live customer
    ]
    report = check(
        org(tmp_path), write_template(tmp_path, DRAFT), write_audience(tmp_path, rows), mode="test"
    )
    assert report.verdict == "block"
    assert report.reasons == {"not-on-test-list": 1}
    assert report.samples["not-on-test-list"] == ["peter.jones@acme.com"]
    # The draft's test marker is expected in a test send: advice, not a block.
    [marker] = report.template_findings
    assert (marker.rule, marker.severity) == ("test-marker", Severity.INFO)


def test_test_send_to_the_seed_list_passes_and_the_same_draft_live_is_blocked(tmp_path):
    rows = [customer("seed.inbox@gmail.com", "Seed"), customer("sam.carter@revcalc.io", "Sam")]
    config, template, audience = (
        org(tmp_path),
        write_template(tmp_path, DRAFT),
        write_audience(tmp_path, rows),
    )
    assert check(config, template, audience, mode="test").verdict == "pass"
    live = check(config, template, audience, mode="live")
    assert live.verdict == "block"
    [marker] = live.template_findings
    assert (marker.rule, marker.severity, marker.evidence) == ("test-marker", Severity.BLOCK, "{Test}")
    assert marker.location.text.startswith("{Test} {{ first_name }}, thank you")  # shown as written


def test_missing_merge_field_holds_the_recipient(tmp_path):
    rows = [customer(f"k{i}@gmail.com", "Kim") for i in range(30)] + [customer("nameless@gmail.com", "  ")]
    report = check(org(tmp_path), write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    assert report.reasons == {"missing-merge-field": 1}
    assert report.samples["missing-merge-field"] == ["nameless@gmail.com"]
    assert (report.held, report.would_send, report.verdict) == (1, 30, "warn")
    [finding] = report.recipient_findings
    assert "{{ first_name }} 1" in finding.message


def test_missing_column_fails_every_recipient(tmp_path):
    rows = [
        {"email": f"k{i}@gmail.com", "first_name": "Kim", "kind": "customer", "products": "SecureHome Plus"}
        for i in range(3)
    ]
    report = check(org(tmp_path), write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    assert report.reasons["missing-merge-field"] == 3 and report.would_send == 0
    assert {f.rule for f in report.campaign_findings} >= {"missing-column"}
    assert report.verdict == "block"


def test_duplicates_keep_the_first_occurrence_across_chunks(tmp_path):
    rows = [customer(f"k{i}@gmail.com", "Kim") for i in range(40)]
    rows[25]["email"] = " K3@GMAIL.com "  # the same address as row 3, in another chunk
    rows[26]["email"] = "k3@gmail.com"
    rows[39]["email"] = "k38@gmail.com"  # right after its first occurrence
    config = org(tmp_path, chunk_rows=10)
    report = check(config, write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    assert report.reasons == {"duplicate": 3}
    assert report.samples["duplicate"] == ["k3@gmail.com", "k3@gmail.com", "k38@gmail.com"]
    assert (report.held, report.would_send) == (3, 37)


def test_suppressed_role_and_invalid_addresses_are_held(tmp_path):
    rows = [customer(f"k{i}@gmail.com", "Kim") for i in range(40)]
    rows += [
        customer("gone@gmail.com", "Gus"),
        customer("anyone@optout.example", "Ann"),
        customer("info@gmail.com", "Info"),
        customer("not-an-address", "Nat"),
    ]
    config = org(tmp_path, suppressed=["GONE@gmail.com", "@optout.example"])
    report = check(config, write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    assert report.reasons == {"suppressed": 2, "role-address": 1, "invalid-address": 1}
    assert report.samples["suppressed"] == ["gone@gmail.com", "anyone@optout.example"]
    assert report.samples["invalid-address"] == ["not-an-address"]
    severities = {f.rule: f.severity for f in report.recipient_findings}
    assert severities["suppressed"] is Severity.INFO  # expected hygiene: held, not a warning
    assert report.would_send == 40


def test_volume_guard_and_held_share(tmp_path):
    rows = [customer(f"k{i}@gmail.com", "Kim") for i in range(12)]
    config, template, audience = (
        org(tmp_path),
        write_template(tmp_path, THANKS),
        write_audience(tmp_path, rows),
    )
    assert check(config, template, audience, expect_size=11).verdict == "pass"  # within 10%
    report = check(config, template, audience, expect_size=10)
    assert [f.rule for f in report.campaign_findings] == ["volume-exceeded"] and report.verdict == "block"

    strict = org(tmp_path / "strict", max_held_share=0.05)
    rows[0]["first_name"] = ""
    report = check(strict, template, write_audience(tmp_path, rows, "one-held.csv"))
    assert "too-many-held" in {f.rule for f in report.campaign_findings}  # 1 of 12 > 5%


def test_core_rules_per_recipient(tmp_path):
    rows = [
        customer("peter.jones@acme.com", "Peter", company="Acme Corp", balance="9.00"),
        customer("anna.berg@acme.com", "Anna", company="Acme Corp", balance="400.00"),
        customer("maria.garcia@globex.com", "Maria", company="Northwind Telecom"),
        customer("kim@gmail.com", "*|FNAME|*", company="your home"),
        customer("x@acrne.com", "Xi", company="your home"),
    ]
    report = check(org(tmp_path), write_template(tmp_path, THANKS), write_audience(tmp_path, rows))
    held = {r: report.samples[r] for r in report.reasons}
    assert held == {
        "balance-mismatch": ["anna.berg@acme.com"],
        "foreign-account-content": ["maria.garcia@globex.com"],
        "unresolved-placeholder": ["kim@gmail.com"],
        "lookalike-domain": ["x@acrne.com"],
    }
    [balance] = [f for f in report.recipient_findings if f.rule == "balance-mismatch"]
    assert "$400.00" in balance.message and "USD 9.00" in balance.message


def test_parquet_table_and_dataframe_audiences_agree_with_csv(tmp_path):
    rows = [customer(f"k{i}@gmail.com", "Kim") for i in range(5)] + [
        customer("peter.jones@acme.com", "Peter")
    ]
    rows += [lead("lee@gmail.com"), customer("k1@gmail.com", "")]
    config, template = org(tmp_path), write_template(tmp_path, THANKS)
    expected = check(config, template, write_audience(tmp_path, rows)).to_dict()
    expected.pop("run")
    table = pa.Table.from_pylist(rows)
    # Parquet keeps types: a real list column for products.
    typed = table.set_column(
        table.schema.get_field_index("products"),
        "products",
        pa.array([[p for p in r["products"].split(";") if p] for r in rows], pa.list_(pa.string())),
    )
    pq.write_table(typed, tmp_path / "audience.parquet")
    for audience in (tmp_path / "audience.parquet", table, table.to_pandas()):
        got = check(config, template, audience).to_dict()
        got.pop("run")
        assert got == expected


def test_statements_check_every_recipient_in_full(tmp_path):
    template = THANKS.replace(
        "Hi {{ first_name }},", "{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}"
    )
    rows = [customer("kim@gmail.com", "Kim"), customer("anna.berg@acme.com", "", balance="400.00")]
    report = check(org(tmp_path), write_template(tmp_path, template), write_audience(tmp_path, rows))
    assert report.run["checked_in_full"] == 2
    assert report.reasons == {"balance-mismatch": 1, "missing-merge-field": 1}


def test_sql_audience_streams_the_query(tmp_path):
    import sqlite3

    rows = [customer(f"k{i}@gmail.com", "Kim") for i in range(7)] + [
        lead("lee@gmail.com"),
        customer("x@gmail.com", ""),
    ]
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (email, first_name, last_name, company, kind, products, balance)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)", [tuple(r.values()) for r in rows])
    config = org(tmp_path, chunk_rows=4, extra=f'audience_url = "sqlite:///{db}"')
    template = write_template(tmp_path, THANKS)
    expected = check(config, template, write_audience(tmp_path, rows)).to_dict()
    got = check(config, template, "sql:SELECT * FROM people ORDER BY rowid").to_dict()
    assert (got["reasons"], got["samples"], got["held"]) == (expected["reasons"], expected["samples"], 2)
    with pytest.raises(InputError, match="audience query failed"):
        check(config, template, "sql:SELECT * FROM nobody")


def test_reason_severities_are_configured(tmp_path):
    rows = [customer("k1@gmail.com", "Kim"), customer("K1@gmail.com", "Kim")]
    template, audience = write_template(tmp_path, THANKS), write_audience(tmp_path, rows)
    assert check(org(tmp_path / "a"), template, audience).verdict == "warn"  # a duplicate: held, a warning
    strict = org(tmp_path / "b", extra='severity = { duplicate = "block" }')
    assert check(strict, template, audience).verdict == "block"
    typo = org(tmp_path / "c", extra='severity = { duplicates = "block" }')
    with pytest.raises(ConfigError, match=r"sendguard.toml:\d+: severity: unknown reason 'duplicates'"):
        check(typo, template, audience)

"""Helpers for campaign tests: an example org with a [campaign] section, templates and audiences."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

import sendguard
from sendguard.campaign.audience import parse_segment
from sendguard.campaign.plan import CampaignOptions, Plan
from sendguard.campaign.settings import load_settings
from sendguard.campaign.template import load_template
from support import EXAMPLE_ORG

COLUMNS = ("email", "first_name", "last_name", "company", "kind", "products", "balance")

THANKS = """+++
name = "SecureHome Plus: thank you"
segment = "customers-with-product:SecureHome Plus"
+++
From: RevCalc <news@revcalc.io>
To: {{ first_name }} {{ last_name }} <{{ email }}>
Subject: {{ first_name }}, thank you for your purchase of SecureHome Plus
Content-Type: text/plain; charset=utf-8

Hi {{ first_name }},

Thank you for buying SecureHome Plus for {{ company }}. Setup takes ten minutes:
https://app.revcalc.io/securehome/setup

Your current account balance is ${{ balance }}.

The RevCalc team
"""

CAMPAIGN_TOML = """
[campaign]
test_recipients = ["seed.inbox@gmail.com"]
suppression_list = "suppressed.txt"
max_held_share = {max_held_share}
chunk_rows = {chunk_rows}
{extra}

[campaign.segments]
leads = ["kind=lead"]
customers-with-product = ["kind=customer", "products~{{}}"]
"""


def org(
    tmp_path: Path,
    suppressed: Sequence[str] = (),
    *,
    max_held_share: float = 1.0,
    chunk_rows: int = 20_000,
    extra: str = "",
) -> Path:
    """A copy of the example org with a [campaign] section (`extra`: more of its keys); returns its
    sendguard.toml."""
    target = tmp_path / "org"
    shutil.copytree(EXAMPLE_ORG, target, dirs_exist_ok=True)
    config = target / "sendguard.toml"
    campaign = CAMPAIGN_TOML.format(max_held_share=max_held_share, chunk_rows=chunk_rows, extra=extra)
    config.write_text(config.read_text() + campaign)
    (target / "suppressed.txt").write_text("".join(f"{s}\n" for s in suppressed))
    return config


def write_template(tmp_path: Path, text: str, name: str = "template.eml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def write_audience(tmp_path: Path, rows: Sequence[dict[str, str]], name: str = "audience.csv") -> Path:
    path = tmp_path / name
    columns = list(dict.fromkeys(k for row in rows for k in row)) or list(COLUMNS)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def customer(email: str, first: str = "Pat", **values: str) -> dict[str, str]:
    """An in-segment row: a customer who bought SecureHome Plus."""
    row = {
        "email": email,
        "first_name": first,
        "last_name": "Doe",
        "company": "your home",
        "kind": "customer",
        "products": "SecureHome Plus",
        "balance": "0.00",
    }
    row.update(values)
    return row


def batch(rows: Sequence[dict[str, str]]) -> pa.RecordBatch:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return pa.RecordBatch.from_pydict({c: [row.get(c) for row in rows] for c in columns})


def plan(config: Path, template: Path, mode: str = "live", segment: Sequence[str] = ()) -> Plan:
    guard = sendguard.load(config)
    settings = load_settings(guard.config, {r.id for r in guard.rules})
    conditions = parse_segment(segment, settings.named_segments)
    options = CampaignOptions(str(config), str(template), (0.0, 0.0), mode, conditions, settings)
    return Plan(guard, load_template(template, settings.email_column), options)


def check(config: Path, template: Path, audience: object, **options: object) -> sendguard.Report:
    options.setdefault("workers", 1)
    return sendguard.load(config).check_campaign(template, audience, **options)  # type: ignore[return-value]

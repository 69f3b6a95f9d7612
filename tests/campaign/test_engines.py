"""The engines give identical results: in this process, on a pool of processes, and on Dask."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from campaign_support import COLUMNS, THANKS, check, customer, org, write_audience, write_template


def audience(n: int, seed: int = 3) -> list[dict[str, str]]:
    """Customers, leads, account contacts with right and wrong balances, empty names, duplicates."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.3:
            row = customer(f"p{i}@acme.com", rng.choice(["Peter", "Anna", ""]), company="Acme Corp")
            row["balance"] = rng.choice(["9.00", "9.00", "400.00"])
        elif roll < 0.35:
            row = customer(f"lead{i}@gmail.com", "Lee", kind="lead", products="")
        else:
            row = customer(f"c{i}@gmail.com", rng.choice(["Kim", "Jo", "*|FNAME|*"]))
        if rows and rng.random() < 0.05:
            row["email"] = rng.choice(rows)["email"].upper()
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("engines")
    config = org(tmp_path, suppressed=["c10@gmail.com"], chunk_rows=97)
    return config, write_template(tmp_path, THANKS), write_audience(tmp_path, audience(1500))


def result(report):
    out = report.to_dict()
    out.pop("run")
    return out


def test_local_pool_gives_the_in_process_result(campaign):
    single = check(*campaign, workers=1)
    assert single.audience == 1500 and single.reasons["duplicate"] > 10
    assert {"segment-mismatch", "balance-mismatch", "unresolved-placeholder", "suppressed"} <= set(
        single.reasons
    )
    pooled = check(*campaign, workers=2)
    assert pooled.run["workers"] == 2
    assert result(pooled) == result(single)
    # By default a small audience is not worth starting a pool for.
    assert check(*campaign, workers=None).run["workers"] == 1


def test_dask_local_cluster_gives_the_same_result(campaign, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from sendguard.campaign import engine

    monkeypatch.setattr(engine, "DASK_BLOCK", 20_000)  # several CSV blocks: only the first has the header
    single = check(*campaign, workers=1)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = check(*campaign, engine="dask", scheduler=client)
    assert on_dask.run["engine"] == "dask"
    assert result(on_dask) == result(single)


def test_dask_reads_parquet_row_groups_and_tables(campaign, tmp_path):
    distributed = pytest.importorskip("distributed")
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    config, template, audience_csv = campaign
    expected = result(check(config, template, audience_csv, workers=1))
    as_text = pacsv.ConvertOptions(
        column_types=dict.fromkeys(COLUMNS, pa.string()), strings_can_be_null=False
    )
    table = pacsv.read_csv(audience_csv, convert_options=as_text)
    pq.write_table(table, tmp_path / "audience.parquet", row_group_size=400)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for audience in (tmp_path / "audience.parquet", table):
            assert result(check(config, template, audience, engine="dask", scheduler=client)) == expected

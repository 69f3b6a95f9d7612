"""The engines give identical results: in this process, on a pool of processes, and on Dask."""

from __future__ import annotations

import random

import pytest
from campaign_support import THANKS, check, customer, org, plan, write_audience, write_template


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


def test_dask_local_cluster_gives_the_same_result(campaign):
    distributed = pytest.importorskip("distributed")
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


def test_dask_partitions_with_chunked_arrow_columns(tmp_path):
    """dask.dataframe hands over Arrow-backed pandas columns that may be chunked."""
    import pandas as pd
    import pyarrow as pa

    from sendguard.campaign import engine

    rows = audience(40)
    table = pa.concat_tables([pa.Table.from_pylist(rows[:25]), pa.Table.from_pylist(rows[25:])])
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    assert table.column("email").num_chunks == 2
    p = plan(org(tmp_path), write_template(tmp_path, THANKS))
    engine.remember(p)
    [from_frame] = engine._check_frame(p.options, frame)
    direct = p.check_batch(table.combine_chunks().to_batches()[0])
    assert (from_frame.reasons, from_frame.samples, from_frame.rows) == (direct.reasons, direct.samples, 40)

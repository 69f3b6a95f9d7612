"""Where the chunks run: in this process, on a pool of local processes (all cores), or on Dask.

Every engine runs the same `Plan.check_batch` on chunks of the audience and hands the results to
the same `Aggregator`, which applies them in audience order; so the engines give identical results.
Workers build their plan once from the config and template paths (`plan_for`) and keep it.
Memory stays flat: a bounded number of chunks is in flight, and only chunk results come back.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sendguard.campaign.aggregate import Aggregator, Totals
from sendguard.campaign.audience import Audience
from sendguard.campaign.plan import CampaignOptions, ChunkResult, Plan
from sendguard.campaign.template import load_template
from sendguard.errors import InputError

_PLANS: dict[CampaignOptions, Plan] = {}
KEPT_PLANS = 4  # a long-lived worker (Dask) keeps the plans of its last few campaigns


def plan_for(options: CampaignOptions) -> Plan:
    """This process's plan for these options (built on first use, then reused for every chunk)."""
    plan = _PLANS.get(options)
    if plan is None:
        from sendguard.guard import load

        guard = load(options.config_path)
        plan = Plan(guard, load_template(options.template_path, options.settings.email_column), options)
        remember(plan)
    return plan


def remember(plan: Plan) -> None:
    """Let chunks checked in this process (the in-process engine, Dask threads) use this plan."""
    _PLANS[plan.options] = plan
    while len(_PLANS) > KEPT_PLANS:
        del _PLANS[next(iter(_PLANS))]


def forget(plan: Plan) -> None:
    """Drop this process's reference once the campaign is checked: its caches go with it."""
    if _PLANS.get(plan.options) is plan:
        del _PLANS[plan.options]


def _check_chunk(options: CampaignOptions, batch: pa.RecordBatch, index: int) -> ChunkResult:
    return plan_for(options).check_batch(batch, index)


def _check_frame(options: CampaignOptions, frame: Any) -> list[ChunkResult]:
    """A Dask partition, checked chunk_rows rows at a time (the caller numbers the results)."""
    # Arrow-backed pandas columns may be chunked: make them contiguous first.
    table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
    plan = plan_for(options)
    return [plan.check_batch(batch) for batch in table.to_batches(max_chunksize=options.settings.chunk_rows)]


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_local(plan: Plan, audience: Audience, columns: set[str], *, workers: int, progress: bool) -> Totals:
    options = plan.options
    batches = audience.batches(columns, options.settings.chunk_rows)
    first = next(batches, None)
    second = next(batches, None) if first is not None else None
    with Aggregator(options.settings.samples) as aggregator, _progress(audience, progress) as advance:
        if workers <= 1 or second is None:
            remember(plan)
            for index, batch in enumerate(_chain(first, second, batches)):
                aggregator.add(plan.check_batch(batch, index))
                advance(batch.num_rows)
            return aggregator.finish()
        # forkserver, not fork: the parent runs Arrow's reader threads, and fork copies their locks.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=plan_for, initargs=(options,)
        ) as pool:
            pending: deque[tuple[Future[ChunkResult], int]] = deque()
            for index, batch in enumerate(_chain(first, second, batches)):
                pending.append((pool.submit(_check_chunk, options, batch, index), batch.num_rows))
                while len(pending) >= 2 * workers:
                    _take(pending, aggregator, advance)
            while pending:
                _take(pending, aggregator, advance)
        return aggregator.finish()


def _take(pending: deque[tuple[Future[ChunkResult], int]], aggregator: Aggregator, advance: Any) -> None:
    future, rows = pending.popleft()
    aggregator.add(future.result())
    advance(rows)


def run_dask(
    plan: Plan,
    audience: Audience,
    columns: set[str],
    *,
    scheduler: Any,
    workers: int,
    progress: bool,
) -> Totals:
    """Partition the audience with Dask and check the partitions on the cluster's workers.

    `scheduler`: a `distributed.Client`, a scheduler address, or None for a LocalCluster here.
    """
    import dask
    from distributed import Client, LocalCluster

    options = plan.options
    remember(plan)  # for workers that are threads of this process
    cluster = None
    if isinstance(scheduler, Client):
        client = scheduler
    elif scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        parts = _dask_frame(audience, columns, options.settings.chunk_rows).to_delayed()
        window = 2 * max(1, sum(client.nthreads().values()))
        pending: deque[Any] = deque()
        check = dask.delayed(_check_frame, pure=True)
        with Aggregator(options.settings.samples) as aggregator, _progress(audience, progress) as advance:
            for part in parts:
                pending.append(client.compute(check(options, part)))
                while len(pending) >= window:
                    _take_dask(pending, aggregator, advance)
            while pending:
                _take_dask(pending, aggregator, advance)
            return aggregator.finish()
    finally:
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


def _take_dask(pending: deque[Any], aggregator: Aggregator, advance: Any) -> None:
    """The oldest partition's results: partitions are taken in order, so chunks are numbered here."""
    future = pending.popleft()
    results: list[ChunkResult] = future.result()
    future.release()
    for result in results:
        result.index = aggregator.received
        aggregator.add(result)
        advance(result.rows)


def _dask_frame(audience: Audience, columns: set[str], chunk_rows: int) -> Any:
    import dask.dataframe as dd

    names = [c for c in audience.columns if c in columns]
    if audience.kind == "csv":
        return dd.read_csv(
            audience.source,
            names=audience.columns,
            header=0,
            usecols=names,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            blocksize="4MB",
        )
    if audience.kind == "parquet":
        return dd.read_parquet(audience.source, columns=names, dtype_backend="pyarrow")
    table = audience.source.select(names)
    frame = table.to_pandas(types_mapper=_arrow_dtype)
    return dd.from_pandas(frame, npartitions=max(1, -(-table.num_rows // chunk_rows)), sort=False)


def _arrow_dtype(arrow_type: pa.DataType) -> Any:
    import pandas as pd

    return pd.ArrowDtype(arrow_type)


def _chain(
    first: pa.RecordBatch | None, second: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    for batch in (first, second):
        if batch is not None:
            yield batch
    yield from rest


@contextmanager
def _progress(audience: Audience, enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr (rows checked, rate, time left) when asked for and stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda rows: None
        return
    total = audience.count_rows()
    columns = [
        TextColumn("checking recipients"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("audience", total=total)
        yield lambda rows: bar.advance(task, rows)

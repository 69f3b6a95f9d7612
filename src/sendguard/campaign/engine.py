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

import dask
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
from sendguard.campaign.audience import Audience, csv_convert_options
from sendguard.campaign.plan import CampaignOptions, ChunkResult, Plan
from sendguard.campaign.template import load_template
from sendguard.errors import InputError

DASK_BLOCK = 4 << 20  # bytes of CSV per Dask task
POOL_MIN_ROWS = 250_000  # below this the local engine checks in this process (measured in bench/)
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


def _check_csv_block(
    options: CampaignOptions, block: bytes, header: list[str], names: list[str], first: bool
) -> list[ChunkResult]:
    """A block of the CSV file (whole lines; the first block holds the header), read by Arrow as
    the local engine reads it, checked chunk_rows rows at a time (the caller numbers the results)."""
    from pyarrow import csv as pacsv

    table = pacsv.read_csv(
        pa.py_buffer(block),
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1 if first else 0, use_threads=False),
        convert_options=csv_convert_options(header, names),
    )
    return _check_table(options, table)


def _check_parquet_group(
    options: CampaignOptions, path: str, group: int, names: list[str]
) -> list[ChunkResult]:
    import pyarrow.parquet as pq

    plan = plan_for(options)
    batches = pq.ParquetFile(path).iter_batches(
        batch_size=options.settings.chunk_rows, row_groups=[group], columns=names
    )
    return [plan.check_batch(batch) for batch in batches]


def _check_table(options: CampaignOptions, table: pa.Table | pa.RecordBatch) -> list[ChunkResult]:
    plan = plan_for(options)
    if isinstance(table, pa.Table):
        table = table.combine_chunks()
    return [plan.check_batch(batch) for batch in table.to_batches(max_chunksize=options.settings.chunk_rows)]


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_local(
    plan: Plan, audience: Audience, columns: set[str], *, workers: int | None, progress: bool
) -> Totals:
    """`workers` processes; None: all cores, but only for audiences large enough to repay the start
    of a pool (each worker builds its own guard, seconds for a large directory)."""
    options = plan.options
    if workers is None:
        rows = audience.count_rows()
        workers = default_workers() if rows is None or rows >= POOL_MIN_ROWS else 1
    batches = audience.batches(columns, options.settings.chunk_rows)
    first = next(batches, None)
    second = next(batches, None) if first is not None else None
    with Aggregator(options.settings.samples) as aggregator, _progress(audience, progress) as advance:
        if workers <= 1 or second is None:
            aggregator.totals.workers = 1
            remember(plan)
            for index, batch in enumerate(_chain(first, second, batches)):
                aggregator.add(plan.check_batch(batch, index))
                advance(batch.num_rows)
            return aggregator.finish()
        # forkserver, not fork: the parent runs Arrow's reader threads, and fork copies their locks.
        aggregator.totals.workers = workers
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
        window = 2 * max(1, sum(client.nthreads().values()))
        pending: deque[Any] = deque()
        with Aggregator(options.settings.samples) as aggregator, _progress(audience, progress) as advance:
            aggregator.totals.workers = window // 2
            for task in _dask_tasks(client, options, audience, columns):
                pending.append(task)
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


def _dask_tasks(
    client: Any, options: CampaignOptions, audience: Audience, columns: set[str]
) -> Iterator[Any]:
    """The audience cut into tasks for the workers, in order: CSV blocks of whole lines (workers
    read them with Arrow, as the local engine does), Parquet row groups (workers read them from the
    file), slices of an in-memory table. Workers need the same paths as this machine."""
    names = [c for c in audience.columns if c in columns]
    if audience.kind == "csv":
        from dask.bytes import read_bytes

        _, blocks = read_bytes(str(audience.source), delimiter=b"\n", blocksize=DASK_BLOCK, sample=False)
        for i, block in enumerate(blocks[0]):
            yield client.compute(
                dask.delayed(_check_csv_block, pure=True)(options, block, audience.columns, names, i == 0)
            )
    elif audience.kind == "parquet":
        import pyarrow.parquet as pq

        for group in range(pq.ParquetFile(audience.source).num_row_groups):
            yield client.submit(_check_parquet_group, options, str(audience.source), group, names, pure=False)
    else:
        table = audience.source.select(names)
        for start in range(0, table.num_rows, options.settings.chunk_rows):
            yield client.submit(
                _check_table, options, table.slice(start, options.settings.chunk_rows), pure=False
            )


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

"""Audiences: CSV or Parquet files, a SQL query (`sql:SELECT ...` on `[campaign] audience_url`), or
an Arrow table / pandas DataFrame, read in bounded chunks; and the segment conditions checked over
their columns.

A segment condition is `COLUMN=VALUE` (the column equals the value) or `COLUMN~VALUE` (a
';'-separated list column, or a Parquet list column, contains the value); comparisons ignore case
and surrounding spaces. A named segment from `[campaign.segments]` expands to its conditions, with
`{}` replaced by the argument after ':' (`customers-with-product:SecureHome Plus`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sendguard.errors import InputError

CONDITION = re.compile(r"^\s*(?P<column>[^=~]+?)\s*(?P<op>[=~])\s*(?P<value>.*?)\s*$")

AudienceSource = str | Path | pa.Table | Any  # Any: a pandas DataFrame


@dataclass(frozen=True)
class Condition:
    column: str
    op: str  # "=" or "~"
    value: str

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value}"


def parse_segment(specs: Sequence[str], named: Mapping[str, Sequence[str]]) -> tuple[Condition, ...]:
    """Conditions from `--segment` values or a template header: conditions or named segments."""
    out: list[Condition] = []
    for spec in specs:
        name, _, arg = spec.partition(":")
        if name.strip() in named:
            expanded = [c.replace("{}", arg.strip()) for c in named[name.strip()]]
            if any("{}" in c for c in named[name.strip()]) and not arg.strip():
                raise InputError(f"segment {name.strip()!r} needs an argument: {name.strip()}:VALUE")
            out.extend(parse_segment(expanded, {}))
            continue
        m = CONDITION.match(spec)
        if m is None or not m.group("value"):
            known = ", ".join(sorted(named)) or "none configured"
            raise InputError(
                f"segment {spec!r} is neither COLUMN=VALUE, COLUMN~VALUE nor a named segment (named: {known})"
            )
        out.append(Condition(m.group("column"), m.group("op"), m.group("value")))
    return tuple(dict.fromkeys(out))


def segment_mask(batch: pa.RecordBatch, conditions: Sequence[Condition]) -> np.ndarray:
    """True for the rows inside the segment (every condition holds)."""
    inside = np.ones(batch.num_rows, dtype=bool)
    for cond in conditions:
        column = batch.column(batch.schema.get_field_index(cond.column))
        wanted = cond.value.strip().lower()
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            items, parents = pc.list_flatten(column), pc.list_parent_indices(column)
        elif cond.op == "~":
            lists = pc.split_pattern(_text(column), ";")
            items, parents = pc.list_flatten(lists), pc.list_parent_indices(lists)
        else:
            items, parents = column, None
        hit = pc.equal(pc.utf8_lower(pc.utf8_trim_whitespace(_text(items))), wanted)
        hit = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
        if parents is None:
            inside &= hit
        else:
            rows = np.zeros(batch.num_rows, dtype=bool)
            rows[parents.to_numpy(zero_copy_only=False)[hit]] = True
            inside &= rows
    return inside


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _text(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if pa.types.is_string(array.type):
        return array
    return pc.cast(array, pa.string())


@dataclass
class Audience:
    """An audience source: its columns, its size when cheap to know, and its chunks."""

    source: AudienceSource
    label: str
    kind: str  # "csv", "parquet", "sql" or "table"
    columns: list[str]
    url: str | None = None  # for "sql": the database; `source` is the query

    def batches(self, wanted: set[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
        """The audience in order, in batches of `chunk_rows` rows (the last may be smaller), only the
        `wanted` columns. Readers give blocks of their own size; they are cut and joined to that."""
        pending: list[pa.RecordBatch] = []
        held = 0
        for block in self._blocks(wanted, chunk_rows):
            pending.append(block)
            held += block.num_rows
            while held >= chunk_rows:
                joined = _concat(pending)
                yield joined.slice(0, chunk_rows)
                rest = joined.slice(chunk_rows)
                pending, held = ([rest] if rest.num_rows else []), rest.num_rows
        if held:
            yield _concat(pending)

    def _blocks(self, wanted: set[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
        names = [c for c in self.columns if c in wanted]
        try:
            if self.kind == "csv":
                batches = _csv_batches(Path(self.source), names, self.columns)
            elif self.kind == "parquet":
                import pyarrow.parquet as pq

                batches = pq.ParquetFile(self.source).iter_batches(batch_size=chunk_rows, columns=names)
            elif self.kind == "sql":
                batches = _sql_batches(self, names, chunk_rows)
            else:
                batches = iter(self.source.select(names).to_batches(max_chunksize=chunk_rows))
            yield from batches
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            raise InputError(f"cannot read the audience: {_arrow_reason(exc)}", path=self.label) from None

    def count_rows(self) -> int | None:
        """Rows in the audience: exact for Parquet and tables, from line count for CSV (for progress)."""
        if self.kind == "table":
            return self.source.num_rows
        if self.kind == "sql":
            return None
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(self.source).metadata.num_rows
        lines = 0
        with open(self.source, "rb") as fh:
            while block := fh.read(1 << 22):
                lines += block.count(b"\n")
        return max(0, lines - 1)


def open_audience(source: AudienceSource, sql_url: str | None = None) -> Audience:
    if isinstance(source, str) and source.startswith("sql:"):
        if not sql_url:
            raise InputError(
                'a SQL audience needs [campaign] audience_url = "<SQLAlchemy URL>" in the config'
            )
        query = source[4:].strip()
        return Audience(
            query, f"{_safe_url(sql_url)} (audience query)", "sql", _sql_columns(sql_url, query), sql_url
        )
    if isinstance(source, pa.Table):
        return Audience(source, "<table>", "table", source.column_names)
    if not isinstance(source, (str, Path)):
        try:
            table = pa.Table.from_pandas(source, preserve_index=False)
        except (TypeError, AttributeError, pa.ArrowInvalid) as exc:
            raise InputError(
                f"the audience must be a CSV or Parquet path, an Arrow table or a DataFrame ({exc})"
            ) from None
        return Audience(table, "<dataframe>", "table", table.column_names)
    path = Path(source)
    if not path.is_file():
        raise InputError("audience not found" if not path.exists() else "audience is not a file", path=path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            columns = pq.ParquetFile(path).schema_arrow.names
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a readable Parquet file: {_arrow_reason(exc)}", path=path) from None
        return Audience(path, str(path), "parquet", columns)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise InputError("the audience CSV is not UTF-8", path=path, line=1) from None
    if not header:
        raise InputError("the audience CSV is empty (no header row)", path=path)
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise InputError("the audience CSV header names a column twice", path=path, line=1)
    return Audience(path, str(path), "csv", header)


def _csv_batches(path: Path, names: list[str], header: list[str]) -> Iterator[pa.RecordBatch]:
    from pyarrow import csv as pacsv

    reader = pacsv.open_csv(
        path,
        # One thread and 1 MB blocks: Arrow's read-ahead would otherwise hold several large blocks.
        read_options=pacsv.ReadOptions(
            column_names=header, skip_rows=1, block_size=1 << 20, use_threads=False
        ),
        convert_options=csv_convert_options(header, names),
    )
    yield from reader


def csv_convert_options(header: list[str], names: list[str]) -> Any:
    """Every column read as text (a value is what the file says), empty as "" (never null)."""
    from pyarrow import csv as pacsv

    return pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header}, include_columns=names, strings_can_be_null=False
    )


def _sql_columns(url: str, query: str) -> list[str]:
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            columns = list(conn.execute(sqlalchemy.text(query)).keys())
        engine.dispose()
    except SQLAlchemyError as exc:
        raise InputError(f"the audience query failed: {_arrow_reason(exc)}", path=_safe_url(url)) from None
    return columns


def _sql_batches(audience: Audience, names: list[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """The query's rows, streamed from the server `chunk_rows` at a time."""
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    assert audience.url is not None
    try:
        engine = sqlalchemy.create_engine(audience.url)
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
                sqlalchemy.text(audience.source)
            )
            positions = [audience.columns.index(name) for name in names]
            for rows in result.partitions():
                yield pa.RecordBatch.from_pydict(
                    {name: [r[i] for r in rows] for name, i in zip(names, positions, strict=True)}
                )
        engine.dispose()
    except SQLAlchemyError as exc:
        raise InputError(f"the audience query failed: {_arrow_reason(exc)}", path=audience.label) from None


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _arrow_reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

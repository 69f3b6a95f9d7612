"""Merging chunk results in audience order: counts, the first samples, and duplicates across chunks.

Chunks may be checked in any order on any worker; the aggregator takes them back in audience
order, so the first occurrence of an address is the one that is sent, samples are the first rows
of each reason, and results do not depend on how the audience was cut or where it ran.
Nothing kept grows with the audience: counts, the first samples, and duplicates on disk.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sendguard.campaign.plan import ChunkResult
from sendguard.campaign.settings import DUPLICATE
from sendguard.report import Finding


class Duplicates:
    """Repeated addresses, found in memory that does not grow with the audience.

    Each chunk's address hashes (64-bit, with the row and whether it is already held) are appended
    to one of `BUCKETS` files by hash, and every address to one text file, line = row. At the end
    each bucket is sorted on its own: a hash seen at an earlier row is a duplicate. Memory is one
    bucket (17 bytes per address / 64) and the samples; the disk holds ~45 bytes per address until
    `close()`. Two different addresses share a hash with probability ~n²/2⁶⁵ (3·10⁻⁸ for a million).
    """

    BUCKETS = 64
    RECORD = np.dtype([("key", "<u8"), ("row", "<i8"), ("held", "u1")])

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="sendguard-campaign-")
        folder = Path(self._dir.name)
        self._buckets = [open(folder / f"{b}.bin", "wb") for b in range(self.BUCKETS)]  # noqa: SIM115
        self._emails = open(folder / "emails.txt", "w", encoding="utf-8")  # noqa: SIM115
        self.rows = 0

    def add(self, emails: pa.Array, keys: np.ndarray, held: np.ndarray) -> None:
        """The next chunk's addresses (null where invalid: never a duplicate), their hashes, held rows."""
        self._emails.write("\n".join(pc.fill_null(emails, "").to_pylist()) + "\n")
        valid = np.flatnonzero(emails.is_valid().to_numpy(zero_copy_only=False))
        if len(valid):
            records = np.empty(len(valid), dtype=self.RECORD)
            records["key"] = keys[valid]
            records["row"] = valid + self.rows
            records["held"] = held[valid]
            bucket = records["key"] % self.BUCKETS
            order = np.argsort(bucket, kind="stable")
            records, bucket = records[order], bucket[order]
            bounds = np.searchsorted(bucket, np.arange(self.BUCKETS + 1))
            for b in range(self.BUCKETS):
                if bounds[b] < bounds[b + 1]:
                    records[bounds[b] : bounds[b + 1]].tofile(self._buckets[b])
        self.rows += len(emails)

    def finish(self, samples: int) -> tuple[int, int, list[str]]:
        """(duplicates, duplicates not held for another reason, the first `samples` duplicates)."""
        for fh in self._buckets:
            fh.close()
        self._emails.close()
        count = newly_held = 0
        first: np.ndarray = np.empty(0, dtype=np.int64)
        for fh in self._buckets:
            records = np.fromfile(fh.name, dtype=self.RECORD)
            if len(records) < 2:
                continue
            records = records[np.lexsort((records["row"], records["key"]))]
            repeat = np.zeros(len(records), dtype=bool)
            repeat[1:] = records["key"][1:] == records["key"][:-1]
            count += int(repeat.sum())
            newly_held += int((records["held"][repeat] == 0).sum())
            first = np.sort(np.concatenate([first, records["row"][repeat]]))[:samples]
        wanted = set(first.tolist())
        shown: list[str] = []
        if wanted:
            with open(self._emails.name, encoding="utf-8") as fh:
                for row, line in enumerate(fh):
                    if row in wanted:
                        shown.append(line.rstrip("\n"))
                        if len(shown) == len(wanted):
                            break
        return count, newly_held, shown

    def close(self) -> None:
        """Remove the files (safe to call more than once)."""
        for fh in (*self._buckets, self._emails):
            fh.close()
        self._dir.cleanup()


@dataclass
class Totals:
    workers: int = 1  # processes (or Dask threads) that checked chunks
    audience: int = 0
    held: int = 0
    checked_in_full: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    examples: dict[str, Finding] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    missing_tags: dict[str, int] = field(default_factory=dict)


class Aggregator:
    def __init__(self, samples: int) -> None:
        self.limit = samples
        self.totals = Totals()
        self.duplicates = Duplicates()
        self._waiting: dict[int, ChunkResult] = {}
        self._next = 0
        self.received = 0

    def add(self, result: ChunkResult) -> None:
        """Take a chunk result; results are applied in chunk order whatever order they arrive in."""
        self.received += 1
        self._waiting[result.index] = result
        while self._next in self._waiting:
            self._apply(self._waiting.pop(self._next))
            self._next += 1

    def __enter__(self) -> Aggregator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.duplicates.close()

    def finish(self) -> Totals:
        """Count the duplicates (a duplicate is held too) and return the totals."""
        t = self.totals
        count, newly_held, shown = self.duplicates.finish(self.limit)
        if count:
            t.reasons[DUPLICATE] = count
            t.samples[DUPLICATE] = shown
            t.held += newly_held
        return t

    def _apply(self, result: ChunkResult) -> None:
        t = self.totals
        t.audience += result.rows
        t.checked_in_full += result.checked_in_full
        for reason, count in result.reasons.items():
            t.reasons[reason] = t.reasons.get(reason, 0) + count
            shown = t.samples.setdefault(reason, [])
            shown.extend(result.samples.get(reason, [])[: max(0, self.limit - len(shown))])
        for reason, finding in result.examples.items():
            t.examples.setdefault(reason, finding)
        for rule, count in result.notes.items():
            t.notes[rule] = t.notes.get(rule, 0) + count
        for tag, count in result.missing_tags.items():
            t.missing_tags[tag] = t.missing_tags.get(tag, 0) + count
        t.held += int(result.held.sum())
        self.duplicates.add(result.emails, result.keys, result.held)

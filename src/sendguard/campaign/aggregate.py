"""Merging chunk results in audience order: counts, the first samples, and duplicates across chunks.

Chunks may be checked in any order on any worker; the aggregator takes them back in audience
order, so the first occurrence of an address is the one that is sent, samples are the first rows
of each reason, and results do not depend on how the audience was cut or where it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendguard.campaign.plan import ChunkResult
from sendguard.campaign.settings import DUPLICATE
from sendguard.report import Finding


class SeenAddresses:
    """A set of 64-bit address hashes, kept as sorted runs merged like a binary counter.

    8 bytes per distinct address is the only memory that grows with the audience (8 MB per
    million); a look-up is a binary search per run, and a run of n is merged O(log n) times. Two
    different addresses share a hash with probability ~n²/2⁶⁵ (3·10⁻⁸ for a million).
    """

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            pos = np.searchsorted(run, keys)
            pos[pos == len(run)] = 0
            found |= run[pos] == keys
        return found

    def add(self, keys: np.ndarray) -> None:
        self.runs.append(np.unique(keys))
        while len(self.runs) > 1 and len(self.runs[-1]) >= len(self.runs[-2]):
            top = self.runs.pop()
            self.runs[-1] = np.union1d(self.runs[-1], top)


def address_keys(emails: list[str]) -> np.ndarray:
    """Stable 64-bit hashes (the same in every process, unlike `hash()`)."""
    return pd.util.hash_array(np.asarray(emails, dtype=object))


@dataclass
class Totals:
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
        self.seen = SeenAddresses()
        self._waiting: dict[int, ChunkResult] = {}
        self._next = 0

    def add(self, result: ChunkResult) -> None:
        """Take a chunk result; results are applied in chunk order whatever order they arrive in."""
        self._waiting[result.index] = result
        while self._next in self._waiting:
            self._apply(self._waiting.pop(self._next))
            self._next += 1

    @property
    def pending(self) -> int:
        return len(self._waiting)

    def _apply(self, result: ChunkResult) -> None:
        t = self.totals
        t.audience += result.rows
        t.checked_in_full += result.checked_in_full
        for reason, count in result.reasons.items():
            t.reasons[reason] = t.reasons.get(reason, 0) + count
            self._sample(reason, result.samples.get(reason, []))
        for reason, finding in result.examples.items():
            t.examples.setdefault(reason, finding)
        for rule, count in result.notes.items():
            t.notes[rule] = t.notes.get(rule, 0) + count
        for tag, count in result.missing_tags.items():
            t.missing_tags[tag] = t.missing_tags.get(tag, 0) + count

        rows = np.array([i for i, e in enumerate(result.emails) if e is not None], dtype=np.int64)
        held = result.held.copy()
        if len(rows):
            keys = address_keys([result.emails[i] for i in rows])  # type: ignore[misc]
            duplicate = self.seen.contains(keys)
            _, first = np.unique(keys, return_index=True)
            repeat = np.ones(len(keys), dtype=bool)
            repeat[first] = False
            duplicate |= repeat
            self.seen.add(keys)
            dup_rows = rows[duplicate]
            if len(dup_rows):
                t.reasons[DUPLICATE] = t.reasons.get(DUPLICATE, 0) + len(dup_rows)
                self._sample(DUPLICATE, [result.emails[i] for i in dup_rows[: self.limit]])  # type: ignore[misc]
                held[dup_rows] = True
        t.held += int(held.sum())

    def _sample(self, reason: str, emails: list[str]) -> None:
        shown = self.totals.samples.setdefault(reason, [])
        room = self.limit - len(shown)
        if room > 0:
            shown.extend(emails[:room])

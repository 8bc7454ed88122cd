"""Decoded summary parts kept between windows of one process.

Every hourly window pools the last day of stored summaries for its rules and its drift period,
so without this each part is decompressed and its sketches rebuilt about 24 times (a fifth of a
window's CPU on the soak scenario). A part is kept under its primary key and the run id that
wrote it: a re-run or a backfill of a window writes a new run id, so a stale part is never
returned. Parts are shared, never copied: callers merge them into summaries of their own and
must not change them.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime

from cachetools import LRUCache

from lookout.core.summary import Summary

__all__ = ["SLOT_LIMIT", "DecodedSummaries", "PartKey", "slots"]

# What the kept parts may hold, in sketch bins and counts: about 44 bytes each decoded
# (measured on the soak store), so at most ~130 MB. The soak scenario's monitor (28 release x
# cohort groups, four stages) writes ~1,030 parts a day holding ~0.84 M slots, so three days of
# lookback fit. A monitor whose lookback does not fit reads as it did before the cache.
SLOT_LIMIT = 3_000_000

# (monitor, window start, release, cohort, stage, run id)
PartKey = tuple[str, datetime, str, str, str, str]


def slots(part: Summary) -> int:
    """What a decoded part costs to keep: its sketch bins, counts and category counts."""
    return (
        8
        + sum(sketch.slots for sketch in part.sketches.values())
        + len(part.counts)
        + sum(len(counts) for counts in part.categories.values())
    )


class DecodedSummaries:
    """A bounded LRU of decoded parts (by their `slots`), safe to share between the threads
    of a run."""

    def __init__(self, limit: int = SLOT_LIMIT) -> None:
        self._parts: LRUCache[PartKey, Summary] = LRUCache(maxsize=limit, getsizeof=slots)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: PartKey) -> Summary | None:
        with self._lock:
            part = self._parts.get(key)
        if part is None:
            self.misses += 1
        else:
            self.hits += 1
        return part

    def put(self, key: PartKey, part: Summary) -> None:
        # a part over the whole limit is not kept (the cache refuses it with ValueError)
        with self._lock, contextlib.suppress(ValueError):
            self._parts[key] = part

    @property
    def held(self) -> int:
        """Slots held now (at most the limit)."""
        return int(self._parts.currsize)

    def __len__(self) -> int:
        return len(self._parts)

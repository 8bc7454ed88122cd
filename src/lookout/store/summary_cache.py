"""Decoded summary parts kept between windows of one process.

Every hourly window pools the last day of stored summaries for its rules and its drift period,
so without this each part is decompressed and its sketches rebuilt about 24 times (a fifth of a
window's CPU on the soak scenario). A part is kept under its primary key and the run id that
wrote it: a re-run or a backfill of a window writes a new run id, so a stale part is never
returned. Parts are shared, never copied: callers merge them into summaries of their own and
must not change them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from lookout.core.summary import Summary

__all__ = ["PART_LIMIT", "DecodedSummaries", "PartKey"]

# About a day of hourly parts for a monitor with ~40 release x cohort groups and four stages
# (3,840), four times over; a part holds a few sketches of at most a few hundred buckets.
PART_LIMIT = 16_384

# (monitor, window start, release, cohort, stage, run id)
PartKey = tuple[str, datetime, str, str, str, str]


class DecodedSummaries:
    """A bounded LRU of decoded parts, safe to share between the threads of a run."""

    def __init__(self, limit: int = PART_LIMIT) -> None:
        self._limit = limit
        self._parts: OrderedDict[PartKey, Summary] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: PartKey) -> Summary | None:
        with self._lock:
            part = self._parts.get(key)
            if part is None:
                self.misses += 1
                return None
            self._parts.move_to_end(key)
            self.hits += 1
            return part

    def put(self, key: PartKey, part: Summary) -> None:
        with self._lock:
            self._parts[key] = part
            self._parts.move_to_end(key)
            while len(self._parts) > self._limit:
                self._parts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._parts)

"""Mergeable per-window summaries: the stored primitive every metric at any lookback comes from.

A summary of one release x cohort of one window holds only what merges exactly: counts and sums
(keyed by name, namespaced by the stage that wrote them: `n`, `errors`, `eval.groundedness.pass`,
`validation.not_null_record_id.unexpected`...), category counts, and quantile sketches (see
`lookout.core.sketch`). Merging is adding; the metrics of six hours, a day or a release are the
same functions of the merged summary as those of one window, so the hourly run never re-reads
old rows to pool them.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lookout.core.sketch import Sketch

__all__ = ["Summary", "SummaryError", "merge_all"]


class SummaryError(ValueError):
    """A stored summary that cannot be read back (a corrupted row)."""


@dataclass
class Summary:
    """Counts, category counts and sketches of one release x cohort over one or more windows.

    `windows` counts the windows merged in, so per-window quantities (a count of failed checks)
    pool as their mean per window.
    """

    counts: dict[str, float] = field(default_factory=dict)
    sketches: dict[str, Sketch] = field(default_factory=dict)
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    windows: int = 1

    def count(self, key: str) -> float:
        return self.counts.get(key, 0.0)

    def add(self, key: str, value: float) -> None:
        self.counts[key] = self.counts.get(key, 0.0) + float(value)

    def merge(self, other: Summary, *, same_window: bool = False) -> Summary:
        """Add `other` into this summary (in place; returns self). `same_window`: another
        stage's part of the same window (its windows are not counted again)."""
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0.0) + value
        for key, sketch in other.sketches.items():
            mine = self.sketches.get(key)
            self.sketches[key] = sketch.copy() if mine is None else mine.merge(sketch)
        for key, counts in other.categories.items():
            target = self.categories.setdefault(key, {})
            for label, value in counts.items():
                target[label] = target.get(label, 0.0) + value
        if not same_window:
            self.windows += other.windows
        return self

    def without(self, other: Summary) -> Summary:
        """This summary minus a part of it (e.g. a release minus one cohort's records): counts
        and category counts only (sketch buckets are subtracted by `Sketch`-free callers)."""
        out = Summary(windows=self.windows)
        for key, value in self.counts.items():
            out.counts[key] = max(0.0, value - other.counts.get(key, 0.0))
        for key, counts in self.categories.items():
            minus = other.categories.get(key, {})
            out.categories[key] = {
                label: max(0.0, value - minus.get(label, 0.0)) for label, value in counts.items()
            }
        return out

    # -- storage ---------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {"c": self.counts}
        if self.sketches:
            data["s"] = {key: sketch.to_json() for key, sketch in self.sketches.items()}
        if self.categories:
            data["k"] = self.categories
        if self.windows != 1:  # a group's votes alone, in a window without its records: 0
            data["w"] = self.windows
        text = json.dumps(data, separators=(",", ":"), sort_keys=True, allow_nan=False)
        return zlib.compress(text.encode("utf-8"), 6)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Summary:
        """Raises SummaryError for anything that is not a stored summary."""
        try:
            data = json.loads(zlib.decompress(blob).decode("utf-8"))
            counts = {str(k): _number(v) for k, v in dict(data.get("c", {})).items()}
            sketches = {str(k): Sketch.from_json(v) for k, v in dict(data.get("s", {})).items()}
            categories = {
                str(k): {str(label): _number(v) for label, v in dict(values).items()}
                for k, values in dict(data.get("k", {})).items()
            }
            windows = int(data.get("w", 1))
        except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SummaryError(f"stored summary cannot be read: {type(exc).__name__}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise SummaryError(f"stored summary cannot be read: {exc}") from None
        return cls(counts, sketches, categories, windows)


def _number(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("a count is not a finite number")
    return number


def merge_all(parts: Iterable[Summary]) -> Summary | None:
    """One summary of several (None when there are none); the inputs are left unchanged."""
    out: Summary | None = None
    for part in parts:
        if out is None:
            out = Summary(windows=0)
        out.merge(part)
    return out


def group_merge(
    parts: Iterable[tuple[tuple[str, str], Summary]],
) -> dict[tuple[str, str], Summary]:
    """(release, cohort) -> the merge of its parts."""
    out: dict[tuple[str, str], Summary] = {}
    for key, part in parts:
        if key in out:
            out[key].merge(part)
        else:
            out[key] = Summary(windows=0).merge(part)
    return out


def counts_of(summary: Summary | None, keys: Mapping[str, str]) -> dict[str, float]:
    """Selected counts by local name (`{"hits": "errors", "n": "status_n"}`), 0 when absent."""
    if summary is None:
        return {name: 0.0 for name in keys}
    return {name: summary.count(key) for name, key in keys.items()}

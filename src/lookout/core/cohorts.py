"""Bounded cohorts (pure): at most `max_cohort_values` values of a cohort column get a cohort of
their own; the rest are pooled as `column=(other)`.

A cohort column with a value per user or session would otherwise make every window write a
metric row, a histogram and a drift verdict per value (a 100k-row window of distinct values
wrote 1.4 million metric rows). The values kept are the top ones by traffic over a trailing
period (stored history) plus the window itself; history dominates the ranking, so the kept set
is stable from window to window and a value does not flap in and out of `(other)`. A column
with no more distinct values than the cap is not capped at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["OTHER", "CohortCap", "choose_cohorts"]

OTHER = "(other)"


@dataclass(frozen=True)
class CohortCap:
    """Per capped cohort column, the value labels that keep a cohort of their own.

    A column absent from `kept` is not capped: every value is its own cohort.
    """

    kept: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def capped(self, dimension: str) -> bool:
        return dimension in self.kept

    def label(self, dimension: str, label: str) -> str:
        """The cohort value `label` is counted under: itself, or `(other)`."""
        kept = self.kept.get(dimension)
        return label if kept is None or label in kept else OTHER

    def apply(self, dimension: str, labels: np.ndarray) -> np.ndarray:
        """`label` over an array of value labels (vectorised: windows have many rows)."""
        kept = self.kept.get(dimension)
        if kept is None:
            return labels
        codes, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=False)
        mapped = np.array([u if u in kept else OTHER for u in uniques], dtype=object)
        return mapped[codes]

    def kept_raw(
        self, dimension: str, raw_values: Iterable[object], label_of: object
    ) -> tuple[list[object], bool]:
        """Of the raw values seen in a period, those whose label is kept (non-null ones), and
        whether the null label is kept: what a SQL filter needs to rebuild the cap."""
        kept = self.kept.get(dimension, frozenset())
        values: list[object] = []
        null_kept = False
        for raw in raw_values:
            label = label_of(raw)  # type: ignore[operator]
            if label not in kept:
                continue
            if raw is None:
                null_kept = True
            else:
                values.append(raw)
        return values, null_kept


def choose_cohorts(
    window: Mapping[str, Mapping[str, int]],
    history: Mapping[str, Mapping[str, int]],
    max_values: int,
) -> CohortCap:
    """The cap for one window: per cohort column, the `max_values` labels with the most traffic
    in the trailing history plus the window (ties by label, so the choice is deterministic).

    `window` and `history` map a cohort column to value label -> rows. `(other)` in the history
    (pooled values of earlier windows) is not a value and never competes.
    """
    kept: dict[str, frozenset[str]] = {}
    for dimension in sorted(set(window) | set(history)):
        traffic: dict[str, int] = {}
        for source in (history.get(dimension, {}), window.get(dimension, {})):
            for label, rows in source.items():
                if label != OTHER:
                    traffic[label] = traffic.get(label, 0) + int(rows)
        if len(traffic) <= max_values:
            continue  # few enough values: no cap
        ranked = sorted(traffic.items(), key=lambda item: (-item[1], item[0]))
        kept[dimension] = frozenset(label for label, _ in ranked[:max_values])
    return CohortCap(kept)

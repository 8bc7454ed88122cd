"""Which records get graded: every suspicious record, plus a stable share of the rest.

Pure. Suspicious ("flagged") records are those with an error status, negative feedback, a
latency above the window's quantile, or a failing check of an evaluator that runs on every
record. Independently of the flags, a random sample takes each record whose stable hash of
`record_id` (salted) is below `share`, so re-running a window picks the same records and a
judged record stays judged (cache hits), then tops up each stratum (a release x one cohort
column's value: `plan=pro` of release 2) to at least `share` of its records, smallest hashes
first, so a small cohort is graded too. The strata are per cohort column, not the cross product
of the columns: with four cohort columns a window's cross product has about one record per
cell, and "at least one per cell" graded ~80% of a window at a 20% share (measured on a user's
table); per column, the sample stays near `share` and every cohort value still gets its part.
Pass rates are estimated on the random part only (it is unbiased); the flagged part is reported
on its own, because a failure-biased sample would drag a pass rate down by construction.

A large window is thinned to about `max_records` (time and memory stay bounded; a pass rate's
interval barely narrows past a few thousand records): the random part keeps at least half of
the cap, each stratum thinned alike (a smaller sample is a subset of the larger one, so cached
judgments stay hits); flagged records fill the rest, in stable hash order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lookout.core.values import ConfiguredValue, matches, negative_votes

__all__ = ["Selection", "select_records", "stable_unit"]


def stable_unit(record_id: str, salt: str = "") -> float:
    """A number in [0, 1) fixed by (salt, record id): the same on every run and machine."""
    digest = hashlib.blake2b(f"{salt}\x00{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Selection:
    """Per selected record: is it in the random sample, and why it was flagged (if it was)."""

    record_ids: tuple[str, ...]
    random: frozenset[str]
    reasons: dict[str, tuple[str, ...]]  # record id -> flags (empty: random only)
    uncapped: int = 0  # records the selection would have held without `max_records`

    def __len__(self) -> int:
        return len(self.record_ids)


def select_records(
    frame: pd.DataFrame,
    *,
    share: float,
    strata: Sequence[Sequence[str]] = (),
    salt: str = "",
    ok_statuses: Iterable[ConfiguredValue] = ("ok",),
    negative_feedback: Iterable[ConfiguredValue] = (),
    negative_below: float | None = None,
    latency_quantile: float | None = None,
    failed_ids: Iterable[str] = (),
    errors: bool = True,
    max_records: int | None = None,
) -> Selection:
    """Select from `frame` (`record_id`, and `status`, `feedback`, `latency_ms` and the
    `strata` column groups when present: `[["release", "plan"], ["release", "region"]]`)."""
    if frame.empty:
        return Selection((), frozenset(), {})
    ids = frame["record_id"].astype(str).to_numpy()
    flags: dict[str, list[str]] = {}

    def flag(mask: np.ndarray, reason: str) -> None:
        for record_id in ids[mask]:
            flags.setdefault(record_id, []).append(reason)

    # values compared as the ops metrics compare them (`error_rate`, `negative_feedback_rate`):
    # as labels, so an integer 200 is the configured "200"; feedback without case
    if errors and "status" in frame:
        status = frame["status"]
        flag(status.notna().to_numpy() & ~matches(status, ok_statuses), "error")
    negative_feedback = tuple(negative_feedback)
    if (negative_feedback or negative_below is not None) and "feedback" in frame:
        negative = negative_votes(frame["feedback"], negative_feedback, negative_below)
        flag(negative, "negative_feedback")
    if latency_quantile is not None and "latency_ms" in frame:
        latency = pd.to_numeric(frame["latency_ms"], errors="coerce")
        if latency.notna().sum() >= 20:  # a quantile of a handful of rows flags noise
            cut = float(latency.quantile(latency_quantile))
            flag((latency > cut).fillna(False).to_numpy(), "latency_outlier")
    if failed := set(failed_ids):
        flag(np.isin(ids, list(failed)), "offline_failure")

    random = _stratified(frame, ids, share, strata, salt)
    chosen = [r for r in ids if r in random or r in flags]
    uncapped = len(dict.fromkeys(chosen))
    if max_records is not None and uncapped > max_records:
        flagged_only = [r for r in dict.fromkeys(ids) if r in flags and r not in random]
        room = max(max_records - len(flagged_only), max_records // 2)
        if len(random) > room:
            random = _stratified(frame, ids, share * room / len(random), strata, salt)
        left = max(max_records - len(random), 0)
        kept = set(sorted(flagged_only, key=lambda r: stable_unit(r, salt))[:left])
        chosen = [r for r in ids if r in random or r in kept]
    return Selection(
        tuple(dict.fromkeys(chosen)),
        frozenset(random),
        {r: tuple(flags.get(r, ())) for r in chosen},
        uncapped,
    )


def _stratified(
    frame: pd.DataFrame,
    ids: np.ndarray,
    share: float,
    strata: Sequence[Sequence[str]],
    salt: str,
) -> set[str]:
    """Records whose stable unit is below `share`, topped up so that every stratum of every
    column group holds at least `ceil(share * its size)` (smallest units first: the top-up
    extends the stratum's own prefix, so a smaller share still picks a subset)."""
    if share <= 0:
        return set()
    if share >= 1:
        return set(ids)
    units = np.array([stable_unit(r, salt) for r in ids])
    chosen = units < share
    for group in strata or [()]:
        columns = [c for c in group if c in frame]
        # one integer per stratum (a row-wise join of labels took seconds and GBs at 1M rows)
        keys = (
            frame.groupby(columns, dropna=False, sort=False, observed=True).ngroup().to_numpy()
            if columns
            else np.zeros(len(ids), dtype=int)
        )
        chosen[_stratum_prefixes(keys, units, share)] = True
    return set(ids[chosen])


def _stratum_prefixes(keys: np.ndarray, units: np.ndarray, share: float) -> np.ndarray:
    """Positions of the `ceil(share * size)` smallest units of each stratum (vectorised: one
    sort, not one scan of the window per stratum)."""
    order = np.lexsort((units, keys))
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    wanted = np.array([math.ceil(share * size) for size in sizes])
    return order[rank < np.repeat(wanted, sizes)]

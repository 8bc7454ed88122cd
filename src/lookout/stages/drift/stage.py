"""The drift stage: each release x cohort, pooled over a rolling period, against its reference.

A window's part is its drift summaries (a sketch per numeric feature, counts per categorical
one, per release x cohort), stored with the window. Its verdicts compare the merge of the
summaries of the trailing `drift.period` with the reference's summaries (`pooling`): an effect
size past its floor, tested too when samples are small (`lookout.checks.drift.verdict`); then,
where a feature drifted in a cohort and in groups containing it, which cohort explains it
(`attribution`); then rows and metrics (`outcome`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from lookout.checks.drift.stats import ColumnDrift
from lookout.checks.drift.verdict import Criteria, judge_all
from lookout.checks.ports import WindowReader
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap
from lookout.core.summary import Summary
from lookout.model.aggregates import ALL_COHORTS
from lookout.sources.drift_columns import DriftColumn, drift_columns
from lookout.sources.drift_summaries import cross_summaries, feature_key, window_summaries
from lookout.stages.base import StageOutcome, WindowRun
from lookout.stages.drift.attribution import attribute, complement
from lookout.stages.drift.outcome import DriftOutcome, build
from lookout.stages.drift.pooling import (
    current_side,
    drift_period,
    mark,
    reference_cross,
    reference_side,
)
from lookout.stages.drift.reference import Reference, resolve_reference
from lookout.stages.ports import DriftProfiles, DriftResults, DriftSource, ReleaseHistory
from lookout.windows import Window

__all__ = ["DriftStage", "run_drift"]

log = logging.getLogger("lookout.drift")

Verdicts = dict[tuple[str, str], list[ColumnDrift]]


class DriftStage:
    name = "drift"

    def enabled(self, monitor: Monitor) -> bool:
        return monitor.drift.enabled

    def run(self, run: WindowRun) -> StageOutcome:
        outcome = run_drift(
            run.ctx.warehouse, run.ctx.store, run.monitor, run.window, run.started, run.cap
        )
        return StageOutcome(
            metrics=outcome.metrics,
            summaries=outcome.summaries,
            stats={
                "drifted": tuple(
                    f"{r.release} {r.cohort} {r.column}" for r in outcome.rows if r.alerting
                )
            },
            detail=outcome,
        )


def _features(summary: Summary | None, columns: Sequence[DriftColumn]) -> dict[str, Any] | None:
    """column name -> its sketch or category counts in a drift summary."""
    if summary is None:
        return None
    out: dict[str, Any] = {}
    for column in columns:
        key = feature_key(column.name)
        if column.kind == "numeric" and key in summary.sketches:
            out[column.name] = summary.sketches[key]
        elif column.kind == "categorical" and key in summary.categories:
            out[column.name] = summary.categories[key]
    return out


def run_drift(
    warehouse: DriftSource,
    store: DriftResults,
    monitor: Monitor,
    window: Window,
    now: datetime,
    cap: CohortCap | None = None,
) -> DriftOutcome:
    """This window's drift summaries, and the verdicts of every release of the window over
    the rolling period ending with it (cohort values beyond `cap` pooled as `(other)`)."""
    cap = cap or CohortCap()
    columns = drift_columns(monitor)
    dimensions = _dimensions(monitor)
    period = drift_period(monitor, window)
    outcome = DriftOutcome(period=period)
    in_window = warehouse.release_values(monitor, window)
    outcome.release_values = {label: tuple(values) for label, values, _ in in_window}
    outcome.summaries = _window_part(warehouse, monitor, columns, window, dimensions, cap)
    by_reference = _by_reference(warehouse, store, monitor, window, period, in_window, outcome)
    if not by_reference:
        return outcome
    current = current_side(store, monitor, period, window, outcome.references, outcome.summaries)
    criteria = Criteria.of(monitor.drift)
    size = window.end - window.start
    verdicts: Verdicts = {}
    sides: dict[Reference, dict[str, Summary]] = {}
    for reference, labels in by_reference.items():
        side = reference_side(
            warehouse, store, monitor, reference, columns, dimensions, size, now, cap
        )
        sides[reference] = side.groups
        _count_profile(outcome, side.source)
        verdicts.update(_judge(labels, current, outcome.summaries, side.groups, columns, criteria))
    explained = _attribution(
        warehouse,
        store,
        monitor,
        outcome,
        verdicts,
        current,
        sides,
        columns,
        dimensions,
        now,
        criteria,
        cap,
    )
    _build_rows(outcome, verdicts, explained, columns, period)
    return outcome


def _dimensions(monitor: Monitor) -> list[str | None]:
    """The release as a whole (None), then each cohort column when drift is judged per cohort."""
    dimensions: list[str | None] = [None]
    if monitor.drift.cohorts:
        dimensions += list(monitor.source.cohorts)
    return dimensions


def _window_part(
    warehouse: DriftSource,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    window: Window,
    dimensions: list[str | None],
    cap: CohortCap,
) -> dict[tuple[str, str], Summary]:
    """The window's drift summaries, marked so stored ones pool into a reference only if alike."""
    summaries = window_summaries(
        warehouse,
        monitor,
        columns,
        window,
        dimensions=dimensions,
        max_rows=monitor.drift.max_rows,
        cap=cap,
    )
    shape = mark(columns, dimensions, monitor.source.reading)
    for summary in summaries.values():
        summary.counts[shape] = 1.0
    return summaries


def _first_seen(
    store: ReleaseHistory,
    monitor: Monitor,
    window: Window,
    in_window: list[tuple[str, tuple[Any, ...], int]],
) -> dict[str, datetime]:
    """When each release was first seen: the store's date, or this window's if earlier or new."""
    first_seen = dict(store.release_first_seen(monitor.name))
    for label, _, _ in in_window:
        if label not in first_seen or window.start < first_seen[label]:
            first_seen[label] = window.start
    return first_seen


def _by_reference(
    warehouse: WindowReader,
    store: ReleaseHistory,
    monitor: Monitor,
    window: Window,
    period: Window,
    in_window: list[tuple[str, tuple[Any, ...], int]],
    outcome: DriftOutcome,
) -> dict[Reference, list[str]]:
    """The window's releases by reference, so each reference is summarised once for all."""
    first_seen = _first_seen(store, monitor, window, in_window)

    def releases_in(span: Window) -> list:
        return warehouse.release_values(monitor, span)

    by_reference: dict[Reference, list[str]] = {}
    for label, _, _ in in_window:
        reference = resolve_reference(monitor, period, label, first_seen, releases_in)
        if reference is None:
            outcome.no_reference.append(label)
            continue
        outcome.references[label] = reference
        by_reference.setdefault(reference, []).append(label)
    return by_reference


def _count_profile(outcome: DriftOutcome, source: str) -> None:
    """Tally where a reference's summaries came from, for the run's stats."""
    outcome.profiles_cached += source == "cache"
    outcome.profiles_pooled += source == "store"
    outcome.profiles_computed += source == "warehouse"


def _judge(
    labels: Sequence[str],
    current: Mapping[tuple[str, str], Summary],
    summaries: Mapping[tuple[str, str], Summary],
    reference: Mapping[str, Summary],
    columns: Sequence[DriftColumn],
    criteria: Criteria,
) -> Verdicts:
    """Verdicts of the releases sharing `reference`, floors corrected for each one's groups."""
    # the groups of this window, each with its pooled period (a cohort value the cap
    # kept earlier but not now, or one without rows now, has no verdict this window)
    judged = [
        (release, cohort)
        for release, cohort in sorted(current)
        if release in labels and (release, cohort) in summaries
    ]
    groups_of = Counter(release for release, _ in judged)
    verdicts: Verdicts = {}
    for release, cohort in judged:
        ref = _features(reference.get(cohort), columns)
        verdicts[(release, cohort)] = judge_all(
            columns,
            ref,
            _features(current[(release, cohort)], columns) or {},
            criteria.across(groups_of[release]),
        )
    return verdicts


def _build_rows(
    outcome: DriftOutcome,
    verdicts: Verdicts,
    explained: Mapping[tuple[str, str], dict[str, str]],
    columns: Sequence[DriftColumn],
    period: Window,
) -> None:
    """Rows and metrics of every judged group, in (release, cohort) order."""
    for (release, cohort), found in sorted(verdicts.items()):
        build(
            outcome,
            release,
            cohort,
            outcome.references[release],
            columns,
            found,
            explained.get((release, cohort), {}),
            period,
        )


class _Parts:
    """What attribution takes apart for one release, per side (current, reference): the
    release without a cohort is a merge of the other cohorts of its column, pooled already (no
    read); a cohort without another column's value needs the pairs of values, read only when
    a drifted cohort of another column is in question (`cross_summaries`, the reference's
    cached)."""

    def __init__(
        self,
        current: Mapping[tuple[str, ...], Summary],
        reference: Mapping[tuple[str, ...], Summary],
        pairs: Callable[[], tuple[dict, dict]],
    ) -> None:
        self.singles = (current, reference)
        self._load = pairs
        self._pairs: tuple[dict, dict] | None = None

    def sides(self, parent: str) -> tuple[Mapping, Mapping]:
        if parent == ALL_COHORTS:
            return self.singles
        if self._pairs is None:
            self._pairs = self._load()
        return self._pairs


def _attribution(
    warehouse: DriftSource,
    store: DriftProfiles,
    monitor: Monitor,
    outcome: DriftOutcome,
    verdicts: Verdicts,
    pooled: Mapping[tuple[str, str], Summary],
    references: Mapping[Reference, dict[str, Summary]],
    columns: Sequence[DriftColumn],
    dimensions: Sequence[str | None],
    now: datetime,
    criteria: Criteria,
    cap: CohortCap,
) -> dict[tuple[str, str], dict[str, str]]:
    """(release, parent cohort) -> column -> the cohort that explains its drift."""
    cohort_dims = [d for d in dimensions if d is not None]
    if not cohort_dims or outcome.period is None:
        return {}
    period = outcome.period
    by_name = {c.name: c for c in columns}

    def pairs(reference: Reference, chosen: list[DriftColumn], values: tuple) -> tuple[dict, dict]:
        """Both sides' pairs of cohort values, read only when a cohort of another column asks."""
        cur = cross_summaries(warehouse, monitor, chosen, period, values, cohort_dims, cap)
        # every column of the reference at once: one read, one cache entry per reference
        ref = reference_cross(warehouse, store, monitor, reference, columns, cohort_dims, now, cap)
        return cur, ref

    out: dict[tuple[str, str], dict[str, str]] = {}
    for release, features in sorted(_drifted_groups(verdicts).items()):
        needed = {name: groups for name, groups in features.items() if _nested(groups)}
        if not needed:
            continue
        reference = outcome.references[release]
        chosen = [by_name[name] for name in sorted(needed)]
        parts = _Parts(
            {(c,): s for (r, c), s in pooled.items() if r == release and c != ALL_COHORTS},
            {(c,): s for c, s in references[reference].items() if c != ALL_COHORTS},
            partial(pairs, reference, chosen, outcome.release_values[release]),
        )
        out.update(_explain(release, needed, chosen, parts, verdicts, criteria, outcome))
    return out


def _drifted_groups(verdicts: Verdicts) -> dict[str, dict[str, list[str]]]:
    """release -> column -> the groups it drifted in: where attribution has a question."""
    wanted: dict[str, dict[str, list[str]]] = {}
    for (release, cohort), found in verdicts.items():
        for v in found:
            if v.drifted:
                wanted.setdefault(release, {}).setdefault(v.column, []).append(cohort)
    return wanted


def _explain(
    release: str,
    needed: Mapping[str, list[str]],
    chosen: Sequence[DriftColumn],
    parts: _Parts,
    verdicts: Verdicts,
    criteria: Criteria,
    outcome: DriftOutcome,
) -> dict[tuple[str, str], dict[str, str]]:
    """Which cohort explains each nested drift of `release`, the strongest named when several do."""
    strength = {
        (v.column, cohort): (v.score or 0.0) / (v.threshold or 1.0)
        for (rel, cohort), found in verdicts.items()
        if rel == release
        for v in found
        if v.drifted
    }
    out: dict[tuple[str, str], dict[str, str]] = {}
    for column in chosen:
        outcome.attributed += 1
        found_sources = attribute(
            needed[column.name],
            partial(_still_drifts, parts, column, criteria),
            {c: s for (name, c), s in strength.items() if name == column.name},
        )
        for parent, source in found_sources.items():
            out.setdefault((release, parent), {})[column.name] = source
    return out


def _still_drifts(
    parts: _Parts, column: DriftColumn, criteria: Criteria, parent: str, source: str
) -> bool:
    """Whether `parent` without the rows of `source` still drifts in `column` (uncorrected;
    a remainder too small or without reference rows to judge is doubt too): the doubt keeps
    the parent's own alert."""
    current, base = parts.sides(parent)
    if (cur := complement(current, parent, source)) is None:
        return False  # every row of the parent is the source's: it explains all of it
    if (ref := complement(base, parent, source)) is None:
        return True
    verdicts = judge_all(
        [column], _features(ref, [column]), _features(cur, [column]) or {}, criteria, correct=False
    )
    return any(v.drifted is not False for v in verdicts)


def _nested(groups: Sequence[str]) -> bool:
    """A drifted cohort and a drifted group that holds some of its rows: the release, or a
    cohort of another column."""
    cohorts = [g for g in groups if g != ALL_COHORTS]
    if not cohorts:
        return False
    if ALL_COHORTS in groups:
        return True
    return len({c.partition("=")[0] for c in cohorts}) > 1

"""The evaluator stage of a window: select records, reuse cached judgments, judge the rest.

Order: evaluators with `sample: all` grade every record (cheap offline checks); their failures,
error statuses, negative feedback and latency outliers are flagged; the failure-biased sample
(flagged + a stable stratified share of the rest) is graded by the others. Judgments already in
the store for (record, evaluator, version) are reused, so a re-run or a backfill re-judges
nothing; new ones are saved at once (they may have cost money). Quarantined records are left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from lookout.checks.evaluators.base import Budget
from lookout.checks.evaluators.registry import ConfiguredEvaluator
from lookout.checks.evaluators.sampling import Selection, select_records
from lookout.checks.evaluators.summary import (
    Graded,
    JudgedExample,
    calibration_metrics,
    failing_examples,
    human_label,
    judgment_metrics,
    judgment_summaries,
)
from lookout.checks.ports import EvaluatorSource, JudgmentCache, SourceTables
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap
from lookout.core.summary import Summary
from lookout.model.aggregates import MetricValue, as_labels, release_labels
from lookout.model.judgments import Judgment
from lookout.sources.column_types import typed_values
from lookout.sources.feedback_reads import id_lookup
from lookout.sources.warehouse import epoch_units, normalize_frame
from lookout.windows import Window

__all__ = ["EvalOutcome", "run_evaluators"]

log = logging.getLogger("lookout.evaluators")

_BASE_FIELDS = ("record_id", "status", "feedback", "latency_ms", "expected")
_CHUNK = 500
_COHORT_PREFIX = "__cohort__"  # a capped cohort's labels, beside the column's own values


@dataclass
class EvalOutcome:
    metrics: list[MetricValue] = field(default_factory=list)
    selected: int = 0  # records in the failure-biased sample
    flagged: int = 0  # of which picked because they looked suspicious
    judged: int = 0  # new judgments this run (any status)
    cached: int = 0  # judgments reused from the store
    errors: int = 0  # judge errors (not fails)
    skipped: int = 0
    cost_usd: float = 0.0
    budget_exhausted: str | None = None  # "max_judgments" / "max_usd" when the budget stopped it
    seconds: dict[str, float] = field(default_factory=dict)
    summaries: dict[tuple[str, str], Summary] = field(default_factory=dict)
    # failing and errored records per evaluator x release x cohort, for pages and alerts
    examples: list[JudgedExample] = field(default_factory=list)


def _fields(monitor: Monitor, evaluators: Sequence[ConfiguredEvaluator]) -> list[str]:
    wanted = set(_BASE_FIELDS) | {f for c in evaluators for f in c.evaluator.needs}
    wanted |= set(monitor.source.release)
    return [f for f in sorted(wanted) if monitor.source.selectable(f)]


def _read(
    warehouse: EvaluatorSource,
    monitor: Monitor,
    window: Window,
    fields: list[str],
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The window's records (or only `ids`, at least one), canonical fields + cohort columns.
    The ids (text, as the sample holds them) are bound as the id column stores them: an
    integer column compared with text bind parameters failed every window on PostgreSQL
    (`bigint = character varying`), and its index serves the IN."""
    if ids is None:
        return warehouse.read_window(monitor, window, fields)
    table = warehouse.table(monitor.source)
    key, bound = id_lookup(
        ids, warehouse.column(table, monitor.source, "record_id"), warehouse.capabilities
    )
    values = [bound[i] for i in dict.fromkeys(ids) if i in bound]
    frames = []
    for start in range(0, max(len(values), 1), _CHUNK):
        query = warehouse.window_query(monitor, window, fields).where(
            key.in_(values[start : start + _CHUNK])
        )
        frames.append(warehouse.fetch_frame(query))
    frame = pd.concat(frames, ignore_index=True)
    return normalize_frame(frame, epoch_units(monitor.source), monitor.source.zone)


def _capped_cohorts(
    frame: pd.DataFrame, cohorts: Sequence[str], cap: CohortCap | None
) -> pd.DataFrame:
    """Capped cohort columns as their labels (`(other)` beyond the cap): the sampling strata
    and the metrics then see the same bounded set of cohorts as every other stage. A cohort
    column that is also a canonical field (status, route) keeps its values: evaluators read
    them."""
    if cap is None:
        return frame
    for dimension in cohorts:
        if cap.capped(dimension) and dimension in frame:
            labels = cap.apply(dimension, as_labels(frame[dimension]).to_numpy())
            frame[_COHORT_PREFIX + dimension] = labels
    return frame


def _cohort_column(frame: pd.DataFrame, dimension: str) -> str:
    """The frame column holding a cohort's labels: the capped copy when there is one."""
    capped = _COHORT_PREFIX + dimension
    return capped if capped in frame else dimension


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with few distinct values (status, release fields, cohorts, feedback) as
    categoricals: a 1M-row window's base columns take ~70 MB instead of ~470 MB."""
    for name in frame.columns:
        if name != "record_id" and frame[name].dtype == object:
            values = frame[name]
            try:
                distinct = values.nunique(dropna=True)
            except TypeError:  # dicts and lists: a JSON(B) column the driver parsed
                continue
            if distinct <= max(1_000, len(values) // 10):
                frame[name] = values.astype("category")
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")


@dataclass
class _Judging:
    """Judges records with one evaluator, reusing the store's judgments and saving new ones
    at once (they may have cost money); the run's counts add up in `outcome`."""

    store: JudgmentCache
    monitor: Monitor
    window: Window
    budget: Budget
    outcome: EvalOutcome
    now: datetime

    def __call__(
        self,
        configured: ConfiguredEvaluator,
        records: list[dict[str, Any]],
        releases: dict[str, str],
    ) -> list[Judgment]:
        evaluator, outcome = configured.evaluator, self.outcome
        ids = [str(r["record_id"]) for r in records]
        cached = self.store.cached_judgments(
            self.monitor.name, evaluator.name, evaluator.version, ids
        )
        todo = [r for r, record_id in zip(records, ids, strict=True) if record_id not in cached]
        started = time.perf_counter()
        fresh = evaluator.evaluate(todo, self.budget) if todo else []
        outcome.seconds[evaluator.name] = time.perf_counter() - started
        keep = [
            j
            for j in fresh
            if j.status == "judged" or (j.status == "skipped" and _deterministic(j))
        ]
        self.store.save_judgments(self.monitor.name, self.window.start, releases, keep, self.now)
        outcome.cached += len(cached)
        outcome.judged += len(fresh)
        outcome.errors += sum(j.status == "error" for j in fresh)
        outcome.skipped += sum(j.status == "skipped" for j in fresh)
        outcome.cost_usd += sum(j.cost_usd for j in fresh)
        by_id = {**cached, **{j.record_id: j for j in fresh}}
        return [by_id[i] for i in ids]


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame:
        return [None] * len(frame)
    return frame[name].astype(object).where(frame[name].notna(), None).tolist()


def _deterministic(judgment: Judgment) -> bool:
    """A skip that would happen again (a missing field), unlike a budget stop."""
    return judgment.reason.startswith("missing")


def run_evaluators(
    warehouse: EvaluatorSource,
    store: JudgmentCache,
    monitor: Monitor,
    window: Window,
    evaluators: Sequence[ConfiguredEvaluator],
    budget: Budget,
    now: datetime,
    exclude: Collection[str] = (),
    cap: CohortCap | None = None,
) -> EvalOutcome:
    """Grade the window's sample; metrics per evaluator x release x cohort and calibration
    (cohort values beyond `cap` pooled as `(other)`, also as sampling strata)."""
    outcome = EvalOutcome()
    if not evaluators:
        return outcome
    source = monitor.source
    fields = _fields(monitor, evaluators)
    everything = [c for c in evaluators if c.spec.sample == "all"]
    sampled = [c for c in evaluators if c.spec.sample == "sampled"]
    base = [f for f in fields if f in _BASE_FIELDS or f in source.release]
    frame = _read(warehouse, monitor, window, fields if everything else base)
    frame = _gradable(frame, exclude, source.cohorts, cap)
    if frame.empty:
        return outcome
    release = pd.Series(
        release_labels(frame, source.release).to_numpy(), index=frame["record_id"].to_numpy()
    )
    judge = _Judging(store, monitor, window, budget, outcome, now)
    results: list[Judgment] = []
    if everything:
        releases = release.to_dict()
        all_records = _records(frame)
        for configured in everything:
            results += judge(configured, all_records, releases)
    failed = {j.record_id for j in results if j.label == "fail"}
    negative = _typed(warehouse, monitor, "feedback", source.negative_feedback)
    selection = _sample(warehouse, monitor, window, frame, failed, negative)
    outcome.selected = len(selection)
    outcome.flagged = sum(1 for r in selection.record_ids if selection.reasons[r])
    if sampled and len(selection):
        releases = release.loc[list(selection.record_ids)].to_dict()
        if everything:
            chosen = frame.iloc[pd.Index(frame["record_id"]).get_indexer(selection.record_ids)]
        else:
            chosen = _read(warehouse, monitor, window, fields, selection.record_ids)
            chosen["record_id"] = chosen["record_id"].astype(str)
            # an id the table logs twice (versions of a row) is judged once, as in `_gradable`
            chosen = chosen[~chosen["record_id"].duplicated(keep="first")]
        chosen_records = _records(chosen)
        for configured in sampled:
            results += judge(configured, chosen_records, releases)
    outcome.budget_exhausted = budget.exhausted
    sampled_names = {c.evaluator.name for c in sampled}
    graded = _graded(frame, release, results, source.cohorts, negative, sampled_names, selection)
    outcome.metrics = judgment_metrics(graded) + calibration_metrics(graded)
    outcome.summaries = judgment_summaries(graded)
    outcome.examples = failing_examples(graded)
    return outcome


def _gradable(
    frame: pd.DataFrame, exclude: Collection[str], cohorts: Sequence[str], cap: CohortCap | None
) -> pd.DataFrame:
    """The records that can be judged, compact, with capped cohort labels and string ids.

    Judgments are kept per record id: a record without an id cannot be judged (validation
    quarantines it), a duplicated id is judged once (validation reports the duplicate), and a
    quarantined record is left out."""
    if exclude and len(frame):
        frame = frame[~frame["record_id"].astype(str).isin(set(exclude))]
    frame = frame[frame["record_id"].notna()]
    frame = frame[~frame["record_id"].astype(str).duplicated(keep="first")]
    if frame.empty:
        return frame
    frame = _compact(_capped_cohorts(frame.reset_index(drop=True), cohorts, cap))
    frame["record_id"] = frame["record_id"].astype(str)
    return frame


def _typed(
    warehouse: SourceTables, monitor: Monitor, field_name: str, values: Sequence[Any]
) -> list[Any]:
    """Configured statuses or feedback values typed as their column, as ops metrics compare."""
    source = monitor.source
    return typed_values(source, warehouse.table_columns(source), field_name, values)


def _sample(
    warehouse: SourceTables,
    monitor: Monitor,
    window: Window,
    frame: pd.DataFrame,
    failed: set[str],
    negative: Sequence[Any],
) -> Selection:
    """The failure-biased sample the `sampled` evaluators grade, stratified by release and
    cohort; logs when `sampling.max_records` thinned it."""
    source, sampling = monitor.source, monitor.evaluators.sampling
    selection = select_records(
        frame,
        share=sampling.share,
        strata=[[*source.release, _cohort_column(frame, c)] for c in source.cohorts]
        or [list(source.release)],
        salt=sampling.salt,
        ok_statuses=_typed(warehouse, monitor, "status", source.ok_values),
        negative_feedback=negative if sampling.negative_feedback else (),
        negative_below=source.negative_feedback_below if sampling.negative_feedback else None,
        latency_quantile=sampling.latency_quantile,
        failed_ids=failed if sampling.offline_failures else (),
        errors=sampling.errors,
        max_records=sampling.max_records,
    )
    if selection.uncapped > len(selection):
        log.info(
            "monitor %s window %s: sample thinned to %d of %d records (sampling.max_records)",
            monitor.name,
            window.label,
            len(selection),
            selection.uncapped,
        )
    return selection


def _graded(
    frame: pd.DataFrame,
    release: pd.Series,
    results: Sequence[Judgment],
    cohorts: Sequence[str],
    negative: Sequence[Any],
    sampled_names: set[str],
    selection: Selection,
) -> list[Graded]:
    """Each judgment with its record's release, cohort labels and human label; labels are
    made only for the records graded, not for every row of the window."""
    graded_ids = list(dict.fromkeys(j.record_id for j in results))
    rows = frame.iloc[pd.Index(frame["record_id"]).get_indexer(graded_ids)].reset_index(drop=True)
    row_of = {r: i for i, r in enumerate(graded_ids)}
    graded_release = release.loc[graded_ids].tolist()
    cohort_labels = [
        (c + "=" + as_labels(rows[_cohort_column(rows, c)])).tolist() for c in cohorts if c in rows
    ]
    humans = [
        human_label(f, e, negative)
        for f, e in zip(_column(rows, "feedback"), _column(rows, "expected"), strict=True)
    ]
    graded = []
    for judgment in results:
        i = row_of[judgment.record_id]
        graded.append(
            Graded(
                judgment=judgment,
                release=graded_release[i],
                cohorts=tuple(labels[i] for labels in cohort_labels),
                random=judgment.evaluator not in sampled_names
                or judgment.record_id in selection.random,
                human=humans[i],
            )
        )
    return graded

"""The ops stage: read the window (or let the warehouse aggregate it), choose the cohort values
kept apart, and compute the ops metrics and summaries per release x cohort."""

from __future__ import annotations

import logging

import pandas as pd

from lookout.checks.metrics import aggregate_frame, metrics_from_aggregates, with_votes
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap, choose_cohorts
from lookout.errors import LookoutError
from lookout.model.aggregates import GroupAggregates, MetricSettings, as_labels
from lookout.sources.column_types import typed_values
from lookout.sources.warehouse import metric_fields
from lookout.stages.base import StageOutcome, WindowRun
from lookout.stages.ports import OpsSource, SourceTables
from lookout.windows import Window

__all__ = ["OpsStage", "cohort_cap", "frame_cohort_counts", "metric_settings", "use_pushdown"]

log = logging.getLogger("lookout.pipeline")


def metric_settings(monitor: Monitor, warehouse: SourceTables | None = None) -> MetricSettings:
    """The metrics' settings; with the warehouse, statuses and feedback values typed for their
    columns (`[200]` for an integer status column), as both metric paths compare them."""
    source = monitor.source
    ok, negative = source.ok_values, tuple(source.negative_feedback)
    rates = {name: tuple(values) for name, values in source.status_rates.items()}
    if warehouse is not None:
        columns = warehouse.table_columns(source)
        if "status" in source.columns:
            ok = typed_values(source, columns, "status", ok)
            rates = {n: typed_values(source, columns, "status", v) for n, v in rates.items()}
        if "feedback" in source.columns:
            negative = typed_values(source, columns, "feedback", negative)
        if source.feedback_table is not None:
            votes = source.votes_source()
            negative = typed_values(votes, warehouse.table_columns(votes), "feedback", negative)
    return MetricSettings(
        ok_statuses=ok,
        null_status_ok=source.null_status == "ok",
        negative_feedback=negative,
        negative_below=source.negative_feedback_below,
        prices={m: (p.input_per_1m, p.output_per_1m) for m, p in monitor.metrics.prices.items()},
        status_rates=rates,
    )


# `metrics.pushdown: auto` aggregates a window of at least this many rows in the warehouse
# (where its dialect pushes down) and a smaller one in pandas: a GROUP BY per quantile sketch
# costs more than reading a small window (benchmarks/bench_window.py on DuckDB: pandas 2.6x
# faster at 2,000 rows, 2x at 50,000, as fast at 300,000, where the warehouse takes a third
# less memory; see docs/performance.md).
PUSHDOWN_FROM_ROWS = 200_000


def use_pushdown(monitor: Monitor, warehouse: OpsSource, window: Window) -> bool:
    """`auto` pushes down where the dialect says it measured faster (DuckDB, Snowflake), for
    a window of `PUSHDOWN_FROM_ROWS` rows or more; elsewhere the needed columns are read and
    aggregated in pandas."""
    mode = monitor.metrics.pushdown
    if mode == "on" and not warehouse.supports_pushdown:
        raise LookoutError(
            f"monitor {monitor.name}: metrics.pushdown is on, "
            f"but {warehouse.dialect} has no percentile_cont"
        )
    caps = warehouse.capabilities
    wanted = caps.metrics_pushdown_default if mode == "auto" else mode == "on"
    if wanted and mode == "auto":
        rows = sum(n for _, _, n in warehouse.release_values(monitor, window))
        wanted = rows >= PUSHDOWN_FROM_ROWS
    loose = warehouse.loose_numeric_fields(monitor.source) if wanted else frozenset()
    if loose:
        # SQL would fail on (or mis-cast) text such as `fast`: read the rows, parse in pandas
        log.info(
            "monitor %s: %s not in numeric columns; metrics computed in pandas",
            monitor.name,
            ", ".join(sorted(loose)),
        )
        return False
    return wanted


def frame_cohort_counts(frame: pd.DataFrame, monitor: Monitor) -> dict[str, dict[str, int]]:
    """Rows per value label of each cohort column of a window read into pandas."""
    return {
        dimension: {str(k): int(v) for k, v in as_labels(frame[dimension]).value_counts().items()}
        for dimension in monitor.source.cohorts
        if dimension in frame
    }


def cohort_cap(run: WindowRun, counts: dict[str, dict[str, int]]) -> CohortCap:
    """The window's cohort cap: values ranked by the stored traffic of the trailing
    `cohort_lookback` plus the window's own (see `lookout.core.cohorts`)."""
    source = run.monitor.source
    if not source.cohorts:
        return CohortCap()
    since = run.window.start - source.cohort_lookback
    history = run.ctx.store.cohort_traffic(run.monitor.name, since, run.window.start)
    return choose_cohorts(counts, history, source.max_cohort_values)


def counted_votes(
    run: WindowRun, aggregates: list[GroupAggregates], settings: MetricSettings
) -> list[GroupAggregates]:
    """The aggregates with the feedback of the votes given in the window (`source.
    feedback_table`); votes naming no record this monitor watches are counted in the log."""
    monitor = run.monitor
    votes, given = run.ctx.warehouse.feedback_votes(monitor, run.window)
    if given > len(votes):
        log.info(
            "monitor %s window %s: %d of %d vote(s) name no record this monitor watches "
            "(another service's, left out by where, or never logged): not counted",
            monitor.name,
            run.window.label,
            given - len(votes),
            given,
        )
    source = monitor.source
    return with_votes(aggregates, votes, source.release, source.cohorts, settings, run.cap)


class OpsStage:
    """Always on: every other stage and the rules build on its read."""

    name = "ops"

    def enabled(self, monitor: Monitor) -> bool:
        return True

    def run(self, run: WindowRun) -> StageOutcome:
        ctx, monitor, window = run.ctx, run.monitor, run.window
        settings = metric_settings(monitor, ctx.warehouse)
        pushdown = use_pushdown(monitor, ctx.warehouse, window)
        # A record with a value that is not a number in a numeric field is left out of every
        # ops metric on both paths (the validation stage quarantines it): still a window row.
        if pushdown:
            run.cap = cohort_cap(run, ctx.warehouse.cohort_counts(monitor, window))
            aggregates = ctx.warehouse.aggregate_window(monitor, window, settings, run.cap)
            left_out = ctx.warehouse.count_not_numbers(monitor, window)
            rows = sum(a.n for a in aggregates if a.cohort == "*") + left_out
            max_ingested = ctx.warehouse.max_ingested_in(monitor, window)
        else:
            frame, not_numbers = ctx.warehouse.read_window_checked(
                monitor, window, metric_fields(monitor.source)
            )
            rows, left_out = len(frame), int(not_numbers.sum())
            run.cap = cohort_cap(run, frame_cohort_counts(frame, monitor))
            max_ingested = ctx.warehouse.max_ingested(frame)
            frame = frame[~not_numbers] if left_out else frame
            aggregates = aggregate_frame(
                frame, monitor.source.release, monitor.source.cohorts, settings, run.cap
            )
        if monitor.source.feedback_table is not None:
            aggregates = counted_votes(run, aggregates, settings)
        if left_out and not monitor.validation.enabled:
            log.warning(
                "monitor %s window %s: %d record(s) with a value that is not a number left out "
                "of the metrics and not quarantined (validation is off)",
                monitor.name,
                window.label,
                left_out,
            )
        return StageOutcome(
            metrics=metrics_from_aggregates(aggregates),
            summaries={(a.release, a.cohort): a.summary() for a in aggregates},
            stats={
                "rows": rows,
                "metric_path": "pushdown" if pushdown else "pandas",
                "max_ingested": max_ingested,
            },
        )

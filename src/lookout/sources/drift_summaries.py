"""Drift summaries of a period, computed by the warehouse: sketches and category counts.

Per release x cohort, each numeric drift feature becomes a DDSketch (`lookout.core.sketch`) and
each categorical one its value counts, under the key `drift:<column>` of a `Summary`: mergeable,
so a rolling period is the merge of its windows' stored summaries, never a re-read. Only these
small summaries leave the database, never the rows: a large period is bucketed by the warehouse
(one GROUP BY on the sketch bucket key `ceil(ln|x| * multiplier)` for the numeric features, one
per categorical feature, per cohort dimension). A small period (at most `local_max_rows` rows,
the hourly case) is cheaper the other way: one narrow SELECT of the features (computed in SQL,
so no text leaves the database) summarised in numpy, because each GROUP BY costs ~10-30 ms of
fixed overhead. Both paths give the same summaries.

A logged number is parsed by `parse_numbers`: one that is not a number (`fast`, `12ms`, an
infinity) is missing, never 0, on every backend (SQL aggregates only numeric columns, and
SQLite, which keeps text in any column, is summarised locally). `cross_summaries` gives what
attribution needs: the summaries of every cohort value and of every pair of cohort values of two
columns (plan=enterprise and region=eu). Identifiers reach SQL as column objects; values bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor
from lookout.core.cohorts import OTHER, CohortCap
from lookout.core.sketch import Sketch
from lookout.core.summary import Summary
from lookout.errors import SourceError, database_error
from lookout.model.aggregates import ALL_COHORTS, as_labels, label_text
from lookout.model.record import is_missing, parse_numbers
from lookout.sources.drift_columns import DriftColumn, category_label, sql_feature
from lookout.sources.summary_port import SummarySource
from lookout.sources.warehouse import CohortKey, sketch_buckets
from lookout.windows import Window

__all__ = [
    "LOCAL_MAX_ROWS",
    "MAX_STORED_CATEGORIES",
    "PREFIX",
    "GroupKey",
    "SummarySource",
    "cross_summaries",
    "feature_key",
    "release_filter",
    "window_summaries",
]

# (release label, cohort label)
GroupKey = tuple[str, str]

PREFIX = "drift:"
# Labels kept per categorical feature in one stored summary (the most frequent); the rest are
# counted as `(other)`, so a column of ids cannot grow the store without bound.
MAX_STORED_CATEGORIES = 1000
# Up to this many rows a period is summarised locally (one narrow SELECT); measured crossovers
# at which the warehouse's GROUP BYs win: ~25k rows on PostgreSQL, ~40k on DuckDB. SQLite has
# no sampling and no guaranteed `ln`: always local (the ops stage reads its windows whole too).
LOCAL_MAX_ROWS = 30_000


def feature_key(name: str) -> str:
    """The key of a drift column in a `Summary` (stages share one summary per group)."""
    return f"{PREFIX}{name}"


def _sampled(
    warehouse: SummarySource, table: sa.Table, where: Any, max_rows: int | None
) -> tuple[Any, int]:
    """(FROM clause, rows in the period): on PostgreSQL, a period above `max_rows` rows is read
    through `TABLESAMPLE SYSTEM` sized to about `max_rows` of its rows (page sampling: it cuts the
    scan, not only the aggregation). Elsewhere the whole period is read."""
    with warehouse.engine.connect() as conn:
        rows = conn.scalar(sa.select(sa.func.count()).select_from(table).where(where)) or 0
    if max_rows is None or rows <= max_rows:
        return table, rows
    percent = max(0.01, min(100.0, 100.0 * max_rows / rows))
    sampled = warehouse.capabilities.period_sample(table, percent)
    return (table, rows) if sampled is None else (sampled, rows)


def release_filter(warehouse: SummarySource, monitor: Monitor, table: Any, values: Sequence) -> Any:
    """Rows of one release, by its raw values (NULL matched as NULL)."""
    source = monitor.source
    clauses = []
    for field, value in zip(source.release, values, strict=True):
        column = warehouse.column(table, source, field)
        clauses.append(column.is_(None) if value is None else column == value)
    return sa.and_(*clauses)


def _where(
    warehouse: SummarySource, monitor: Monitor, table: Any, period: Window, release: Sequence | None
) -> Any:
    clause = warehouse.in_window(table, monitor.source, period)
    if release is not None:
        clause = sa.and_(clause, release_filter(warehouse, monitor, table, release))
    return clause


def _local(warehouse: SummarySource, monitor: Monitor) -> bool:
    """Whether to summarise locally whatever the size: a dialect without SQL summaries
    (SQLite, the generic one), or a numeric field logged into a column that is not of a numeric
    type (SQL would fail on, or mis-cast, its text)."""
    return not warehouse.capabilities.drift_in_sql or bool(
        warehouse.loose_numeric_fields(monitor.source)
    )


def window_summaries(
    warehouse: SummarySource,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    period: Window,
    *,
    release: Sequence | None = None,
    dimensions: Sequence[str | None] = (None,),
    local_max_rows: int | None = None,
    max_rows: int | None = None,
    cap: CohortCap | None = None,
) -> dict[GroupKey, Summary]:
    """The drift summary of every release x cohort of `period` (cohort values beyond `cap`
    pooled as `(other)`).

    `release` (raw release values) restricts the rows to one release, as for a reference;
    `dimensions` lists the cohort columns to split by (None = the whole release, cohort `*`).
    """
    source = monitor.source
    table: Any = warehouse.table(source)
    where = _where(warehouse, monitor, table, period, release)
    limit = LOCAL_MAX_ROWS if local_max_rows is None else local_max_rows
    try:
        sampled, rows = _sampled(warehouse, table, where, max_rows)
        if sampled is not table:
            table = sampled
            where = _where(warehouse, monitor, table, period, release)
        if rows == 0:
            return {}
        if rows <= limit or _local(warehouse, monitor):
            frame = _feature_frame(warehouse, monitor, table, columns, where, dimensions)
            return _summaries_of_frame(frame, columns, dimensions, cap)
        return _pushed_down(warehouse, monitor, table, columns, where, dimensions, cap)
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(
            exc, f"warehouse {warehouse.display_url}: drift summaries failed", SourceError
        ) from None


# --------------------------------------------------------------------------- local path


def _feature_frame(
    warehouse: SummarySource,
    monitor: Monitor,
    table: Any,
    columns: Sequence[DriftColumn],
    where: Any,
    dimensions: Sequence[str | None],
) -> pd.DataFrame:
    """One narrow SELECT: release labels `k0..`, cohort columns `d0..`, features `f0..` (logged
    numbers parsed, text features as the warehouse computed them)."""
    source = monitor.source
    releases = [warehouse.column(table, source, f) for f in source.release]
    dims = [d for d in dimensions if d is not None]
    selected = [k.label(f"k{i}") for i, k in enumerate(releases)]
    selected += [warehouse.column(table, source, d).label(f"d{i}") for i, d in enumerate(dims)]
    selected += [
        sql_feature(
            c, warehouse.column(table, source, c.field), warehouse.capabilities, raw=True
        ).label(f"f{i}")
        for i, c in enumerate(columns)
    ]
    frame = warehouse.fetch_frame(sa.select(*selected).where(where))
    out = pd.DataFrame(index=frame.index)
    parts = [as_labels(frame[f"k{i}"]).tolist() for i in range(len(releases))]
    labels = ["@".join(p) or "default" for p in zip(*parts, strict=True)]
    out["release"] = labels if parts else "default"  # `release: []`: every row is one release
    for i, dimension in enumerate(dims):
        out[f"d:{dimension}"] = as_labels(frame[f"d{i}"]).to_numpy()
    for i, column in enumerate(columns):
        raw = frame[f"f{i}"]
        if column.numeric_value:
            out[column.name] = parse_numbers(raw)[0]
        elif column.kind == "numeric":
            out[column.name] = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        else:
            out[column.name] = _labels(raw)
    return out


def _labels(raw: pd.Series) -> np.ndarray:
    """`category_label` of each value, computed once per distinct value."""
    codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
    table = [category_label(None if is_missing(u) else u) for u in uniques.tolist()]
    table.append(category_label(None))
    return np.asarray(table, dtype=object)[codes]


def _cohort_labels(frame: pd.DataFrame, dimension: str | None, cap: CohortCap | None) -> np.ndarray:
    if dimension is None:
        return np.full(len(frame), ALL_COHORTS, dtype=object)
    values = frame[f"d:{dimension}"].to_numpy()
    if cap is not None:
        values = cap.apply(dimension, values)
    return np.array([f"{dimension}={v}" for v in values.tolist()], dtype=object)


def _prepared(
    frame: pd.DataFrame, columns: Sequence[DriftColumn], dims: Sequence[str], cap: CohortCap | None
) -> dict[str, tuple[np.ndarray, list[str] | None]]:
    """Each column of `frame` as numbers, or a category's labels as codes and their names."""
    out: dict[str, tuple[np.ndarray, list[str] | None]] = {}
    for column in columns:
        if column.kind == "numeric":
            out[column.name] = (frame[column.name].to_numpy(dtype=float), None)
        else:
            labels = _capped_labels(column, frame[column.name].to_numpy(dtype=object), dims, cap)
            codes, uniques = pd.factorize(labels)
            out[column.name] = (codes, list(uniques))
    return out


def _capped_labels(
    column: DriftColumn, labels: np.ndarray, dims: Sequence[str], cap: CohortCap | None
) -> np.ndarray:
    """A cohort column's values as its cohorts count them (capped values as `(other)`)."""
    if cap is not None and column.field in dims and column.feature == "value":
        return cap.apply(column.field, labels)
    return labels


def _summaries_of_frame(
    frame: pd.DataFrame,
    columns: Sequence[DriftColumn],
    dimensions: Sequence[str | None],
    cap: CohortCap | None,
) -> dict[GroupKey, Summary]:
    if not len(frame):
        return {}
    dims = [d for d in dimensions if d is not None]
    release = frame["release"].to_numpy(dtype=object)
    prepared = _prepared(frame, columns, dims, cap)
    out: dict[GroupKey, Summary] = {}
    for dimension in dimensions:
        cohorts = _cohort_labels(frame, dimension, cap)
        groups = pd.Series(range(len(frame))).groupby([release, cohorts], sort=False).indices
        for key, index in groups.items():
            summary = out.setdefault((str(key[0]), str(key[1])), Summary())
            for column in columns:
                if column.field == dimension:
                    continue  # a cohort's own column is constant inside it
                data, labels = prepared[column.name]
                if column.kind == "numeric":
                    values = data[index]
                    values = values[~np.isnan(values)]
                    if len(values):  # no number at all: no sketch (not an empty one)
                        summary.sketches[feature_key(column.name)] = Sketch.of(values)
                else:
                    counts = np.bincount(data[index], minlength=len(labels))
                    summary.categories[feature_key(column.name)] = _bounded(
                        {labels[i]: float(c) for i, c in enumerate(counts.tolist()) if c}
                    )
    return {k: v for k, v in out.items() if v.sketches or v.categories}


def _bounded(counts: dict[str, float]) -> dict[str, float]:
    if len(counts) <= MAX_STORED_CATEGORIES:
        return counts
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[: MAX_STORED_CATEGORIES - 1])
    kept[OTHER] = kept.get(OTHER, 0.0) + sum(v for _, v in ranked[MAX_STORED_CATEGORIES - 1 :])
    return kept


# --------------------------------------------------------------------------- pushdown


def _group(row: Any, width: int, cohort: CohortKey | None) -> GroupKey:
    release = "@".join(label_text(row[i]) for i in range(width)) or "default"
    if cohort is None:
        return release, ALL_COHORTS
    return release, cohort.label([row[width + i] for i in range(len(cohort.columns))])


def _pushed_down(
    warehouse: SummarySource,
    monitor: Monitor,
    table: Any,
    columns: Sequence[DriftColumn],
    where: Any,
    dimensions: Sequence[str | None],
    cap: CohortCap | None,
) -> dict[GroupKey, Summary]:
    """The same summaries from GROUP BYs: one (a UNION ALL) for the numeric features and one
    per categorical feature, per cohort dimension."""
    source, dialect = monitor.source, warehouse.capabilities
    releases = [warehouse.column(table, source, f) for f in source.release]
    dims = [d for d in dimensions if d is not None]
    out: dict[GroupKey, Summary] = {}
    with warehouse.engine.connect() as conn:
        for dimension in dimensions:
            keys = list(releases)
            cohort = None
            if dimension is not None:
                cohort = warehouse.cohort_key(conn, table, source, dimension, cap, where)
                keys.extend(cohort.columns)
            labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
            wanted = [c for c in columns if c.field != dimension]
            numeric = {
                c.name: sql_feature(c, warehouse.column(table, source, c.field), dialect)
                for c in wanted
                if c.kind == "numeric"
            }
            sketches = sketch_buckets(conn, labelled, numeric, where, len(releases), cohort)
            for key, by_name in sketches.items():
                summary = out.setdefault(key, Summary())
                for name, sketch in by_name.items():
                    summary.sketches[feature_key(name)] = sketch
            for column in wanted:
                if column.kind == "numeric":
                    continue
                expr = sql_feature(column, warehouse.column(table, source, column.field), dialect)
                value = expr.label("v")
                query = (
                    sa.select(*labelled, value, sa.func.count())
                    .where(where)
                    .group_by(*labelled, value)
                )
                width = len(labelled) - (len(cohort.columns) if cohort else 0)
                found: dict[GroupKey, dict[str, float]] = {}
                for row in conn.execute(query):
                    label = category_label(row[len(labelled)])
                    if cap is not None and column.field in dims and column.feature == "value":
                        label = cap.label(column.field, label)
                    counts = found.setdefault(_group(row, width, cohort), {})
                    counts[label] = counts.get(label, 0.0) + float(row[len(labelled) + 1])
                for key, counts in found.items():
                    summary = out.setdefault(key, Summary())
                    summary.categories[feature_key(column.name)] = _bounded(counts)
    return out


# --------------------------------------------------------------------------- attribution


def cross_summaries(
    warehouse: SummarySource,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    period: Window,
    release: Sequence | None,
    dimensions: Sequence[str],
    cap: CohortCap | None,
) -> dict[tuple[str, ...], Summary]:
    """Summaries of the `columns` over the period's rows of one release (all releases when
    `release` is None): `("*",)` for all of them, `(cohort,)` per cohort value and
    `(cohort, cohort)` per pair of values of two cohort columns, in `dimensions` order
    (`("plan=enterprise", "region=eu")`). One narrow SELECT, summarised in numpy."""
    source = monitor.source
    table: Any = warehouse.table(source)
    where = _where(warehouse, monitor, table, period, release)
    try:
        frame = _feature_frame(warehouse, monitor, table, columns, where, dimensions)
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(
            exc, f"warehouse {warehouse.display_url}: drift attribution read failed", SourceError
        ) from None
    out: dict[tuple[str, ...], Summary] = {}
    if not len(frame):
        return out
    labels = {d: _cohort_labels(frame, d, cap) for d in dimensions}
    keyed: list[tuple[tuple[str, ...], np.ndarray]] = [(("*",), np.arange(len(frame)))]
    for i, first in enumerate(dimensions):
        for value, index in pd.Series(range(len(frame))).groupby(labels[first]).indices.items():
            keyed.append(((str(value),), index))
        for second in dimensions[i + 1 :]:
            pairs = pd.Series(range(len(frame))).groupby([labels[first], labels[second]])
            for (a, b), index in pairs.indices.items():
                keyed.append(((str(a), str(b)), index))
    prepared = _prepared(frame, columns, dimensions, cap)  # a category's counts: a bincount
    for key, index in keyed:
        summary = Summary()
        for column in columns:
            data, names = prepared[column.name]
            if names is None:
                values = data[index]
                values = values[~np.isnan(values)]
                if len(values):
                    summary.sketches[feature_key(column.name)] = Sketch.of(values)
            else:  # NaN labels are code -1 (not counted, as value_counts does)
                counts = np.bincount(data[index][data[index] >= 0], minlength=len(names))
                summary.categories[feature_key(column.name)] = _bounded(
                    {str(names[i]): float(c) for i, c in enumerate(counts.tolist()) if c}
                )
        out[key] = summary
    return out

"""Drift histograms computed by the warehouse: quantile edges, bucket counts, value counts.

Only these small summaries leave the database, never the rows, so drift on a 1M-row window costs
a few GROUP BY scans. A small period (at most `local_max_rows` rows, the hourly case) is cheaper
the other way: one narrow SELECT of the features (computed in SQL, so no text leaves the
database) binned in numpy, because each pushed-down GROUP BY costs ~10-30 ms of fixed overhead
and a window needs one per column and cohort dimension. Both paths give the same histograms.

Bucket numbers follow PostgreSQL's `width_bucket` (0 below the first edge,
i for [edge i, edge i+1), k at or above the last); DuckDB and SQLite get the same as a CASE.
Identifiers reach SQL only as SQLAlchemy column objects; edges and levels are bound values or
numbers this module formats itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lookout.checks.drift.columns import DriftColumn, category_label, sql_feature
from lookout.checks.drift.stats import NumericHistogram
from lookout.checks.metrics import ALL_COHORTS, as_labels, label_text
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap
from lookout.errors import SourceError
from lookout.sources.contract import is_missing
from lookout.sources.warehouse import CohortKey, Warehouse, _first_line
from lookout.windows import Window

__all__ = ["LOCAL_MAX_ROWS", "GroupKey", "Histograms", "quantile_edges", "window_histograms"]

# (release label, cohort label) -> column name -> histogram (numeric) or value counts
GroupKey = tuple[str, str]
Histograms = dict[GroupKey, dict[str, Any]]

LEVELS = tuple(sorted({*(i / 32 for i in range(33)), 0.001, 0.005, 0.995, 0.999}))
MAX_CATEGORIES = 50
OTHER = "(other)"
SAMPLE_FOR_EDGES = 200_000
# Up to this many rows a period is binned locally (one narrow SELECT); measured crossovers at
# which the warehouse's GROUP BYs win: ~25k rows on PostgreSQL, ~40k on DuckDB; SQLite's CASE
# bucketing is slow at every size, so it bins locally further up (memory grows with rows).
LOCAL_MAX_ROWS = 30_000
LOCAL_MAX_ROWS_SQLITE = 200_000


def local_max_rows_for(dialect: str) -> int:
    return LOCAL_MAX_ROWS_SQLITE if dialect == "sqlite" else LOCAL_MAX_ROWS


def _sampled(
    warehouse: Warehouse, table: sa.Table, where: Any, max_rows: int | None
) -> tuple[Any, int]:
    """(FROM clause, rows in the period): on PostgreSQL, a period above `max_rows` rows is read
    through `TABLESAMPLE SYSTEM` sized to about `max_rows` of its rows (page sampling: it cuts the
    scan, not only the aggregation). Elsewhere the whole period is read (DuckDB is fast enough;
    SQLite has no TABLESAMPLE)."""
    with warehouse.engine.connect() as conn:
        rows = conn.scalar(sa.select(sa.func.count()).select_from(table).where(where)) or 0
    if max_rows is None or rows <= max_rows or warehouse.dialect != "postgresql":
        return table, rows
    percent = max(0.01, min(100.0, 100.0 * max_rows / rows))
    return sa.tablesample(table, sa.func.system(percent), name="sampled"), rows


def _release_filter(warehouse: Warehouse, monitor: Monitor, table: sa.Table, values: Sequence):
    source = monitor.source
    clauses = []
    for field, value in zip(source.release, values, strict=True):
        column = warehouse._column(table, source, field)
        clauses.append(column.is_(None) if value is None else column == value)
    return sa.and_(*clauses)


def _where(
    warehouse: Warehouse,
    monitor: Monitor,
    table: sa.Table,
    period: Window,
    release: Sequence | None,
):
    clause = warehouse._in_window(table, monitor.source, period)
    if release is not None:
        clause = sa.and_(clause, _release_filter(warehouse, monitor, table, release))
    return clause


def quantile_edges(
    warehouse: Warehouse,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    period: Window,
    release: Sequence | None = None,
    max_rows: int | None = None,
) -> dict[str, tuple[float, ...]]:
    """Bucket edges per numeric column: the reference's quantiles (one query on DuckDB/PG)."""
    numeric = [c for c in columns if c.kind == "numeric"]
    if not numeric:
        return {}
    source = monitor.source
    table = warehouse._table(source)
    where = _where(warehouse, monitor, table, period, release)
    if max_rows is not None and warehouse.dialect == "postgresql":
        table, _ = _sampled(warehouse, table, where, max_rows)
        where = _where(warehouse, monitor, table, period, release)
    dialect = warehouse.dialect
    exprs = [sql_feature(c, warehouse._column(table, source, c.field), dialect) for c in numeric]
    levels = ", ".join(repr(float(level)) for level in LEVELS)
    out: dict[str, tuple[float, ...]] = {}
    try:
        with warehouse.engine.connect() as conn:
            if dialect in ("duckdb", "postgresql"):
                if dialect == "duckdb":
                    aggs = [
                        sa.func.quantile_cont(e, sa.literal_column(f"[{levels}]")).label(f"q{i}")
                        for i, e in enumerate(exprs)
                    ]
                else:
                    array = sa.literal_column(f"ARRAY[{levels}]::float8[]")
                    aggs = [
                        sa.func.percentile_cont(array).within_group(e).label(f"q{i}")
                        for i, e in enumerate(exprs)
                    ]
                row = conn.execute(sa.select(*aggs).where(where)).one()
                for i, column in enumerate(numeric):
                    values = [v for v in (row[i] or []) if v is not None]
                    out[column.name] = tuple(sorted({float(v) for v in values}))
            else:  # SQLite: no quantile function; quantiles of a bounded sample of values
                for column, expr in zip(numeric, exprs, strict=True):
                    query = (
                        sa.select(expr.label("v"))
                        .where(sa.and_(where, expr.isnot(None)))
                        .limit(SAMPLE_FOR_EDGES)
                    )
                    values = np.array([r[0] for r in conn.execute(query)], dtype=float)
                    quantiles = np.quantile(values, LEVELS) if len(values) else []
                    out[column.name] = tuple(sorted({float(v) for v in quantiles}))
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(
            f"warehouse {warehouse.display_url}: drift quantiles failed: {_first_line(exc)}"
        ) from None
    return out


def _bucket(expr: sa.ColumnElement[Any], edges: Sequence[float], dialect: str):
    if not edges:
        return sa.case((expr.is_(None), 0), else_=0)  # not a bare 0: GROUP BY 0 is positional
    if dialect == "postgresql":
        array = sa.literal([float(e) for e in edges], type_=postgresql.ARRAY(sa.Double))
        return sa.func.width_bucket(expr, array)
    whens = [(expr < sa.literal(float(e), sa.Double), i) for i, e in enumerate(edges)]
    return sa.case(*whens, else_=len(edges))


def window_histograms(
    warehouse: Warehouse,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    period: Window,
    edges: dict[str, tuple[float, ...]],
    *,
    release: Sequence | None = None,
    dimensions: Sequence[str | None] = (None,),
    local_max_rows: int | None = None,
    max_rows: int | None = None,
    cap: CohortCap | None = None,
) -> Histograms:
    """Histograms of every column per release x cohort of `period` (cohort values beyond
    `cap` pooled as `(other)`).

    `release` (raw release values) restricts the rows to one release, as for a reference;
    `dimensions` lists the cohort columns to split by (None = the whole release, cohort `*`).
    Periods of at most `local_max_rows` rows (default by dialect) are binned locally from one
    narrow SELECT; larger ones are aggregated by the warehouse (one GROUP BY per column and
    dimension), on PostgreSQL from a page sample of about `max_rows` rows when there are more.
    """
    source = monitor.source
    table = warehouse._table(source)
    where = _where(warehouse, monitor, table, period, release)
    dialect = warehouse.dialect
    releases = [warehouse._column(table, source, f) for f in source.release]
    out: Histograms = {}
    if local_max_rows is None:
        local_max_rows = local_max_rows_for(dialect)
    try:
        sampled, rows = _sampled(warehouse, table, where, max_rows)
        if sampled is not table:
            table = sampled
            where = _where(warehouse, monitor, table, period, release)
            releases = [warehouse._column(table, source, f) for f in source.release]
        if rows <= local_max_rows:
            return _local_histograms(
                warehouse, monitor, table, columns, edges, where, releases, dimensions, cap
            )
        with warehouse.engine.connect() as conn:
            for dimension in dimensions:
                keys = list(releases)
                cohort = None
                if dimension is not None:
                    cohort = warehouse.cohort_key(conn, table, source, dimension, cap, where)
                    keys.extend(cohort.columns)
                labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
                for column in columns:
                    if column.field == dimension:
                        continue  # a cohort's own column is constant inside it
                    raw = warehouse._column(table, source, column.field)
                    expr = sql_feature(column, raw, dialect)
                    if column.kind == "numeric":
                        _numeric(conn, out, labelled, expr, column, edges, where, dialect, cohort)
                    else:
                        _categorical(conn, out, labelled, expr, column, where, cohort)
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(
            f"warehouse {warehouse.display_url}: drift histograms failed: {_first_line(exc)}"
        ) from None
    return out


def _local_histograms(
    warehouse: Warehouse,
    monitor: Monitor,
    table: sa.Table,
    columns: Sequence[DriftColumn],
    edges: dict[str, tuple[float, ...]],
    where: Any,
    releases: list[sa.ColumnElement[Any]],
    dimensions: Sequence[str | None],
    cap: CohortCap | None = None,
) -> Histograms:
    """The pushed-down histograms, from one SELECT of keys and features binned in numpy."""
    source = monitor.source
    dims = [d for d in dimensions if d is not None]
    selected = [k.label(f"k{i}") for i, k in enumerate(releases)]
    selected += [warehouse._column(table, source, d).label(f"d{i}") for i, d in enumerate(dims)]
    selected += [
        sql_feature(c, warehouse._column(table, source, c.field), warehouse.dialect).label(f"f{i}")
        for i, c in enumerate(columns)
    ]
    frame = warehouse._fetch_frame(sa.select(*selected).where(where))
    release_keys = [as_labels(frame[f"k{i}"]).tolist() for i in range(len(releases))]
    release_of = ["@".join(parts) or "default" for parts in zip(*release_keys, strict=True)]
    if not len(frame):
        return {}
    prepared = [_prepare(column, frame[f"f{i}"], edges) for i, column in enumerate(columns)]
    out: Histograms = {}
    for dimension in dimensions:
        if dimension is None:
            cohorts = [ALL_COHORTS] * len(frame)
        else:
            values = as_labels(frame[f"d{dims.index(dimension)}"]).to_numpy()
            if cap is not None:
                values = cap.apply(dimension, values)
            cohorts = [f"{dimension}={v}" for v in values.tolist()]
        groups = pd.Series(range(len(frame))).groupby([release_of, cohorts], sort=False).indices
        for column, (codes, labels) in zip(columns, prepared, strict=True):
            if column.field == dimension:
                continue
            for key, index in groups.items():
                target = out.setdefault((key[0], key[1]), {})
                if column.kind == "numeric":
                    histogram = _numeric_local(codes, labels, index, edges.get(column.name, ()))
                    if histogram is not None:  # as in SQL: no non-null value, no histogram
                        target[column.name] = histogram
                else:
                    counts = np.bincount(codes[index], minlength=len(labels))
                    target[column.name] = {
                        labels[i]: int(c) for i, c in enumerate(counts.tolist()) if c
                    }
    return {k: v for k, v in out.items() if v}


def _prepare(
    column: DriftColumn, raw: pd.Series, edges: dict[str, tuple[float, ...]]
) -> tuple[np.ndarray, Any]:
    """Per column, once per period: (bucket, values) for numeric, (codes, labels) otherwise."""
    if column.kind == "numeric":
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        limits = np.asarray(edges.get(column.name, ()), dtype=float)
        return np.searchsorted(limits, values, side="right"), values
    codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
    labels = [category_label(None if is_missing(u) else u) for u in uniques.tolist()]
    labels.append(category_label(None))
    return np.where(codes < 0, len(labels) - 1, codes), labels


def _numeric_local(
    buckets_of: np.ndarray, values_of: np.ndarray, index: np.ndarray, edges: Sequence[float]
) -> NumericHistogram | None:
    values = values_of[index]
    keep = ~np.isnan(values)
    values, bucket = values[keep], buckets_of[index][keep]
    if not len(values):
        return None
    order = np.argsort(bucket, kind="stable")
    bucket, values = bucket[order], values[order]
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    buckets: dict[int, tuple[int, float, float, float, float]] = {}
    for start, stop in zip(starts, [*starts[1:], len(values)], strict=True):
        chunk = values[start:stop]
        buckets[int(bucket[start])] = (
            len(chunk),
            float(chunk.sum()),
            float((chunk * chunk).sum()),
            float(chunk.min()),
            float(chunk.max()),
        )
    return NumericHistogram.from_buckets(edges, buckets)


def _group(row: Any, width: int, cohort: CohortKey | None) -> GroupKey:
    release = "@".join(label_text(row[i]) for i in range(width)) or "default"
    if cohort is None:
        return release, ALL_COHORTS
    return release, cohort.label([row[width + i] for i in range(len(cohort.columns))])


def _numeric(conn, out, labelled, expr, column, edges, where, dialect, cohort) -> None:
    column_edges = edges.get(column.name, ())
    bucket = _bucket(expr, column_edges, dialect).label("b")
    query = (
        sa.select(
            *labelled,
            bucket,
            sa.func.count(expr),
            sa.func.sum(expr),
            sa.func.sum(expr * expr),
            sa.func.min(expr),
            sa.func.max(expr),
        )
        .where(sa.and_(where, expr.isnot(None)))
        .group_by(*labelled, bucket)
    )
    width = len(labelled) - (len(cohort.columns) if cohort else 0)
    collected: dict[GroupKey, dict[int, tuple]] = {}
    for row in conn.execute(query):
        key = _group(row, width, cohort)
        b = int(row[len(labelled)])
        collected.setdefault(key, {})[b] = tuple(row[len(labelled) + 1 :])
    for key, buckets in collected.items():
        out.setdefault(key, {})[column.name] = NumericHistogram.from_buckets(column_edges, buckets)


def _categorical(conn, out, labelled, expr, column, where, cohort) -> None:
    value = expr.label("v")
    query = sa.select(*labelled, value, sa.func.count()).where(where).group_by(*labelled, value)
    width = len(labelled) - (len(cohort.columns) if cohort else 0)
    for row in conn.execute(query):
        key = _group(row, width, cohort)
        counts = out.setdefault(key, {}).setdefault(column.name, {})
        label = category_label(row[len(labelled)])
        counts[label] = counts.get(label, 0) + int(row[len(labelled) + 1])


def cap_categories(counts: dict[str, int], keep: Sequence[str] | None = None) -> dict[str, int]:
    """At most MAX_CATEGORIES values (the reference's most frequent); the rest as `(other)`."""
    if keep is None:
        keep = [k for k, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_CATEGORIES]]
    kept = set(keep)
    out: dict[str, int] = {}
    for key, count in counts.items():
        label = key if key in kept else OTHER
        out[label] = out.get(label, 0) + count
    return out

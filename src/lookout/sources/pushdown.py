"""Aggregation pushdown: the ops metrics' `GroupAggregates` (counts, sums, quantiles, sketch
buckets) computed by the warehouse, one GROUP BY per cohort dimension."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.core.cohorts import CohortCap
from lookout.dialects import Dialect
from lookout.errors import SourceError, database_error
from lookout.model.aggregates import (
    ALL_COHORTS,
    QUANTILES,
    GroupAggregates,
    MetricSettings,
    label_text,
)
from lookout.sources.cohort_queries import CohortKey, CohortQueries
from lookout.sources.column_types import sql_matches
from lookout.sources.sketch_sql import sketch_buckets
from lookout.windows import Window

__all__ = ["Pushdown"]


class Pushdown(CohortQueries):
    """The ops aggregates in SQL, where the dialect can compute quantiles."""

    @property
    def supports_pushdown(self) -> bool:
        """Can the engine compute the ops aggregates, quantiles included?"""
        return self.capabilities.quantiles is not None

    def aggregate_window(
        self,
        monitor: Monitor,
        window: Window,
        settings: MetricSettings,
        cap: CohortCap | None = None,
    ) -> list[GroupAggregates]:
        """The same `GroupAggregates` as `aggregate_frame`, computed by the warehouse."""
        if not self.supports_pushdown:
            raise SourceError(f"warehouse dialect {self.dialect!r} cannot aggregate quantiles")
        source = monitor.source
        table = self.table(source)
        loose = self.loose_numeric_fields(source)
        if loose:  # the pipeline reads such a window instead (see `loose_numeric_fields`)
            raise SourceError(
                f"warehouse {self.display_url}: cannot aggregate {', '.join(sorted(loose))} "
                "in SQL: not numeric columns"
            )
        where = sa.and_(self.in_window(table, source, window), self._finite_rows(table, source))
        caps = self.capabilities
        measures = _measures(table, source, settings, self.column, caps)
        releases = [self.column(table, source, f) for f in source.release]
        out: list[GroupAggregates] = []
        groupings: list[str | None] = [None, *source.cohorts]
        sketched = _sketched_fields(table, source, settings, self.column, caps)
        rates = sorted(settings.status_rates)  # `sr{i}` in `_measures`' order
        try:
            with self.engine.connect() as conn:
                for dimension in groupings:
                    keys = list(releases)
                    cohort = None
                    if dimension is not None:
                        cohort = self.cohort_key(conn, table, source, dimension, cap, where)
                        keys.extend(cohort.columns)
                    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
                    query = sa.select(*labelled, *measures).where(where).group_by(*labelled)
                    rows = [dict(row) for row in conn.execute(query).mappings()]
                    if caps.quantiles == "window":
                        _add_window_quantiles(
                            conn, rows, keys, where, self._quantile_values(source)
                        )
                    found = [_row_to_aggregates(row, len(releases), cohort, rates) for row in rows]
                    sketches = sketch_buckets(
                        conn, labelled, sketched, where, len(releases), cohort
                    )
                    out += [
                        replace(a, sketches=sketches.get((a.release, a.cohort), {})) for a in found
                    ]
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: aggregation failed", SourceError
            ) from None
        out.sort(key=lambda a: (a.release, a.cohort != ALL_COHORTS, a.cohort))
        return out

    def _quantile_values(
        self, source: SourceConfig
    ) -> tuple[Dialect, dict[str, sa.ColumnElement[Any]]]:
        """The dialect and, per quantile prefix, the SQL number it is computed over."""
        number = _sql_number(self.table(source), source, self.column, self.capabilities)
        return self.capabilities, {p: number(f) for p, f in _quantile_fields(source)}

    def _finite_rows(self, table: sa.Table, source: SourceConfig) -> Any:
        """Rows without an infinity in a numeric field (a NaN reads as missing)."""
        return sa.not_(self._infinite_rows(table, source))

    def _infinite_rows(self, table: sa.Table, source: SourceConfig) -> Any:
        """Rows with an infinity in a numeric field: not a number for `parse_numbers`."""
        # coalesce: a NULL field is no infinity (and NOT NULL would drop the row)
        return sa.or_(
            sa.false(), *(sa.func.coalesce(c, sa.false()) for c in self._infinities(table, source))
        )

    def count_not_numbers(self, monitor: Monitor, window: Window) -> int:
        """Rows of the window that `aggregate_window` leaves out (an infinity in a float
        numeric field), so the window's row count still counts them."""
        source = monitor.source
        table = self.table(source)
        if not self._infinities(table, source):
            return 0
        query = sa.select(sa.func.count()).where(
            self.in_window(table, source, window), self._infinite_rows(table, source)
        )
        try:
            with self.engine.connect() as conn:
                return int(conn.scalar(query) or 0)
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None


def _quantile_fields(source: SourceConfig) -> list[tuple[str, str]]:
    return [(p, f) for p, f in (("latency", "latency_ms"), ("ttft", "ttft_ms")) if source.maps(f)]


def _add_window_quantiles(
    conn: sa.Connection,
    rows: list[dict[str, Any]],
    keys: list[Any],
    where: Any,
    values: tuple[Dialect, dict[str, sa.ColumnElement[Any]]],
) -> None:
    """Quantiles where `percentile_cont` is a window function only (MySQL, MariaDB): computed
    over each group's partition in a subquery, then one row per group, merged into `rows`."""
    caps, numbers = values
    if not numbers:
        return
    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
    over = {"partition_by": keys} if keys else {}
    windowed = [
        caps.quantile(q, value).over(**over).label(f"{prefix}_{name}")
        for prefix, value in numbers.items()
        for name, q in QUANTILES.items()
    ]
    inner = sa.select(*labelled, *windowed).where(where).subquery("lookout_quantiles")
    grouped = [inner.c[f"k{i}"] for i in range(len(keys))]
    names = [f"{prefix}_{name}" for prefix in numbers for name in QUANTILES]
    query = sa.select(*grouped, *(sa.func.max(inner.c[n]).label(n) for n in names))
    if grouped:
        query = query.group_by(*grouped)
    found = {tuple(r[: len(keys)]): r for r in conn.execute(query)}
    for row in rows:
        match = found.get(tuple(row[f"k{i}"] for i in range(len(keys))))
        for position, name in enumerate(names):
            row[name] = None if match is None else match[len(keys) + position]


def _measures(
    table: sa.Table, source: SourceConfig, settings: MetricSettings, column: Any, caps: Dialect
) -> list[sa.ColumnElement[Any]]:
    mapped = source.fields

    def col(name: str) -> sa.ColumnElement[Any]:
        return column(table, source, name)

    number = _sql_number(table, source, column, caps)

    def count_if(condition: Any) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    out: list[sa.ColumnElement[Any]] = [sa.func.count().label("n")]
    if "status" in mapped:
        ok = sql_matches(
            col("status"), col("status").type, settings.ok_statuses, as_text=caps.as_text
        )
        known = sa.func.count() if settings.null_status_ok else sa.func.count(col("status"))
        out.append(known.label("status_n"))
        out.append(count_if(sa.and_(col("status").isnot(None), sa.not_(ok))).label("errors"))
        for i, name in enumerate(sorted(settings.status_rates)):  # `status_rate.<name>`
            values = settings.status_rates[name]
            among = sql_matches(col("status"), col("status").type, values, as_text=caps.as_text)
            out.append(count_if(sa.and_(col("status").isnot(None), among)).label(f"sr{i}"))
    if "is_fallback" in mapped:
        out.append(sa.func.count(col("is_fallback")).label("fallback_n"))
        out.append(count_if(col("is_fallback") == sa.true()).label("fallbacks"))
    if "retry_count" in mapped:
        out.append(sa.func.count(number("retry_count")).label("retry_n"))
        out.append(count_if(number("retry_count") > 0).label("retried"))
    if "feedback" in mapped:
        feedback = col("feedback")
        negative = sql_matches(
            feedback,
            feedback.type,
            settings.negative_feedback,
            fold_case=True,
            as_text=caps.as_text,
        )
        if settings.negative_below is not None:  # a numeric column (`check_monitor`)
            negative = sa.or_(negative, feedback < settings.negative_below)
        out.append(sa.func.count(feedback).label("feedback_n"))
        out.append(count_if(negative).label("negative_feedback"))
    for prefix, field in _quantile_fields(source):
        value = number(field)
        out.append(sa.func.count(value).label(f"{prefix}_n"))
        if caps.quantiles == "aggregate":  # "window": see `_add_window_quantiles`
            for name, q in QUANTILES.items():
                out.append(caps.quantile(q, value).label(f"{prefix}_{name}"))
    for field in ("prompt_tokens", "completion_tokens"):
        if field in mapped:
            out.append(sa.func.count(number(field)).label(f"{field}_n"))
            out.append(sa.func.sum(number(field)).label(f"{field}_sum"))
    cost = _cost_expression(source, settings, col, number)
    if cost is not None:
        out.append(sa.func.count(cost).label("cost_n"))
        out.append(sa.func.sum(cost).label("cost_sum"))
        if "trace_id" in mapped:
            traced = sa.case((cost.isnot(None), col("trace_id")), else_=None)
            out.append(sa.func.count(sa.distinct(traced)).label("traces"))
        else:
            out.append(sa.func.count(cost).label("traces"))
    return out


def _sql_number(table: sa.Table, source: SourceConfig, column: Any, caps: Dialect) -> Any:
    """A mapped field as a SQL double; a NaN stored in a float column is missing, as it reads
    in pandas (infinities are filtered out of the rows by `aggregate_window`)."""

    def number(name: str) -> sa.ColumnElement[Any]:
        return caps.as_number(column(table, source, name))

    return number


def _sketched_fields(
    table: sa.Table, source: SourceConfig, settings: MetricSettings, column: Any, caps: Dialect
) -> dict[str, sa.ColumnElement[Any]]:
    """The numeric fields whose quantile sketches the ops summary keeps, as SQL numbers."""
    number = _sql_number(table, source, column, caps)
    out: dict[str, sa.ColumnElement[Any]] = {}
    for field in ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens"):
        if source.maps(field):
            out[field] = number(field)
    cost = _cost_expression(source, settings, lambda name: column(table, source, name), number)
    if cost is not None:
        out["cost_usd"] = cost
    return out


def _cost_expression(
    source: SourceConfig, settings: MetricSettings, col: Any, number: Any
) -> sa.ColumnElement[Any] | None:
    mapped = source.fields
    if "cost_usd" in mapped:
        return number("cost_usd")
    if not settings.prices or not {"model_version", "prompt_tokens", "completion_tokens"} <= set(
        mapped
    ):
        return None
    prompt = number("prompt_tokens")
    completion = number("completion_tokens")
    whens = [
        (col("model_version") == model, (prompt * p_in + completion * p_out) / 1_000_000)
        for model, (p_in, p_out) in sorted(settings.prices.items())
    ]
    return sa.case(*whens, else_=None)


def _row_to_aggregates(
    row: Any, release_width: int, cohort_key: CohortKey | None, rates: Sequence[str] = ()
) -> GroupAggregates:
    release = "@".join(label_text(row[f"k{i}"]) for i in range(release_width)) or "default"
    cohort = ALL_COHORTS
    if cohort_key is not None:
        width = len(cohort_key.columns)
        cohort = cohort_key.label([row[f"k{release_width + i}"] for i in range(width)])
    data: dict[str, Any] = {"release": release, "cohort": cohort, "n": int(row["n"])}
    for key in (
        "status_n",
        "errors",
        "fallback_n",
        "fallbacks",
        "retry_n",
        "retried",
        "feedback_n",
        "negative_feedback",
        "latency_n",
        "ttft_n",
        "prompt_tokens_n",
        "completion_tokens_n",
        "cost_n",
        "traces",
    ):
        if key in row:
            data[key] = int(row[key] or 0)
    for key in ("prompt_tokens_sum", "completion_tokens_sum", "cost_sum"):
        if key in row:
            data[key] = float(row[key] or 0.0)
    data["status_hits"] = {
        n: int(row[f"sr{i}"] or 0) for i, n in enumerate(rates) if f"sr{i}" in row
    }
    for prefix in ("latency", "ttft"):
        if row.get(f"{prefix}_n"):
            data[f"{prefix}_q"] = {name: float(row[f"{prefix}_{name}"]) for name in QUANTILES}
    return GroupAggregates(**data)

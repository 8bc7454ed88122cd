"""Cohort columns in SQL: rows per value (what the cohort cap ranks by) and the GROUP BY key
of a capped column, whose rare values pool into `(other)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.core.cohorts import OTHER, CohortCap
from lookout.errors import SourceError, database_error
from lookout.model.aggregates import cohort_label, label_text
from lookout.sources.tables import WarehouseTables
from lookout.windows import Window

__all__ = ["CohortKey", "CohortQueries"]


@dataclass(frozen=True)
class CohortKey:
    """How a query groups by one cohort column: the raw column, or (capped) the column where
    its value is kept plus a 0/1 flag for the pooled `(other)` rows."""

    dimension: str
    columns: tuple[sa.ColumnElement[Any], ...]

    def label(self, parts: Sequence[Any]) -> str:
        """The cohort label of a result row's key parts (as many as `columns`)."""
        if len(self.columns) == 2 and parts[1]:
            return f"{self.dimension}={OTHER}"
        return cohort_label(self.dimension, parts[0])


class CohortQueries(WarehouseTables):
    """Per-cohort counts and keys, computed by the warehouse."""

    def cohort_counts(self, monitor: Monitor, window: Window) -> dict[str, dict[str, int]]:
        """Rows per value label of each cohort column in the window (one GROUP BY per column):
        what the cohort cap ranks values by, without reading the rows."""
        source = monitor.source
        table = self.table(source)
        where = self.in_window(table, source, window)
        out: dict[str, dict[str, int]] = {}
        try:
            with self.engine.connect() as conn:
                for dimension in source.cohorts:
                    column = self.column(table, source, dimension)
                    query = sa.select(column, sa.func.count()).where(where).group_by(column)
                    counts: dict[str, int] = {}
                    for raw, rows in conn.execute(query):
                        label = label_text(raw)
                        counts[label] = counts.get(label, 0) + int(rows)
                    out[dimension] = counts
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None
        return out

    def cohort_key(
        self,
        conn: sa.Connection,
        table: sa.Table,
        source: SourceConfig,
        dimension: str,
        cap: CohortCap | None,
        where: Any,
    ) -> CohortKey:
        """The GROUP BY key of a cohort column over the rows `where` selects; with a cap, the
        values kept are matched as they are stored (their raw values are looked up first, so
        a value's label is the same whatever the column's type)."""
        column = self.column(table, source, dimension)
        if cap is None or not cap.capped(dimension):
            return CohortKey(dimension, (column,))
        raws = conn.execute(sa.select(column).where(where).group_by(column)).scalars()
        kept, null_kept = cap.kept_raw(dimension, raws, label_text)
        inside: Any = column.in_(kept) if kept else sa.false()
        if null_kept:
            inside = sa.or_(inside, column.is_(None))
        value = sa.case((inside, column), else_=None)
        other = sa.case((inside, 0), else_=1)
        return CohortKey(dimension, (value, other))

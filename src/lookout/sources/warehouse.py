"""Read a monitor's window from the warehouse (SQLAlchemy 2; any engine, see `dialects`).

Table and column names come from config; they were checked against a plain-identifier pattern at
load time, are checked again against the reflected table here, and only ever reach SQL as
SQLAlchemy `Table`/`Column` objects, which the dialect quotes. No string is formatted into SQL.
"""

from __future__ import annotations

from lookout.errors import error_line
from lookout.sources.cohort_queries import CohortKey
from lookout.sources.feedback_reads import FeedbackReads
from lookout.sources.pushdown import Pushdown
from lookout.sources.sketch_sql import sketch_buckets
from lookout.sources.table_checks import TableChecks
from lookout.sources.validation_reads import ValidationReads
from lookout.sources.window_reads import epoch_units, metric_fields, normalize_frame

__all__ = [
    "CohortKey",
    "Warehouse",
    "epoch_units",
    "error_line",
    "metric_fields",
    "normalize_frame",
    "sketch_buckets",
]


class Warehouse(ValidationReads, Pushdown, FeedbackReads, TableChecks):
    """One warehouse connection (lazy), its reflected tables, and the window queries.

    Opened read-only by default (`settings`): on DuckDB a read-write open locks the file for
    one process, so an hourly run and a backfill in two processes would fail each other.

    The queries live in one module per job: `connection` (open, timeouts, the raw read),
    `tables` (reflection, type checks, shared clauses), `window_reads`, `validation_reads`,
    `cohort_queries`, `pushdown`, `sketch_sql` and `feedback_reads`.
    """

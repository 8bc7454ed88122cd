"""The ports the checks' window functions run against: what validation and the evaluators read
from the warehouse and keep in the store, and nothing more.

The stages hand these functions their warehouse and store; a function asks for the narrowest
port that fits, so its signature says which reads it makes, and a fake in a test needs only
those members. The ports live here rather than in `lookout.stages.ports` because checks sit
below stages in the layers (`pyproject.toml`): a checks module may not import a stage, while
`lookout.stages.ports` imports these and adds the stages' own. They are built from names below
checks only, so `sources` and `store` import nothing new; the real `Warehouse` and
`ResultsStore` satisfy them (`tests/stages/test_ports.py`, which also holds them narrow).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.dialects import Dialect
from lookout.model.judgments import Judgment
from lookout.windows import Window

__all__ = [
    "EngineTraits",
    "EvaluatorSource",
    "JudgmentCache",
    "SourceTables",
    "ValidationQueries",
    "ValidationSource",
    "WindowReader",
]


@runtime_checkable
class SourceTables(Protocol):
    """The source table as the warehouse reflected it: column types (to type configured values
    and choose SQL or pandas), and the `Table` and columns a query is built on."""

    def table_columns(self, source: SourceConfig) -> dict[str, Any]: ...
    def table(self, source: SourceConfig) -> sa.Table: ...
    def column(self, table: sa.Table, source: SourceConfig, name: str) -> sa.ColumnElement[Any]: ...
    def loose_numeric_fields(self, source: SourceConfig) -> frozenset[str]: ...
    def naive_times(self, source: SourceConfig, field: str = "ts") -> bool: ...


@runtime_checkable
class EngineTraits(Protocol):
    """What the engine can do (its `Dialect`), which decides the path a check takes, and its
    name for the messages that say so."""

    @property
    def capabilities(self) -> Dialect: ...
    @property
    def dialect(self) -> str: ...


@runtime_checkable
class WindowReader(Protocol):
    """The window's rows, read whole or as a query to narrow first (the evaluators fetch their
    sample by ids), and the releases the window holds."""

    def window_query(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str] | None = None,
        *,
        cohorts: bool = True,
    ) -> sa.Select[Any]: ...
    def read_window(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str] | None = None,
        *,
        cohorts: bool = True,
    ) -> pd.DataFrame: ...
    def fetch_frame(self, query: sa.Select[Any]) -> pd.DataFrame: ...
    def release_values(
        self, monitor: Monitor, window: Window
    ) -> list[tuple[str, tuple[Any, ...], int]]: ...


@runtime_checkable
class ValidationQueries(Protocol):
    """Validation's own queries: SQL text for GX query assets, and the records quarantined
    outside GX (no usable event time; a value that is not a number)."""

    def validation_sql(
        self, monitor: Monitor, window: Window, fields: Sequence[str], release: tuple[Any, ...]
    ) -> str: ...
    def schema_sql(self, monitor: Monitor) -> str: ...
    def unplaceable_rows(
        self, monitor: Monitor, window: Window, fields: Sequence[str]
    ) -> pd.DataFrame: ...
    def not_a_number_suspects(
        self, monitor: Monitor, window: Window, fields: Sequence[str]
    ) -> pd.DataFrame: ...


@runtime_checkable
class ValidationSource(SourceTables, EngineTraits, WindowReader, ValidationQueries, Protocol):
    """Everything the validation of a window reads (`run_validation`)."""


@runtime_checkable
class EvaluatorSource(SourceTables, EngineTraits, WindowReader, Protocol):
    """Everything the evaluators of a window read (`run_evaluators`)."""


@runtime_checkable
class JudgmentCache(Protocol):
    """Judgments kept per (record, evaluator, version): a re-run or a backfill re-judges
    nothing, and a new judgment is saved at once (it may have cost money)."""

    def cached_judgments(
        self, monitor: str, evaluator: str, version: str, record_ids: Iterable[str]
    ) -> dict[str, Judgment]: ...
    def save_judgments(
        self,
        monitor: str,
        window_start: datetime,
        releases: dict[str, str],
        judgments: Sequence[Judgment],
        judged_at: datetime,
    ) -> None: ...

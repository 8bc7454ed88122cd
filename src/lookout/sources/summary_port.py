"""The port the drift summaries read the warehouse through (`SummarySource`), apart from
their SQL so the drift stage's port can build on it without importing that SQL's module."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import SourceConfig
from lookout.core.cohorts import CohortCap
from lookout.dialects import Dialect
from lookout.sources.cohort_queries import CohortKey
from lookout.windows import Window

__all__ = ["SummarySource"]


@runtime_checkable
class SummarySource(Protocol):
    """What these summaries read of the warehouse, and nothing more: the source table and its
    columns, the engine (several GROUP BYs share one connection) and its dialect's traits, the
    window's condition and the capped cohort keys. The drift stage's port
    (`lookout.stages.ports.DriftSource`) builds on it, so the stage hands its port straight
    through; `Warehouse` satisfies it (`tests/stages/test_ports.py`)."""

    @property
    def engine(self) -> sa.Engine: ...
    @property
    def capabilities(self) -> Dialect: ...
    @property
    def display_url(self) -> str: ...
    def table(self, source: SourceConfig) -> sa.Table: ...
    def column(self, table: sa.Table, source: SourceConfig, name: str) -> sa.ColumnElement[Any]: ...
    def loose_numeric_fields(self, source: SourceConfig) -> frozenset[str]: ...
    def in_window(self, table: sa.Table, source: SourceConfig, window: Window) -> Any: ...
    def fetch_frame(self, query: sa.Select[Any]) -> pd.DataFrame: ...
    def cohort_key(
        self,
        conn: sa.Connection,
        table: sa.Table,
        source: SourceConfig,
        dimension: str,
        cap: CohortCap | None,
        where: Any,
    ) -> CohortKey: ...

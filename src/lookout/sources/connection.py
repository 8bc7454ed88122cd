"""Open the warehouse: one lazy SQLAlchemy engine, read-only by default, with the target's
lock and statement timeouts, and the one raw read every query goes through (`fetch_frame`)."""

from __future__ import annotations

import logging
from typing import Any, Self

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lookout.config.models import WarehouseTarget
from lookout.connections import (
    WAREHOUSE_DEFAULTS,
    ConnectSettings,
    engine_arguments,
    explain_timeouts,
)
from lookout.dialects import GENERIC, Dialect, describe_fallback, dialect_for
from lookout.drivers import require_driver
from lookout.errors import SourceError, database_error
from lookout.urls import display_url

__all__ = ["WarehouseConnection"]

log = logging.getLogger("lookout.sources")


class WarehouseConnection:
    """One warehouse connection (lazy), opened read-only by default (`settings`): on DuckDB a
    read-write open locks the file for one process, so an hourly run and a backfill in two
    processes would fail each other."""

    def __init__(
        self,
        url: str,
        *,
        engine: Engine | None = None,
        settings: ConnectSettings = WAREHOUSE_DEFAULTS,
    ) -> None:
        self._url = url
        self._engine = engine
        self.settings = settings
        self._columns: dict[tuple[str | None, str], dict[str, Any]] = {}
        self._tables: dict[tuple[str | None, str], sa.Table] = {}
        self.display_url = display_url(url)
        self.capabilities: Dialect = dialect_for(engine if engine is not None else url)

    @classmethod
    def from_target(cls, target: WarehouseTarget) -> Self:
        """The warehouse of a profile target: read-only unless it opts out, its timeouts."""
        return cls(target.url.get_secret_value(), settings=target.settings)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url, options = engine_arguments(self._url, self.settings)
            require_driver(url, "warehouse")  # one line naming the pip extra, not an ImportError
            self._engine = sa.create_engine(url, pool_pre_ping=True, **options)
            self.capabilities.configure_engine(self._engine, self.settings)
            if self.capabilities is GENERIC:
                log.info(describe_fallback(self._engine.dialect.name))
            display = self.display_url
            explain_timeouts(
                self._engine,
                self.settings,
                lambda text: SourceError(f"warehouse {display}: {text}"),
            )
        return self._engine

    @property
    def dialect(self) -> str:
        """The engine's name as SQLAlchemy reports it (for messages; ask `capabilities`)."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def fetch_frame(self, query: sa.Select[Any]) -> pd.DataFrame:
        """The rows of a query built on `table`, raw, through the dialect's fastest path."""
        try:
            with self.engine.connect() as conn:
                return self.capabilities.fetch_frame(conn, query)
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None

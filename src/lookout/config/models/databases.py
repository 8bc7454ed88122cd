"""profiles.yml: the warehouse and the results store (SQLAlchemy URLs and their waits)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import make_url

from lookout.config.models.base import Model, PositiveDuration
from lookout.connections import (
    MONITOR_LOCK_TIMEOUT,
    STORE_DEFAULTS,
    WAREHOUSE_DEFAULTS,
    ConnectSettings,
    engine_arguments,
)
from lookout.urls import ambiguous_url, display_url

__all__ = ["DatabaseTarget", "StoreTarget", "WarehouseTarget"]


class DatabaseTarget(Model):
    """A SQLAlchemy URL; the password part never leaves this object unmasked.

    `lock_timeout` bounds every wait for a lock another session holds, `statement_timeout`
    every statement (PostgreSQL; SQLite takes `lock_timeout` as its busy timeout; DuckDB has
    neither). `null` leaves the server's default, which for PostgreSQL is: wait forever.
    """

    url: SecretStr = Field(
        description="a SQLAlchemy URL (duckdb:///file.duckdb, sqlite:///results.sqlite, "
        "postgresql+psycopg://user:pass@host/db); shown with the password masked"
    )
    lock_timeout: PositiveDuration | None = Field(
        default=STORE_DEFAULTS.lock_timeout, description="longest wait for another session's lock"
    )
    statement_timeout: PositiveDuration | None = Field(
        default=STORE_DEFAULTS.statement_timeout, description="longest statement (PostgreSQL)"
    )

    @field_validator("url")
    @classmethod
    def _parsable(cls, value: SecretStr) -> SecretStr:
        try:
            make_url(value.get_secret_value())
        except Exception:
            raise ValueError("not a SQLAlchemy database URL (e.g. duckdb:///file.duckdb)") from None
        problem = ambiguous_url(value.get_secret_value())
        if problem is not None:
            raise ValueError(f"the URL cannot be read as meant: {problem}")
        return value

    @model_validator(mode="after")
    def _driver_takes_settings(self) -> Self:
        engine_arguments(self.url.get_secret_value(), self.settings)  # ValueError: unsupported
        return self

    @property
    def display_url(self) -> str:
        return display_url(self.url.get_secret_value())

    @property
    def settings(self) -> ConnectSettings:
        return ConnectSettings(
            lock_timeout=self.lock_timeout, statement_timeout=self.statement_timeout, key="store"
        )


class StoreTarget(DatabaseTarget):
    """The results store. `monitor_lock_timeout`: how long a window waits for another run of
    the same monitor to finish writing its alert state (the window fails after that)."""

    monitor_lock_timeout: PositiveDuration = Field(
        default=MONITOR_LOCK_TIMEOUT, description="longest wait for the monitor's alert lock"
    )


class WarehouseTarget(DatabaseTarget):
    """The warehouse, opened read-only by default (DuckDB: several processes may then read one
    file; SQLite: `mode=ro`; PostgreSQL: read-only transactions for Lookout's own queries)."""

    read_only: bool = Field(
        default=True, description="open the warehouse read-only (Lookout never writes there)"
    )
    lock_timeout: PositiveDuration | None = Field(
        default=WAREHOUSE_DEFAULTS.lock_timeout,
        description="longest wait for another session's lock",
    )
    statement_timeout: PositiveDuration | None = Field(
        default=WAREHOUSE_DEFAULTS.statement_timeout,
        description="longest statement (PostgreSQL)",
    )

    @property
    def settings(self) -> ConnectSettings:
        return ConnectSettings(
            read_only=self.read_only,
            lock_timeout=self.lock_timeout,
            statement_timeout=self.statement_timeout,
            key="warehouse",
        )

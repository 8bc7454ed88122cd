"""How `lookout init` opens the warehouse: read-only, every wait short (init is interactive).

A missing driver, a bad URL or a URL SQLAlchemy refuses is one clear line (`InitError`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from lookout.connections import ConnectSettings, engine_arguments
from lookout.dialects import dialect_for
from lookout.drivers import MissingDriverError, default_driver, require_driver
from lookout.errors import LookoutError
from lookout.urls import ambiguous_url, display_url

__all__ = ["INIT_SETTINGS", "InitError", "open_engine"]

# Read-only, and every wait short: init is interactive.
INIT_SETTINGS = ConnectSettings(
    read_only=True,
    lock_timeout=timedelta(seconds=10),
    statement_timeout=timedelta(seconds=60),
    key="warehouse",
)


class InitError(LookoutError):
    """`lookout init` cannot propose a monitor for this table (one line, exit 2)."""


def open_engine(url: str, settings: ConnectSettings = INIT_SETTINGS) -> Engine:
    """The warehouse engine, read-only; a missing driver or a bad URL is one clear line."""
    try:
        url = default_driver(url)  # postgresql:// is psycopg 3, as the postgres extra installs
        parsed = make_url(url)
    except Exception:
        raise InitError("not a SQLAlchemy database URL (e.g. duckdb:///file.duckdb)") from None
    problem = ambiguous_url(url)
    if problem is not None:
        raise InitError(f"the warehouse URL cannot be read as meant: {problem}")
    display = display_url(parsed)
    try:
        require_driver(parsed, "warehouse")  # one line naming the pip extra
    except MissingDriverError as exc:
        raise InitError(str(exc)) from None
    try:
        final, options = engine_arguments(url, settings)
    except ValueError:  # a driver that takes no session settings: no timeouts, no read-only
        final, options = engine_arguments(
            url, replace(settings, lock_timeout=None, statement_timeout=None, read_only=False)
        )
    try:
        engine = sa.create_engine(final, **options)
    except sa.exc.ArgumentError as exc:
        raise InitError(f"warehouse {display}: {exc}") from None
    dialect_for(engine).configure_engine(engine, settings)  # session settings (MySQL)
    return engine

"""One capabilities object per warehouse engine, resolved once from the URL or engine.

Every engine-specific question is asked of a `Dialect` (see `base.Dialect` for the list and
the generic answers); no other module compares dialect names. Adding an engine is a module
here with a `Dialect` subclass, one line in `_KNOWN`, its docs and tests.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from lookout.dialects.base import ConnectSettings, Dialect, seconds
from lookout.dialects.clickhouse import ClickHouse
from lookout.dialects.duckdb import DuckDB
from lookout.dialects.mysql import MySQL
from lookout.dialects.postgresql import PostgreSQL
from lookout.dialects.snowflake import Snowflake
from lookout.dialects.sqlite import SQLite

__all__ = ["GENERIC", "ConnectSettings", "Dialect", "describe_fallback", "dialect_for", "seconds"]

log = logging.getLogger("lookout.sources")

GENERIC = Dialect()
_KNOWN: dict[str, Dialect] = {
    name: dialect
    for dialect in (DuckDB(), PostgreSQL(), SQLite(), MySQL(), ClickHouse(), Snowflake())
    for name in dialect.names
}


def dialect_for(where: str | URL | sa.Engine | sa.engine.Dialect) -> Dialect:
    """The capabilities of an engine, from a URL, an engine or a SQLAlchemy dialect; an engine
    Lookout has no module for gets `GENERIC` (pandas for everything, no session settings)."""
    if isinstance(where, sa.Engine):
        name = where.dialect.name
    elif isinstance(where, sa.engine.Dialect):
        name = where.name
    else:
        name = make_url(where).get_backend_name()
    return _KNOWN.get(name, GENERIC)


def describe_fallback(name: str) -> str:
    """The log line for an engine without a module: what runs where, and why."""
    return (
        f"warehouse dialect {name!r} has no Lookout module: windows are read with plain SELECTs "
        "and metrics, drift and validation are computed in pandas (see docs: Warehouses)"
    )

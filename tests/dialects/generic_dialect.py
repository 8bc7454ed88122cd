"""A SQLAlchemy dialect Lookout has no module for: SQLite's, under another name.

Registered as `lookoutgeneric://` so the generic path (`lookout.dialects.GENERIC`) runs
against a real database in tests, exactly as it would for an engine nobody wrote a module for.
"""

from __future__ import annotations

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

NAME = "lookoutgeneric"


class GenericSQLite(SQLiteDialect_pysqlite):
    name = NAME
    supports_statement_cache = True


def register() -> None:
    registry.register(NAME, __name__, "GenericSQLite")

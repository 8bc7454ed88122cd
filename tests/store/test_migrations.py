"""Alembic migrations build exactly the schema the code writes to, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lookout.store import ResultsStore
from lookout.store.schema import metadata


def _diff(url: str) -> list:
    store = ResultsStore(url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        store.dispose()


def test_sqlite_migrations_match_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert _diff(url) == []
    # opening again is a no-op (already at head)
    ResultsStore(url).dispose()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0001"
    engine.dispose()


@pytest.mark.postgres
def test_postgres_migrations_match_schema(pg_database):
    assert _diff(pg_database) == []

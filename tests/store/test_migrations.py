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
        assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0011"
    engine.dispose()


@pytest.mark.postgres
def test_postgres_migrations_match_schema(pg_database):
    assert _diff(pg_database) == []


def test_upgrade_from_0001_keeps_existing_windows(tmp_path):
    from alembic import command
    from alembic.config import Config

    from lookout.store.results import _MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO windows (monitor, window_start, window_end, run_id, rows, computed_at)"
                " VALUES ('m', '2026-11-02 00:00:00', '2026-11-02 01:00:00', 'r', 5,"
                " '2026-11-02 01:05:00')"
            )
        )
    engine.dispose()
    store = ResultsStore(url)  # migrates to head
    with store.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT rows, quarantined, flag FROM windows")).one()
    assert tuple(row) == (5, 0, None)
    store.dispose()

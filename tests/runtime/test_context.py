"""`open_context`: one way to get a target's config, warehouse and store, disposed at the end."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import duckdb_project

from lookout.errors import StoreError
from lookout.runtime.context import open_context


def test_opens_on_first_use_and_disposes_what_it_opened(tmp_path):
    config = duckdb_project(tmp_path)
    with open_context(config=config) as ctx:
        assert ctx._store is None and ctx._warehouse is None  # nothing opened yet
        ctx.store.migrate()
        with ctx.store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        store = ctx.store
        assert ctx._warehouse is None  # a store-only command never opens the warehouse
        assert store.engine.pool.checkedin() >= 1
    assert ctx._store is None
    assert store.engine.pool.checkedin() == 0  # disposed: no pooled connection left


def test_loads_the_config_from_the_files(tmp_path):
    config = duckdb_project(tmp_path)
    cfg = tmp_path / "cfg"
    with open_context(cfg / "profiles.yml", cfg / "monitors.yml") as ctx:
        assert [m.name for m in ctx.config.monitors.monitors] == [
            m.name for m in config.monitors.monitors
        ]
        assert ctx.out_dir == Path(config.target.out_dir)


def test_read_only_use_refuses_a_store_that_does_not_exist(tmp_path):
    config = duckdb_project(tmp_path)
    store_file = tmp_path / "results.sqlite"
    assert not store_file.exists()
    with open_context(config=config, existing_store=True) as ctx, pytest.raises(StoreError):
        ctx.store  # noqa: B018
    assert not store_file.exists()  # no empty store left behind


def test_disposes_after_an_error_too(tmp_path):
    config = duckdb_project(tmp_path)
    with pytest.raises(RuntimeError), open_context(config=config) as ctx:
        store = ctx.store
        raise RuntimeError("the command failed")
    assert ctx._store is None and store.engine.pool.checkedin() == 0

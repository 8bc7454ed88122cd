"""A project folder over a warehouse URL, and what one window run stores in it: for tests that
hold two ways of logging the same records to the same results (units, computed durations)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import PROFILES_YAML

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window

STORED = {
    "metrics": "SELECT release, cohort, metric, round(value, 6), n FROM metrics",
    "validations": "SELECT release, expectation, status, unexpected_count, path FROM validations",
    "alerts": "SELECT rule, cohort, state, threshold, round(value, 6) FROM alerts",
}


def project(tmp_path: Path, url: str, name: str, monitors: str) -> Path:
    """`tmp_path/name` holding `monitors` and a profile over `url` with its own SQLite store."""
    directory = tmp_path / name
    directory.mkdir()
    (directory / "monitors.yml").write_text(monitors)
    store = f"sqlite:///{directory / 'results.sqlite'}"
    (directory / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=store, out_dir=directory / "out")
    )
    return directory


def stored_by_window(
    directory: Path, window: Window, queries: Mapping[str, str] = STORED
) -> dict[str, list[tuple]]:
    """Run the project's first monitor over `window`; what `queries` read from its store
    (default: metrics, validation outcomes and alerts), sorted (values rounded to 6 decimals)."""
    ctx = Context.from_config(load_config(directory / "profiles.yml", directory / "monitors.yml"))
    try:
        result = run_window(ctx, ctx.config.monitors.monitors[0], window)
        assert result.status == "succeeded", result.error
        with ctx.store.engine.connect() as conn:
            return {
                k: sorted(map(tuple, conn.execute(sa.text(q)).all())) for k, q in queries.items()
            }
    finally:
        ctx.close()


def check_refusal(directory: Path, url: str | None = None) -> str:
    """What `Warehouse.check_monitor` (`--check-warehouse`, and every run) says against the
    project's first monitor (on `url`, default the profile's warehouse); fails the test when
    it accepts it."""
    from lookout.errors import SourceError
    from lookout.sources.warehouse import Warehouse

    config = load_config(directory / "profiles.yml", directory / "monitors.yml")
    warehouse = Warehouse(url or config.target.warehouse.url.get_secret_value())
    try:
        with pytest.raises(SourceError) as raised:
            warehouse.check_monitor(config.monitors.monitors[0], 0)
    finally:
        warehouse.dispose()
    return str(raised.value)


# The fixture that gives each server or emulator engine a fresh database
_URL_FIXTURES = {
    "postgresql": "pg_database",
    "mysql": "mysql_database",
    "clickhouse": "chdb_url",
    "snowflake": "snowflake_url",
}


def engine_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A warehouse URL of `engine_name` (an `ALL_ENGINES` name) for one test: a file in
    `tmp_path` for DuckDB and SQLite, the engine's fixture for the others."""
    if engine_name in ("duckdb", "sqlite"):
        return f"{engine_name}:///{tmp_path / 'wh.db'}"
    return request.getfixturevalue(_URL_FIXTURES[engine_name])

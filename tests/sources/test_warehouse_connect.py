"""How the warehouse is opened: read-only by default (DuckDB, SQLite, PostgreSQL, MariaDB), an
explicit opt-out, and on PostgreSQL and MariaDB lock and statement timeouts that fail a window
within the limit with an error that says which limit ran out and what to check."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.config.loader import LookoutConfig, load_config
from lookout.pipeline import Context, run_window
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

H = timedelta(hours=1)
PASSWORD = "pw-never-shown"


def _config(tmp_path: Path, warehouse: str, schema: str | None, settings: str) -> LookoutConfig:
    config = write_config(
        tmp_path / "cfg",
        warehouse=warehouse,
        store=f"sqlite:///{tmp_path / 'results.sqlite'}",
        schema=schema,
        threshold=0.9,
    )
    if settings:
        profiles = tmp_path / "cfg" / "profiles.yml"
        text = profiles.read_text()
        old = f'warehouse: {{url: "{warehouse}"}}'
        assert old in text
        profiles.write_text(text.replace(old, f'warehouse: {{url: "{warehouse}", {settings}}}'))
        config = load_config(profiles, tmp_path / "cfg" / "monitors.yml")
    return config


def _loaded(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest | None = None
) -> tuple[str, str | None]:
    schema = None
    if kind == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    elif kind == "mysql":
        assert request is not None
        url = request.getfixturevalue("mysql_database")
    else:
        assert request is not None
        url, schema = request.getfixturevalue("pg_schema")
    engine = sa.create_engine(url)
    write_table(engine, make_requests(hours=1), schema=schema)
    engine.dispose()
    return url, schema


KINDS = [
    "duckdb",
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.mark.parametrize("kind", KINDS)
def test_the_warehouse_is_read_only_unless_the_profile_opts_out(tmp_path, request, kind):
    url, schema = _loaded(kind, tmp_path, request)
    table = f'"{schema}".app_requests' if schema else "app_requests"
    config = _config(tmp_path / "default", url, schema, "")
    assert config.target.warehouse.read_only is True
    warehouse = Warehouse.from_target(config.target.warehouse)
    with warehouse.engine.connect() as conn:
        assert conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 200  # reads work
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.only|readonly"):
            conn.execute(sa.text(f"DELETE FROM {table}"))  # nothing writes through it
        conn.rollback()
    warehouse.dispose()

    config = _config(tmp_path / "opted_out", url, schema, "read_only: false")
    assert config.target.warehouse.read_only is False
    warehouse = Warehouse.from_target(config.target.warehouse)
    with warehouse.engine.connect() as conn:  # the explicit opt-out writes
        conn.execute(sa.text(f"DELETE FROM {table} WHERE request_id = 'r000000'"))
        conn.commit()
        assert conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 199
    warehouse.dispose()


def test_two_processes_read_one_duckdb_file_at_once(tmp_path):
    """The lock DuckDB takes for a read-write open is per process: read-only opens share."""
    url, _ = _loaded("duckdb", tmp_path)
    config = _config(tmp_path, url, None, "")
    warehouse = Warehouse.from_target(config.target.warehouse)
    monitor = config.monitors.monitors[0]
    warehouse.check_monitor(monitor)  # this process holds the file open (pooled connection)
    code = (
        "import sys\n"
        "from lookout.config.loader import load_config\n"
        "from lookout.sources.warehouse import Warehouse\n"
        "from pathlib import Path\n"
        "config = load_config(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "warehouse = Warehouse.from_target(config.target.warehouse)\n"
        "from lookout.windows import Window\n"
        "from datetime import datetime, timedelta, UTC\n"
        "t0 = datetime(2026, 11, 2, tzinfo=UTC)\n"
        "window = Window(t0, t0 + timedelta(hours=1))\n"
        "print(len(warehouse.read_window(config.monitors.monitors[0], window)))\n"
    )
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "cfg" / "profiles.yml"),
            str(tmp_path / "cfg" / "monitors.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": "src"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip().splitlines()[-1] == "200"
    assert len(warehouse.read_window(monitor, Window(T0, T0 + H))) == 200
    warehouse.dispose()


@contextmanager
def _holding(url: str, statement: str) -> Iterator[None]:
    """Another session keeps `statement`'s locks in an open transaction (40 s at most)."""
    ready, done = threading.Event(), threading.Event()

    def hold() -> None:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
            ready.set()
            done.wait(40)
            conn.rollback()
        engine.dispose()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield
    finally:
        done.set()
        thread.join(30)


def _with_password(url: str) -> str:
    return sa.engine.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_locked_postgres_warehouse_table_fails_the_window_within_the_lock_timeout(
    tmp_path, pg_schema
):
    url, schema = pg_schema
    engine = sa.create_engine(url)
    write_table(engine, make_requests(hours=1), schema=schema)
    engine.dispose()
    config = _config(tmp_path, _with_password(url), schema, "lock_timeout: 1s")
    ctx = Context.from_config(config)
    monitor = ctx.config.monitors.monitors[0]
    # e.g. a load job that truncates and refills the table in one transaction
    with _holding(url, f'LOCK TABLE "{schema}".app_requests IN ACCESS EXCLUSIVE MODE'):
        clock = time.monotonic()
        failed = run_window(ctx, monitor, Window(T0, T0 + H))
        waited = time.monotonic() - clock
    assert failed.status == "failed"
    assert waited < 10  # ~1 s per statement that waited, not until the lock is gone
    assert "canceling statement due to lock timeout" in failed.error
    assert "gave up after waiting 1s (warehouse.lock_timeout)" in failed.error
    assert "pg_stat_activity" in failed.error and PASSWORD not in failed.error
    assert ctx.store.watermark("bot") is None and ctx.store.metrics("bot") == []
    assert run_window(ctx, monitor, Window(T0, T0 + H)).status == "succeeded"
    ctx.close()


@pytest.mark.postgres
def test_a_slow_postgres_warehouse_query_fails_the_window_within_the_statement_timeout(
    tmp_path, pg_schema
):
    url, schema = pg_schema
    engine = sa.create_engine(url)
    write_table(engine, make_requests(hours=1), table="raw_requests", schema=schema)
    with engine.begin() as conn:  # a view that takes ~10 ms a row: 2 s for the window
        conn.execute(
            sa.text(
                f'CREATE VIEW "{schema}".app_requests AS SELECT * FROM "{schema}".raw_requests '
                "WHERE pg_sleep(0.01)::text = ''"
            )
        )
    engine.dispose()
    config = _config(tmp_path, _with_password(url), schema, "statement_timeout: 1s")
    ctx = Context.from_config(config)
    clock = time.monotonic()
    failed = run_window(ctx, ctx.config.monitors.monitors[0], Window(T0, T0 + H))
    waited = time.monotonic() - clock
    assert failed.status == "failed"
    assert waited < 15
    assert "canceling statement due to statement timeout" in failed.error
    assert "longer than 1s (warehouse.statement_timeout)" in failed.error
    assert re.search(r"postgresql\+psycopg://postgres:\*\*\*@", failed.error)
    assert PASSWORD not in failed.error
    assert ctx.store.watermark("bot") is None
    ctx.close()


@pytest.mark.mysql
def test_a_locked_mariadb_warehouse_table_fails_the_window_within_the_lock_timeout(
    tmp_path, mysql_database
):
    url = mysql_database
    engine = sa.create_engine(url)
    write_table(engine, make_requests(hours=1))
    engine.dispose()
    ctx = Context.from_config(_config(tmp_path, url, None, "lock_timeout: 1s"))
    monitor = ctx.config.monitors.monitors[0]
    # a load job holding the table (a metadata lock every reader waits for)
    with _holding(url, "LOCK TABLES app_requests WRITE"):
        clock = time.monotonic()
        failed = run_window(ctx, monitor, Window(T0, T0 + H))
        waited = time.monotonic() - clock
    assert failed.status == "failed"
    assert waited < 10
    assert "Lock wait timeout exceeded" in failed.error
    assert "gave up after waiting 1s (warehouse.lock_timeout)" in failed.error
    assert "SHOW PROCESSLIST" in failed.error
    assert ctx.store.watermark("bot") is None and ctx.store.metrics("bot") == []
    assert run_window(ctx, monitor, Window(T0, T0 + H)).status == "succeeded"
    ctx.close()


@pytest.mark.mysql
def test_a_slow_mariadb_warehouse_query_fails_the_window_within_the_statement_timeout(
    tmp_path, mysql_database
):
    url = mysql_database
    engine = sa.create_engine(url)
    write_table(engine, make_requests(hours=1), table="raw_requests")
    with engine.begin() as conn:  # a view that takes ~10 ms a row: 2 s for the window
        conn.execute(
            sa.text("CREATE VIEW app_requests AS SELECT * FROM raw_requests WHERE SLEEP(0.01) = 0")
        )
    engine.dispose()
    ctx = Context.from_config(_config(tmp_path, url, None, "statement_timeout: 1s"))
    clock = time.monotonic()
    failed = run_window(ctx, ctx.config.monitors.monitors[0], Window(T0, T0 + H))
    waited = time.monotonic() - clock
    assert failed.status == "failed"
    assert waited < 15
    assert "max_statement_time exceeded" in failed.error
    assert "longer than 1s (warehouse.statement_timeout)" in failed.error
    assert ctx.store.watermark("bot") is None
    ctx.close()

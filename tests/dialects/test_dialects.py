"""The dialect seam: one capabilities object per engine, resolved from the URL; no other module
compares dialect names; an engine without a module runs the documented generic path."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table
from tests.dialects import generic_dialect

from lookout.dialects import GENERIC, dialect_for
from lookout.dialects.clickhouse import ClickHouse
from lookout.dialects.duckdb import DuckDB
from lookout.dialects.mysql import MySQL
from lookout.dialects.postgresql import PostgreSQL
from lookout.dialects.snowflake import Snowflake
from lookout.dialects.sqlite import SQLite
from lookout.pipeline import Context, run_window
from lookout.windows import Window

SRC = Path(__file__).resolve().parents[2] / "src" / "lookout"
WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("duckdb:///wh.duckdb", DuckDB),
        ("postgresql+psycopg://u@h/db", PostgreSQL),
        ("postgresql://u@h/db", PostgreSQL),
        ("sqlite:///wh.sqlite", SQLite),
        ("mysql+pymysql://root@127.0.0.1/test", MySQL),
        ("mariadb+pymysql://root@127.0.0.1/test", MySQL),
        ("clickhousedb:///lk?dsn=chdb:///tmp/chdb", ClickHouse),
        ("clickhousedb://default@127.0.0.1:8123/db", ClickHouse),
        ("snowflake://user:pw@myorg-myaccount/db/public?warehouse=wh", Snowflake),
    ],
)
def test_each_engine_resolves_to_its_module(url, expected):
    assert type(dialect_for(url)) is expected


def test_an_unknown_engine_gets_the_generic_answers():
    caps = dialect_for("oracle+oracledb://u@h/db")
    assert caps is GENERIC
    assert caps.quantiles is None and not caps.metrics_pushdown_default
    assert caps.not_in_sql is None and not caps.drift_in_sql
    assert caps.sample_unit is None and caps.period_sample(sa.table("t"), 10.0) is None


# a comparison of a dialect's name with a literal, or a set of names, outside the seam
_NAME_TEST = re.compile(
    r"""dialect(\.name)?\s*(==|!=|\bin\b|\bnot in\b)"""
    r"""|startswith\(\s*["'](postgresql|duckdb|sqlite|mysql)"""
    r"""|==\s*["'](duckdb|postgresql|sqlite|mysql|mariadb)["']|PUSHDOWN_DIALECTS"""
)


def test_no_module_outside_the_seam_compares_dialect_names():
    """Engine knowledge lives in `dialects/`; the results store (SQLite or PostgreSQL
    only, its own engine) is the one other place allowed to know its backend."""
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("dialects/", "store/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _NAME_TEST.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


@pytest.fixture
def generic_project(tmp_path: Path):
    """The test requests in a SQLite file opened through a dialect Lookout does not know."""
    generic_dialect.register()
    path = tmp_path / "wh.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    write_table(engine, make_requests())
    engine.dispose()
    return tmp_path, f"{generic_dialect.NAME}:///{path}"


def _context(tmp_path: Path, url: str, pushdown: str) -> Context:
    config = write_config(
        tmp_path / f"cfg-{pushdown}",
        warehouse=url,
        store=f"sqlite:///{tmp_path / f'results-{pushdown}.sqlite'}",
        pushdown=pushdown,
    )
    return Context.from_config(config)


def test_a_window_on_an_unknown_engine_runs_in_pandas_and_says_so(generic_project, caplog):
    tmp_path, url = generic_project
    ctx = _context(tmp_path, url, "auto")
    try:
        assert ctx.warehouse.capabilities is GENERIC
        with caplog.at_level(logging.INFO, logger="lookout"):
            result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW)
        assert result.status == "succeeded", result.error
        assert any("has no Lookout module" in r.getMessage() for r in caplog.records)
        with ctx.store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT metric, value, n FROM metrics")).all()
    finally:
        ctx.close()
    # the same numbers as the same file read through SQLite's own module
    sqlite_ctx = _context(tmp_path, url.replace(generic_dialect.NAME, "sqlite"), "off")
    try:
        assert sqlite_ctx.warehouse.capabilities is not GENERIC
        assert run_window(sqlite_ctx, sqlite_ctx.config.monitors.monitors[0], WINDOW).status == (
            "succeeded"
        )
        with sqlite_ctx.store.engine.connect() as conn:
            expected = conn.execute(sa.text("SELECT metric, value, n FROM metrics")).all()
    finally:
        sqlite_ctx.close()
    assert len(rows) > 20
    assert sorted(rows) == sorted(expected)


def test_pushdown_on_for_an_unknown_engine_is_refused_by_name(generic_project):
    tmp_path, url = generic_project
    ctx = _context(tmp_path, url, "on")
    try:
        result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW)
    finally:
        ctx.close()
    assert result.status == "failed"
    assert f"{generic_dialect.NAME} has no percentile_cont" in (result.error or "")


def test_snowflake_sends_the_waits_as_session_parameters_in_whole_seconds():
    from lookout.connections import WAREHOUSE_DEFAULTS, engine_arguments
    from lookout.dialects import ConnectSettings

    url = "snowflake://me:pw@myorg-myaccount/db/public?warehouse=wh"
    _, options = engine_arguments(url, WAREHOUSE_DEFAULTS)
    assert options == {
        "connect_args": {
            "session_parameters": {"LOCK_TIMEOUT": 300, "STATEMENT_TIMEOUT_IN_SECONDS": 1800}
        }
    }
    short = ConnectSettings(lock_timeout=timedelta(seconds=0.3), statement_timeout=None)
    assert engine_arguments(url, short)[1] == {
        "connect_args": {"session_parameters": {"LOCK_TIMEOUT": 1}}
    }
    assert engine_arguments(url, ConnectSettings())[1] == {}


@pytest.mark.snowflake
def test_snowflake_logs_in_with_its_session_parameters_and_reads_nan_as_missing(snowflake_url):
    """Through the real driver and the emulator: login with the waits set, and NaN/±infinity
    written as CAST('NaN' AS DOUBLE) (the connector pastes a float NaN as a bare word)."""
    from lookout.connections import WAREHOUSE_DEFAULTS
    from lookout.sources.warehouse import Warehouse

    warehouse = Warehouse(snowflake_url, settings=WAREHOUSE_DEFAULTS)
    caps = warehouse.capabilities
    assert type(caps) is Snowflake
    with warehouse.engine.connect() as conn:
        got = conn.execute(
            sa.select(
                caps.as_number(sa.literal_column("1.5")),
                caps.as_number(caps.special_float(float("nan"))),
                caps.special_float(float("inf")) > 1e308,
                caps.special_float(float("-inf")) < -1e308,
            )
        ).one()
    assert got == (1.5, None, True, True)
    warehouse.dispose()


def test_snowflake_names_the_statement_timeout_that_ran_out():
    from lookout.connections import WAREHOUSE_DEFAULTS

    caps = dialect_for("snowflake://me:pw@myorg-myaccount/db/public")
    exc = RuntimeError(
        "000630 (57014): Statement reached its statement or warehouse timeout of 1,800 "
        "second(s) and was canceled."
    )
    message = caps.timeout_message(exc, WAREHOUSE_DEFAULTS)
    assert message is not None
    assert "30m (warehouse.statement_timeout)" in message and "QUERY_HISTORY" in message
    assert caps.timeout_message(RuntimeError("syntax error"), WAREHOUSE_DEFAULTS) is None


@pytest.mark.snowflake
def test_snowflake_reads_arrow_as_read_sql_would(snowflake_url, monkeypatch):
    """The Arrow fetch (`fetch_pandas_all`) against the row-by-row DBAPI read, through the real
    connector and the emulator: the same names (lower case, as SQLAlchemy gives them), the same
    values for decimals, integers with gaps, naive and zoned times, booleans with gaps and
    text; bound parameters (an IN list, a time) work; an empty result keeps its columns."""
    from lookout.sources.warehouse import Warehouse

    engine = sa.create_engine(snowflake_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE mixed (id INTEGER, price NUMBER(10, 2), tries INTEGER, "
            "seen TIMESTAMP_NTZ, zoned TIMESTAMP_TZ, ok BOOLEAN, label VARCHAR)"
        )
        conn.exec_driver_sql(
            "INSERT INTO mixed VALUES "
            "(1, 12.50, 3, '2026-11-02 10:00:00.123456', '2026-11-02 10:00:00+00', TRUE, 'a'),"
            "(2, NULL, NULL, '2026-11-02 11:00:00', NULL, NULL, NULL),"
            "(3, 0.01, 0, '2026-11-02 12:30:00', '2026-11-02 12:30:00+00', FALSE, 'c')"
        )
    engine.dispose()
    from snowflake.connector.cursor import SnowflakeCursor

    arrow_reads = []
    real = SnowflakeCursor.fetch_pandas_all
    monkeypatch.setattr(
        SnowflakeCursor,
        "fetch_pandas_all",
        lambda cursor, **kw: arrow_reads.append(cursor) or real(cursor, **kw),
    )
    warehouse = Warehouse(snowflake_url)
    table = sa.Table("mixed", sa.MetaData(), autoload_with=warehouse.engine)
    query = (
        sa.select(table.c.id, table.c.price, table.c.tries, table.c.seen, table.c.ok, table.c.label)
        .where(table.c.id.in_([1, 2, 3]), table.c.seen >= T0.replace(tzinfo=None))
        .order_by(table.c.id)
    )
    fast = warehouse.fetch_frame(query)
    assert len(arrow_reads) == 1  # the Arrow path, not a fallback
    with warehouse.engine.connect() as conn:
        slow = pd.read_sql(query, conn)
    assert (
        list(fast.columns) == list(slow.columns) == ["id", "price", "tries", "seen", "ok", "label"]
    )
    assert fast["id"].tolist() == slow["id"].tolist() == [1, 2, 3]
    assert fast["price"].astype(float).tolist()[::2] == [12.5, 0.01]
    assert pd.isna(fast["price"][1]) and pd.isna(fast["tries"][1]) and pd.isna(fast["label"][1])
    assert fast["tries"].tolist()[::2] == slow["tries"].tolist()[::2] == [3, 0]
    assert pd.to_datetime(fast["seen"]).tolist() == pd.to_datetime(slow["seen"]).tolist()
    assert fast["seen"][0] == pd.Timestamp("2026-11-02 10:00:00.123456")
    assert [fast["ok"][0], fast["ok"][2]] == [True, False] and pd.isna(fast["ok"][1])
    zoned = warehouse.fetch_frame(sa.select(table.c.zoned).order_by(table.c.id))
    assert pd.Timestamp(zoned["zoned"][0]).tz_convert("UTC") == pd.Timestamp(
        "2026-11-02 10:00:00", tz="UTC"
    )
    empty = warehouse.fetch_frame(sa.select(table.c.id, table.c.label).where(table.c.id > 9))
    assert list(empty.columns) == ["id", "label"] and len(empty) == 0
    warehouse.dispose()

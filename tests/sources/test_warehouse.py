"""Window reads and aggregation pushdown on real DuckDB, SQLite, PostgreSQL, MariaDB,
ClickHouse (chDB) and Snowflake (fakesnow)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.checks.metrics import aggregate_frame, compute_ops_metrics, metrics_from_aggregates
from lookout.errors import SourceError
from lookout.pipeline import metric_settings
from lookout.sources.warehouse import Warehouse, metric_fields
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))


def _warehouse(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if kind == "duckdb":
        return f"duckdb:///{tmp_path / 'wh.duckdb'}", None
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'wh.sqlite'}", None
    if kind == "mysql":
        return request.getfixturevalue("mysql_database"), None
    if kind == "clickhouse":
        return request.getfixturevalue("chdb_url"), None
    if kind == "snowflake":
        return request.getfixturevalue("snowflake_url"), None
    url, schema = request.getfixturevalue("pg_schema")
    return url, schema


BACKENDS = [
    "duckdb",
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("clickhouse", marks=pytest.mark.clickhouse),
    pytest.param("snowflake", marks=pytest.mark.snowflake),
]


@pytest.fixture(params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path: Path):
    url, schema = _warehouse(request.param, tmp_path, request)
    frame = make_requests()
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    engine.dispose()
    config = write_config(
        tmp_path / "cfg", warehouse=url, store=f"sqlite:///{tmp_path / 's.sqlite'}", schema=schema
    )
    warehouse = Warehouse(url)
    yield warehouse, config.monitors.monitors[0], frame
    warehouse.dispose()


def _expected_window(frame: pd.DataFrame) -> pd.DataFrame:
    start = pd.Timestamp(WINDOW.start.replace(tzinfo=None))
    end = pd.Timestamp(WINDOW.end.replace(tzinfo=None))
    return frame[(frame.event_time >= start) & (frame.event_time < end)]


def test_read_window_returns_exactly_the_window_as_canonical_columns(loaded):
    warehouse, monitor, frame = loaded
    got = warehouse.read_window(monitor, WINDOW, metric_fields(monitor.source))
    expected = _expected_window(frame)
    assert len(got) == len(expected) > 100
    assert sorted(got["record_id"]) == sorted(expected["request_id"])
    assert str(got["ts"].dtype) == "datetime64[ns, UTC]"
    assert got["ts"].min() >= WINDOW.start and got["ts"].max() < WINDOW.end
    # text columns are not read unless asked for; cohorts always are
    assert "input" not in got.columns
    assert {"route", "region", "latency_ms", "trace_id"} <= set(got.columns)


def test_same_metrics_on_every_dialect_as_pandas_on_the_source_frame(loaded):
    warehouse, monitor, frame = loaded
    got = warehouse.read_window(monitor, WINDOW, metric_fields(monitor.source))
    expected = _expected_window(frame).rename(
        columns={
            "request_id": "record_id",
            "event_time": "ts",
            "session_id": "trace_id",
        }
    )
    settings = metric_settings(monitor)
    ours = compute_ops_metrics(got, monitor.source.release, monitor.source.cohorts, settings)
    truth = compute_ops_metrics(expected, monitor.source.release, monitor.source.cohorts, settings)
    assert len(ours) == len(truth) > 50
    for a, b in zip(ours, truth, strict=True):
        assert (a.release, a.cohort, a.metric, a.n) == (b.release, b.cohort, b.metric, b.n)
        assert a.value == pytest.approx(b.value, rel=1e-9, abs=1e-12)


def test_pushdown_aggregates_equal_pandas_aggregates(loaded):
    warehouse, monitor, _ = loaded
    if not warehouse.supports_pushdown:
        with pytest.raises(SourceError, match="cannot aggregate quantiles"):
            warehouse.aggregate_window(monitor, WINDOW, metric_settings(monitor))
        return
    settings = metric_settings(monitor)
    frame = warehouse.read_window(monitor, WINDOW, metric_fields(monitor.source))
    in_pandas = metrics_from_aggregates(
        aggregate_frame(frame, monitor.source.release, monitor.source.cohorts, settings)
    )
    in_sql = metrics_from_aggregates(warehouse.aggregate_window(monitor, WINDOW, settings))
    key = lambda m: (m.release, m.cohort, m.metric)  # noqa: E731
    assert sorted(map(key, in_sql)) == sorted(map(key, in_pandas))
    by_key = {key(m): m for m in in_pandas}
    for m in in_sql:
        other = by_key[key(m)]
        assert m.n == other.n, key(m)
        assert m.value == pytest.approx(other.value, rel=1e-9), key(m)
        if m.ci_low is not None:
            assert m.ci_low == pytest.approx(other.ci_low)


def test_missing_column_is_named_with_its_config_key(loaded, tmp_path):
    warehouse, monitor, _ = loaded
    broken = monitor.model_copy(
        update={
            "source": monitor.source.model_copy(
                update={"columns": {**monitor.source.columns, "latency_ms": "latency"}}
            )
        }
    )
    with pytest.raises(SourceError) as info:
        warehouse.check_monitor(broken, index=0)
    message = str(info.value)
    assert "monitors.yml: monitors[0].source.columns.latency_ms" in message
    assert "'latency' is not in table 'app_requests'" in message


def test_missing_table_is_a_clear_error(tmp_path):
    empty = sa.create_engine(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    empty.connect().close()  # an empty database file
    empty.dispose()
    warehouse = Warehouse(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    config = write_config(
        tmp_path / "cfg",
        warehouse=f"duckdb:///{tmp_path / 'empty.duckdb'}",
        store="sqlite://",
        table="nope",
    )
    with pytest.raises(SourceError, match="table 'nope' not found"):
        warehouse.read_window(config.monitors.monitors[0], WINDOW)


def test_unreachable_postgres_names_host_but_never_the_password():
    warehouse = Warehouse("postgresql+psycopg://lookout:s3cr3t-pw@127.0.0.1:1/wh")
    from lookout.config.models import SourceConfig

    source = SourceConfig(table="t", columns={"record_id": "id", "ts": "ts"})
    with pytest.raises(SourceError) as info:
        warehouse.table_columns(source)
    assert "127.0.0.1:1" in str(info.value)
    assert "s3cr3t-pw" not in str(info.value)

"""Window reads and aggregation pushdown on real DuckDB, SQLite, PostgreSQL, MariaDB,
ClickHouse (chDB) and Snowflake (fakesnow)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, T0, make_requests, write_config, write_table

from lookout.checks.metrics import aggregate_frame, compute_ops_metrics, metrics_from_aggregates
from lookout.config.models import Monitor
from lookout.errors import SourceError
from lookout.pipeline import metric_settings
from lookout.sources.drift_columns import drift_columns
from lookout.sources.drift_summaries import feature_key, window_summaries
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


BACKENDS = ALL_ENGINES


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


def _in_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """The same records with latency and TTFT logged in seconds, as decimals (`duration_s`)."""
    out = frame.rename(columns={"latency_ms": "duration_s", "ttft_ms": "first_token_s"})
    for column in ("duration_s", "first_token_s"):
        out[column] = [None if pd.isna(v) else Decimal(f"{v / 1000:.4f}") for v in out[column]]
    return out


@pytest.fixture(params=BACKENDS)
def both_units(request: pytest.FixtureRequest, tmp_path: Path):
    """(warehouse, monitor of the records in ms, monitor of the same records in seconds)."""
    url, schema = _warehouse(request.param, tmp_path, request)
    frame = make_requests()
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    write_table(engine, _in_seconds(frame), table="requests_s", schema=schema)
    engine.dispose()
    config = write_config(
        tmp_path / "cfg", warehouse=url, store=f"sqlite:///{tmp_path / 's.sqlite'}", schema=schema
    )
    in_ms = config.monitors.monitors[0]
    columns = {**in_ms.source.columns, "latency_ms": "duration_s", "ttft_ms": "first_token_s"}
    source = in_ms.source.model_copy(
        update={
            "table": "requests_s",
            "columns": columns,
            "units": {"latency_ms": "s", "ttft_ms": "s"},
        }
    )
    warehouse = Warehouse(url)
    yield warehouse, in_ms, in_ms.model_copy(update={"source": source})
    warehouse.dispose()


def test_durations_logged_in_seconds_read_as_the_same_milliseconds(both_units):
    """A table logging seconds (`units: {latency_ms: s}`) gives the window, the p50/p95 (in
    SQL where the engine computes quantiles) and the drift sketches of the same records
    logged in milliseconds."""
    warehouse, in_ms, in_s = both_units
    logged = warehouse.table_columns(in_s.source)["duration_s"]
    assert isinstance(logged, sa.Numeric) and not isinstance(logged, sa.Float), logged
    warehouse.check_monitor(in_s, index=0)  # a decimal column takes a unit
    fields = metric_fields(in_ms.source)
    a = warehouse.read_window(in_ms, WINDOW, fields).sort_values("record_id")
    b = warehouse.read_window(in_s, WINDOW, fields).sort_values("record_id")
    for field in ("latency_ms", "ttft_ms"):
        np.testing.assert_allclose(b[field].to_numpy(), a[field].to_numpy(), rtol=1e-9)
    settings = metric_settings(in_ms)
    if warehouse.supports_pushdown:
        ms, s = (warehouse.aggregate_window(m, WINDOW, settings) for m in (in_ms, in_s))
    else:
        ms = aggregate_frame(a, in_ms.source.release, in_ms.source.cohorts, settings)
        s = aggregate_frame(b, in_s.source.release, in_s.source.cohorts, settings)
    quantiles = {"latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "ttft_p95_ms"}
    got = {
        (m.release, m.cohort, m.metric): m.value
        for m in metrics_from_aggregates(s)
        if m.metric in quantiles
    }
    expected = {
        (m.release, m.cohort, m.metric): m.value
        for m in metrics_from_aggregates(ms)
        if m.metric in quantiles
    }
    assert got.keys() == expected.keys() and len(got) > 20
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    assert expected[("m1@p1", "*", "latency_p50_ms")] > 500  # milliseconds, not seconds
    columns = [c for c in drift_columns(in_ms) if c.name in ("latency_ms", "ttft_ms")]
    for limit in (0, None):  # summarised by the warehouse (where it can), and locally
        drift_ms, drift_s = (
            window_summaries(warehouse, m, columns, WINDOW, local_max_rows=limit)
            for m in (in_ms, in_s)
        )
        assert drift_s.keys() == drift_ms.keys()
        for group, summary in drift_ms.items():
            for column in columns:
                key = feature_key(column.name)
                for q in (0.5, 0.95):
                    want = summary.sketches[key].quantile(q)
                    assert drift_s[group].sketches[key].quantile(q) == pytest.approx(want, rel=0.02)


def _in_cost_units(frame: pd.DataFrame) -> pd.DataFrame:
    """The same records with the cost logged in micro-dollars (`cost_micro_usd`, an integer
    column: the user's span table) and in cents (`cost_cents`, a decimal), not in USD."""
    out = frame.drop(columns=["cost_usd"])
    out["cost_micro_usd"] = (frame["cost_usd"] * 1_000_000).round().astype(np.int64)
    out["cost_cents"] = [Decimal(f"{v * 100:.4f}") for v in frame["cost_usd"]]
    return out


@pytest.fixture(params=BACKENDS)
def cost_units(request: pytest.FixtureRequest, tmp_path: Path):
    """(warehouse, monitor of the records in USD, {unit: monitor of the same records in it})."""
    url, schema = _warehouse(request.param, tmp_path, request)
    frame = make_requests()
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    write_table(engine, _in_cost_units(frame), table="requests_cost", schema=schema)
    engine.dispose()
    config = write_config(
        tmp_path / "cfg", warehouse=url, store=f"sqlite:///{tmp_path / 's.sqlite'}", schema=schema
    )
    in_usd = config.monitors.monitors[0]
    logged = {}
    for unit, column in (("micro_usd", "cost_micro_usd"), ("cents", "cost_cents")):
        source = in_usd.source.model_copy(
            update={
                "table": "requests_cost",
                "columns": {**in_usd.source.columns, "cost_usd": column},
                "units": {"cost_usd": unit},
            }
        )
        logged[unit] = in_usd.model_copy(update={"source": source})
    warehouse = Warehouse(url)
    yield warehouse, in_usd, logged
    warehouse.dispose()


def _cost_figures(warehouse: Warehouse, monitor: Monitor) -> dict[tuple[str, str, str], float]:
    """The cost metrics of the window (in SQL where the engine can, else from the window read)
    and its cost sums, by (release, cohort, name)."""
    settings = metric_settings(monitor)
    source = monitor.source
    if warehouse.supports_pushdown:
        aggregates = warehouse.aggregate_window(monitor, WINDOW, settings)
    else:
        frame = warehouse.read_window(monitor, WINDOW, metric_fields(source))
        aggregates = aggregate_frame(frame, source.release, source.cohorts, settings)
    out = {
        (m.release, m.cohort, m.metric): m.value
        for m in metrics_from_aggregates(aggregates)
        if m.metric.startswith("cost_")
    }
    out.update({(a.release, a.cohort, "cost_sum"): a.cost_sum for a in aggregates})
    return out


def test_a_cost_logged_in_micro_dollars_or_cents_reads_as_the_same_dollars(cost_units):
    """`cost_micro_usd BIGINT` with `units: {cost_usd: micro_usd}` (and a DECIMAL in cents)
    gives the window, cost_per_request_usd, cost_per_trace_usd, the sums and the drift
    sketches of the same records logged in USD: `lookout results` printed a total of
    19,007,984.00 "USD" for $19 of micro-dollars, and every cost threshold was 1e6 off."""
    warehouse, in_usd, logged = cost_units
    fields = metric_fields(in_usd.source)
    a = warehouse.read_window(in_usd, WINDOW, fields).sort_values("record_id")
    expected = _cost_figures(warehouse, in_usd)
    assert len(expected) > 20
    assert 0.0001 <= expected[("m1@p1", "*", "cost_per_request_usd")] <= 0.002  # dollars
    columns = [c for c in drift_columns(in_usd) if c.name == "cost_usd"]
    drift_usd = window_summaries(warehouse, in_usd, columns, WINDOW)
    for unit, monitor in logged.items():
        warehouse.check_monitor(monitor, index=0)  # an integer or a decimal takes a unit
        b = warehouse.read_window(monitor, WINDOW, fields).sort_values("record_id")
        np.testing.assert_allclose(b["cost_usd"].to_numpy(), a["cost_usd"].to_numpy(), rtol=1e-12)
        got = _cost_figures(warehouse, monitor)
        assert got.keys() == expected.keys(), unit
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-9), (unit, key)
        drift = window_summaries(warehouse, monitor, columns, WINDOW)
        assert drift.keys() == drift_usd.keys()
        key = feature_key("cost_usd")
        for group, summary in drift_usd.items():
            for q in (0.5, 0.95):
                want = summary.sketches[key].quantile(q)
                assert drift[group].sketches[key].quantile(q) == pytest.approx(want, rel=0.02)


def test_a_unit_on_a_text_column_is_named_with_its_config_key(loaded):
    """A unit is applied in SQL: text holding numbers (parsed per record) cannot take one."""
    warehouse, monitor, _ = loaded
    source = monitor.source.model_copy(
        update={
            "columns": {**monitor.source.columns, "ttft_ms": "status"},
            "units": {"ttft_ms": "s"},
        }
    )
    with pytest.raises(SourceError) as info:
        warehouse.check_monitor(monitor.model_copy(update={"source": source}), index=0)
    assert "monitors.yml: monitors[0].source.units.ttft_ms: column 'status' is " in str(info.value)
    assert "a unit is applied in SQL, to a column of a numeric type" in str(info.value)


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


def test_on_sqlite_text_in_a_seconds_column_stays_not_a_number(tmp_path):
    """SQLite keeps text in a REAL column, and `'12ms' * 1000` is 12000 there: such a value
    is passed as stored (not a number, as without a unit); microseconds divide truly."""
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id TEXT, ts TIMESTAMP, dur_s REAL, ttft_us INTEGER)"))
        conn.execute(
            sa.text("INSERT INTO t VALUES (:id, :ts, :dur, :ttft)"),
            [
                {"id": "a", "ts": "2026-11-02 01:10:00", "dur": 1.5, "ttft": 250_001},
                {"id": "b", "ts": "2026-11-02 01:20:00", "dur": "12ms", "ttft": 7},
                {"id": "c", "ts": "2026-11-02 01:30:00", "dur": None, "ttft": None},
            ],
        )
    engine.dispose()
    monitor = Monitor.model_validate(
        {
            "name": "bot",
            "source": {
                "table": "t",
                "columns": {
                    "record_id": "id",
                    "ts": "ts",
                    "latency_ms": "dur_s",
                    "ttft_ms": "ttft_us",
                },
                "units": {"latency_ms": "s", "ttft_ms": "us"},
                "release": [],
            },
        }
    )
    warehouse = Warehouse(url)
    try:
        frame, not_numbers = warehouse.read_window_checked(monitor, WINDOW)
        frame = frame.sort_values("record_id")
        assert frame["latency_ms"].tolist()[0] == 1500.0
        assert np.isnan(frame["latency_ms"].tolist()[1:]).all()
        assert not_numbers.tolist() == [False, True, False]
        assert frame["ttft_ms"].tolist()[:2] == [250.001, 0.007]
        # the SQL a GX batch runs (values rendered inline) reads the same milliseconds
        query = warehouse.validation_sql(monitor, WINDOW, ["record_id", "latency_ms"], ())
        with warehouse.engine.connect() as conn:
            rows = dict(conn.execute(sa.text(query)).all())
        assert rows == {"a": 1500.0, "b": "12ms", "c": None}
    finally:
        warehouse.dispose()

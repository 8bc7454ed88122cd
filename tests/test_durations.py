"""A table that logs when each request started and ended instead of how long it took
(`source.durations: {latency_ms: {start: event_time, end: ended_at}}`, as LiteLLM's spend log,
Langfuse's observations and OpenTelemetry span tables do): a whole window run stores what the
same records logged in milliseconds store (ops metrics pushed down, GX in SQL, alerts), on
every warehouse the durations are computed in; and a table whose columns cannot give a
duration is refused before any run, naming the key."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import check_refusal, engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.dialects import dialect_for
from lookout.errors import ConfigError
from lookout.pipeline import Context, run_window
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))

SECTIONS = """\
    validation:
      pushdown: on
      expectations:
        - {kind: not_null, column: record_id, severity: critical}
        - {kind: between, column: latency_ms, min: 100, max: 100000, mostly: 0.95}
        - {kind: quantile_between, column: latency_ms, quantile: 0.5, min: 500, max: 5000}
        - {kind: mean_between, column: ttft_ms, min: 100}
"""
RULES = """\
      - name: slow
        metric: latency_p95_ms
        op: ">"
        threshold: 1500
        min_n: 20
        for: 1
        severity: P2
        owner: team
        split_by: ["*", route]
"""
DURATIONS = """\
      durations:
        latency_ms: {start: event_time, end: ended_at}
        ttft_ms: {start: event_time, end: first_token_at}
"""


def _with_times(frame: pd.DataFrame) -> pd.DataFrame:
    """The same requests, logged as the times their answer ended and its first token came
    (no first token for a failed request)."""
    out = frame.drop(columns=["latency_ms", "ttft_ms"])
    start = frame["event_time"]
    out["ended_at"] = (start + pd.to_timedelta(frame["latency_ms"], unit="ms")).astype(
        "datetime64[us]"
    )
    out["first_token_at"] = (start + pd.to_timedelta(frame["ttft_ms"], unit="ms")).astype(
        "datetime64[us]"
    )
    return out


def _monitors(table: str, computed: bool) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="on", threshold=0.2)
    text = text.replace("    rules:\n", SECTIONS + "    rules:\n") + RULES
    if computed:
        text = text.replace("        latency_ms: latency_ms\n", "")
        text = text.replace("        ttft_ms: ttft_ms\n", "")
        text = text.replace("      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + DURATIONS)
    return text


BACKENDS = [
    "duckdb",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_window_of_start_and_end_times_stores_what_the_same_window_in_milliseconds_stores(
    backend, tmp_path, request
):
    url = engine_url(backend, tmp_path, request)
    frame = make_requests()
    engine = sa.create_engine(url)
    write_table(engine, frame)
    write_table(engine, _with_times(frame), table="requests_times")
    engine.dispose()

    in_ms = stored_by_window(project(tmp_path, url, "ms", _monitors("app_requests", False)), WINDOW)
    times = project(tmp_path, url, "times", _monitors("requests_times", True))
    computed = stored_by_window(times, WINDOW)
    assert computed == in_ms
    metrics = {(r[0], r[1], r[2]): r[3] for r in in_ms["metrics"]}
    assert metrics[("m1@p1", "*", "latency_p50_ms")] > 500  # milliseconds, not seconds
    assert metrics[("m1@p1", "*", "ttft_p50_ms")] > 150
    outcomes = {(r[0], r[1]): r[2] for r in in_ms["validations"]}
    assert outcomes[("m1@p1", "quantile_between_latency_ms")] == "passed"
    assert {r[4] for r in in_ms["validations"]} == {"sql"}  # GX ran on the warehouse
    assert ("slow", "firing", 1500.0) in {(r[0], r[2], r[3]) for r in in_ms["alerts"]}


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_each_engine_computes_the_milliseconds_between_two_times(engine_name, tmp_path, request):
    """Sub-millisecond fractions kept, a missing end read as missing, a clock that ran
    backwards read as a negative duration (for validation to flag, not to hide). With
    Prefect's server imported, as in a flow's process: it registers a SQLAlchemy `date_diff`
    of two arguments, which `sa.func.date_diff` would build instead of DuckDB's."""
    import prefect.server.utilities.database  # noqa: F401

    url = engine_url(engine_name, tmp_path, request)
    start = pd.Timestamp("2026-11-02 10:00:00")
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "started": [start] * 3,
            "ended": [start + pd.Timedelta(milliseconds=1234.5), pd.NaT, start],
        }
    ).astype({"started": "datetime64[us]", "ended": "datetime64[us]"})
    frame.loc[2, "ended"] = start - pd.Timedelta(milliseconds=250)
    engine = sa.create_engine(url)
    try:
        write_table(engine, frame, table="spans")
        caps = dialect_for(engine)
        table = sa.table(
            "spans", sa.column("id"), sa.column("started"), sa.column("ended")
        )  # lower case: Snowflake folds it to the upper case the table was written in
        millis = caps.milliseconds_between(table.c.started, table.c.ended)
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.select(table.c.id, millis)).all())
    finally:
        engine.dispose()
    # SQLite keeps times to the millisecond: 1234.5 is 1235 or 1234 there
    assert rows["a"] == pytest.approx(1234.5, abs=0.5 if engine_name == "sqlite" else 0.01)
    assert rows["b"] is None
    assert rows["c"] == pytest.approx(-250, abs=0.01)


BAD = [
    (
        "durations:\n        cost_usd: {start: event_time, end: ended_at}",
        "monitors[0].source.durations.cost_usd: 'cost_usd' is no duration",
    ),
    (
        "durations:\n        latency_ms: {start: event_time, end: event_time}",
        "monitors[0].source.durations.latency_ms: start and end are the same column",
    ),
    (
        "durations:\n        route: {start: event_time, end: ended_at}",
        "monitors[0].source.durations.route: 'route' is no duration",
    ),
]


@pytest.mark.parametrize(("section", "expected"), BAD)
def test_a_duration_that_cannot_be_computed_is_a_config_error_at_its_key(
    tmp_path, section, expected
):
    text = _monitors("requests_times", computed=True)
    text = text.replace(DURATIONS, f"      {section}\n")
    directory = project(tmp_path, "duckdb:///:memory:", "bad", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    assert expected in str(raised.value)


def test_a_duration_both_mapped_and_computed_or_given_a_unit_is_refused(tmp_path):
    text = _monitors("requests_times", computed=True).replace(
        "        route: route\n", "        route: route\n        latency_ms: latency_ms\n"
    )
    text = text.replace(DURATIONS, DURATIONS + "      units: {ttft_ms: s}\n")
    directory = project(tmp_path, "duckdb:///:memory:", "both", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    message = str(raised.value)
    assert "source.durations.latency_ms: latency_ms is both mapped in columns" in message
    assert "source.units.ttft_ms: ttft_ms is computed from two timestamps" in message


def test_duration_columns_missing_or_not_times_are_named_by_the_warehouse_check(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    frame = _with_times(make_requests(hours=1, per_hour=20))
    frame["ended_at"] = frame["ended_at"].astype(str)  # text, not a timestamp
    engine = sa.create_engine(url)
    write_table(engine, frame.drop(columns=["first_token_at"]), table="requests_times")
    engine.dispose()
    directory = project(tmp_path, url, "check", _monitors("requests_times", computed=True))
    message = check_refusal(directory, url)
    assert "monitors[0].source.durations.ttft_ms.end: column 'first_token_at' is not" in message
    assert "monitors[0].source.durations.latency_ms.end: column 'ended_at' is VARCHAR" in message


@pytest.mark.parametrize("backend", BACKENDS[:2])  # each engine's negative: test above
def test_an_end_before_its_start_is_quarantined_by_the_default_suite(backend, tmp_path, request):
    """A clock that ran backwards between two hosts gives a negative duration: the default
    suite's `latency_ms >= 0` (critical) quarantines that record, named, out of the metrics."""
    url = engine_url(backend, tmp_path, request)
    frame = _with_times(make_requests())
    in_window = frame.index[frame["event_time"] >= pd.Timestamp(WINDOW.start.replace(tzinfo=None))]
    backwards = in_window[0]
    frame.loc[backwards, "ended_at"] = frame.loc[backwards, "event_time"] - pd.Timedelta(
        milliseconds=40
    )
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests_times")
    engine.dispose()
    text = _monitors("requests_times", computed=True).replace(SECTIONS, "")
    directory = project(tmp_path, url, "backwards", text)
    ctx = Context.from_config(load_config(directory / "profiles.yml", directory / "monitors.yml"))
    try:
        result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW)
        assert result.status == "succeeded", result.error
        quarantined = [(q["record_id"], q["reasons"]) for q in ctx.store.quarantined("bot")]
    finally:
        ctx.close()
    assert quarantined == [(frame.loc[backwards, "request_id"], "between_latency_ms")]


@pytest.mark.postgres
def test_a_start_with_a_time_zone_and_an_end_without_is_refused(tmp_path, pg_database):
    """`timestamptz - timestamp` on PostgreSQL shifts by the session's time zone (a second
    read as five hours and a second in New York): the pair is refused, naming both columns."""
    frame = _with_times(make_requests(hours=1, per_hour=20))
    engine = sa.create_engine(pg_database)
    write_table(engine, frame, table="requests_times")
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE requests_times ALTER COLUMN event_time TYPE timestamptz"))
    engine.dispose()
    directory = project(tmp_path, pg_database, "tz", _monitors("requests_times", computed=True))
    refused = check_refusal(directory, pg_database)
    assert (
        "monitors[0].source.durations.latency_ms: 'event_time' and 'ended_at' differ in time zone"
        in refused
    )


def test_an_engine_without_a_module_refuses_durations_before_any_read(tmp_path):
    """The generic path (an engine Lookout has no module for) has no portable SQL for the
    milliseconds between two times: `EXTRACT(epoch ...)` fails on SQL Server and Oracle."""
    from tests.dialects import generic_dialect

    generic_dialect.register()
    path = tmp_path / "wh.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    write_table(engine, _with_times(make_requests(hours=1, per_hour=20)), table="requests_times")
    engine.dispose()
    url = f"{generic_dialect.NAME}:///{path}"
    directory = project(tmp_path, url, "generic", _monitors("requests_times", computed=True))
    refused = check_refusal(directory, url)
    assert "source.durations.latency_ms: generic has no dialect module" in refused

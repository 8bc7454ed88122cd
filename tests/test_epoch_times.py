"""A table that logs its event and ingestion times as Unix epoch integers (`created_at BIGINT`
in milliseconds, `units: {ts: epoch_ms, ingested_at: epoch_ms}`): a window run stores what the
same records with TIMESTAMP columns store (metrics, validation outcomes, the quarantine of
records without an event time, the window's newest ingestion time, alerts), on every engine;
the window is bounded by integers compared with the raw column, so its index still prunes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import STORED, check_refusal, engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))

SECTIONS = """\
    validation:
      expectations:
        - {kind: not_null, column: record_id, severity: critical}
        - {kind: not_null, column: ts, severity: critical}
        - {kind: fresh, column: ts, max_age: 5m}
        - {kind: between, column: latency_ms, min: 0, max: 100000, mostly: 0.95}
"""
STORED_TOO = {
    **STORED,
    "quarantine": "SELECT record_id, release, reasons FROM quarantine",
    "windows": "SELECT rows, max_ingested_at, quarantined FROM windows",
}
_STEPS = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}


def _records(unit: str) -> pd.DataFrame:
    """The test requests with times a column in `unit` can hold (an epoch in seconds has no
    fraction), and two records of the window that arrived without an event time."""
    frame = make_requests()
    for column in ("event_time", "ingested_at"):
        frame[column] = frame[column].dt.floor(_STEPS[unit]).astype("datetime64[us]")
    inside = frame.index[frame["event_time"] >= pd.Timestamp(WINDOW.start.replace(tzinfo=None))]
    frame.loc[inside[:2], "event_time"] = pd.NaT
    return frame


def _as_epoch(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The same records with `created_at` and `ingested` as epoch integers in `unit`."""
    out = frame.drop(columns=["event_time", "ingested_at"])
    for column, name in (("event_time", "created_at"), ("ingested_at", "ingested")):
        epoch = frame[column] - pd.Timestamp("1970-01-01")
        out[name] = (epoch // pd.Timedelta(1, unit=_STEPS[unit])).astype("Int64")
    return out


def _monitors(table: str, unit: str | None) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="auto", threshold=0.2)
    text = text.replace("    rules:\n", SECTIONS + "    rules:\n")
    if unit is not None:
        text = text.replace("ts: event_time", "ts: created_at")
        text = text.replace("ingested_at: ingested_at", "ingested_at: ingested")
        text = text.replace(
            "      ok_statuses: [ok]\n",
            f"      ok_statuses: [ok]\n      units: {{ts: {unit}, ingested_at: {unit}}}\n",
        )
    return text


def _stored(directory: Path) -> dict[str, list[tuple]]:
    return stored_by_window(directory, WINDOW, STORED_TOO)


def _warehouse(url: str, unit: str) -> None:
    frame = _records(unit)
    engine = sa.create_engine(url)
    write_table(engine, frame)
    write_table(engine, _as_epoch(frame, unit), table="requests_epoch")
    engine.dispose()


def _same_window(tmp_path: Path, url: str, unit: str) -> dict[str, list[tuple]]:
    _warehouse(url, unit)
    as_timestamps = _stored(project(tmp_path, url, "times", _monitors("app_requests", None)))
    as_epochs = _stored(project(tmp_path, url, "epochs", _monitors("requests_epoch", unit)))
    # `fresh` compares the newest time with a timestamp: on the frame, where an epoch column
    # reads as one (in SQL its observed value would be a number); the rest ran where it did
    fresh = {r[4] for r in as_epochs["validations"] if r[1] == "fresh_ts"}
    assert fresh == {"pandas"}
    for stored in (as_epochs, as_timestamps):
        stored["validations"] = [r[:4] if r[1] == "fresh_ts" else r for r in stored["validations"]]
    assert as_epochs == as_timestamps
    return as_timestamps


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_a_window_of_epoch_milliseconds_stores_what_the_same_timestamps_store(
    engine_name, tmp_path, request
):
    stored = _same_window(tmp_path, engine_url(engine_name, tmp_path, request), "epoch_ms")
    [(rows, newest, quarantined)] = stored["windows"]
    assert rows > 150 and quarantined == 2
    assert pd.Timestamp(newest) > pd.Timestamp(
        (WINDOW.end - timedelta(minutes=1)).replace(tzinfo=None)
    )
    assert {r[2] for r in stored["quarantine"]} == {"unplaceable_ts"}
    outcomes = {(r[0], r[1]): r[2] for r in stored["validations"]}
    assert outcomes[("m1@p1", "fresh_ts")] == "passed"
    assert ("m1@p1", "*", "error_rate") in {r[:3] for r in stored["metrics"]}


@pytest.mark.parametrize("unit", ["epoch_s", "epoch_us"])
def test_epoch_seconds_and_microseconds_store_what_the_same_timestamps_store(unit, tmp_path):
    stored = _same_window(tmp_path, f"duckdb:///{tmp_path / 'wh.duckdb'}", unit)
    assert stored["windows"][0][2] == 2


@pytest.mark.parametrize("engine_name", ALL_ENGINES[:3])
def test_epoch_nanoseconds_store_what_the_same_timestamps_store(engine_name, tmp_path, request):
    """OpenTelemetry's `StartTimeUnixNano`: past 2**53, so a double would move it."""
    stored = _same_window(tmp_path, engine_url(engine_name, tmp_path, request), "epoch_ns")
    assert stored["windows"][0][0] > 150 and stored["windows"][0][2] == 2


def test_the_window_compares_the_raw_column_with_integers_and_reads_utc_timestamps(tmp_path):
    """`created_at >= 1793498400000 AND created_at < 1793502000000`: the raw column against
    integer bounds (an index or a partition on it prunes); the frame's times equal those read
    from the TIMESTAMP column, and a late row re-opens its window either way."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    _warehouse(url, "epoch_ms")
    times = load_config_of(tmp_path, url, "times", None)
    epochs = load_config_of(tmp_path, url, "epochs", "epoch_ms")
    warehouse = Warehouse(url)
    try:
        query = warehouse.window_query(epochs, WINDOW)
        sql = str(
            query.compile(dialect=warehouse.engine.dialect, compile_kwargs={"literal_binds": True})
        )
        start, end = (int(t.timestamp() * 1000) for t in (WINDOW.start, WINDOW.end))
        assert f"created_at >= {start}" in sql and f"created_at < {end}" in sql
        read = warehouse.read_window(epochs, WINDOW).sort_values("record_id", ignore_index=True)
        expected = warehouse.read_window(times, WINDOW).sort_values("record_id", ignore_index=True)
        assert str(read["ts"].dtype) == "datetime64[ns, UTC]"
        pd.testing.assert_series_equal(read["ts"], expected["ts"])
        pd.testing.assert_series_equal(read["ingested_at"], expected["ingested_at"])
        seen = {WINDOW: expected["ingested_at"].max().to_pydatetime() - timedelta(minutes=3)}
        frontier = WINDOW.end + timedelta(hours=1)
        late = warehouse.late_windows(times, seen, frontier)
        assert late == {WINDOW} == warehouse.late_windows(epochs, seen, frontier)
        assert warehouse.max_ingested_in(epochs, WINDOW) == warehouse.max_ingested_in(times, WINDOW)
    finally:
        warehouse.dispose()


def load_config_of(tmp_path: Path, url: str, name: str, unit: str | None):
    table = "app_requests" if unit is None else "requests_epoch"
    directory = project(tmp_path, url, name, _monitors(table, unit))
    return load_config(directory / "profiles.yml", directory / "monitors.yml").monitors.monitors[0]


@pytest.mark.parametrize("engine_name", ["duckdb", "sqlite"])
def test_the_column_types_an_epoch_unit_takes_and_refuses(engine_name, tmp_path):
    """An integer event time without a unit says which to set; a timestamp column with an
    epoch unit needs none; text is no epoch."""
    url = f"{engine_name}:///{tmp_path / 'wh.db'}"
    _warehouse(url, "epoch_ms")
    no_unit = _monitors("requests_epoch", "epoch_ms").replace(
        "      units: {ts: epoch_ms, ingested_at: epoch_ms}\n",
        "      units: {ingested_at: epoch_ms}\n",
    )
    said = check_refusal(project(tmp_path, url, "no_unit", no_unit), url)
    assert "monitors[0].source.columns.ts: column 'created_at' is " in said
    hint = "needs a timestamp (or, for a Unix epoch number, its unit: `units: {ts: epoch_ms}`"
    assert hint in said
    on_times = (
        _monitors("app_requests", "epoch_ms")
        .replace("created_at", "event_time")
        .replace("ingested_at: ingested\n", "ingested_at: ingested_at\n")
    )
    said = check_refusal(project(tmp_path, url, "on_times", on_times), url)
    assert "monitors[0].source.units.ts: column 'event_time' is " in said
    assert "it holds timestamps already: remove the field from units" in said
    assert "source.columns.ts" not in said
    on_text = (
        _monitors("app_requests", "epoch_ms")
        .replace("ts: created_at", "ts: route")
        .replace("ingested_at: ingested\n", "ingested_at: ingested_at\n")
        .replace("ingested_at: epoch_ms", "")
    )
    said = check_refusal(project(tmp_path, url, "on_text", on_text.replace(", }", "}")), url)
    assert "monitors[0].source.units.ts: column 'route' is " in said
    assert "an epoch unit reads a column of numbers (integer, decimal or float)" in said

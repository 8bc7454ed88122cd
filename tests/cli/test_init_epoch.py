"""`lookout init` on a table whose event time is a Unix epoch in milliseconds (`created_at
BIGINT`, as a Kafka-sourced table logs it): init maps it as `ts` with `units: {ts: epoch_ms}`
and says why, the files check against the table, windows run, and an error spike alerts."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run
from tests.conftest import write_table
from tests.fixtures.init_tables import END, requests_frame
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors
from lookout.windows import Window


def _epoch_log() -> pd.DataFrame:
    """requests_frame() with `created_at` in epoch milliseconds instead of a timestamp, and
    half the requests of its last six hours failing."""
    frame = requests_frame()
    last = (
        frame["created"] >= pd.Timestamp((END - timedelta(hours=6)).replace(tzinfo=None))
    ).to_numpy()
    failing = last & (np.random.default_rng(3).random(len(frame)) < 0.5)
    frame.loc[failing, "http_status"] = 500
    epoch = frame["created"] - pd.Timestamp("1970-01-01")
    frame.insert(1, "created_at", (epoch // pd.Timedelta(milliseconds=1)).astype(np.int64))
    return frame.drop(columns=["created"])


@pytest.mark.parametrize(
    "backend", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_init_maps_an_epoch_milliseconds_column_as_the_event_time_and_an_error_spike_alerts(
    backend, tmp_path, request
):
    if backend == "duckdb":
        url, table, schema = f"duckdb:///{tmp_path / 'wh.duckdb'}", "requests", None
    else:
        url, schema = request.getfixturevalue("pg_schema")
        table = f"{schema}.requests"
    engine = sa.create_engine(url)
    write_table(engine, _epoch_log(), table="requests", schema=schema)
    engine.dispose()
    cfg = tmp_path / "cfg"
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    args = ["init", "--table", table, "--warehouse-url", url, *files, "--yes"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.columns["ts"] == "created_at"
    assert monitor.source.units == {"ts": "epoch_ms"}
    text = (cfg / "monitors.yml").read_text()
    assert "units: {ts: epoch_ms}" in text
    assert "created_at in milliseconds since 1970-01-01 UTC: read as UTC timestamps" in text
    output = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert "the event time created_at is an integer of milliseconds since 1970-01-01 UTC" in output
    assert "2026-11-03" in output  # the sampled times, read as dates
    size = monitor.window.size
    windows = [Window(END - size * k, END - size * (k - 1)) for k in (4, 3, 2, 1)]
    config = check_and_run(cfg, windows)
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        rows = dict(db.execute("SELECT window_start, rows FROM windows"))
        alerts = set(db.execute("SELECT rule, cohort, state FROM alerts"))
    assert len(rows) == 4 and all(n > 0 for n in rows.values()), rows
    errors = [a for a in alerts if a[0].startswith("error")]
    assert errors and any(a[2] == "firing" for a in errors), alerts


def test_init_maps_an_epoch_ingestion_time_with_its_unit_and_a_window_quarantines_by_it(
    tmp_path,
):
    """`created_at_ms` and `inserted_at_ms` BIGINT (both epoch milliseconds, the load a few
    minutes after the event): init maps both with their units, the files check against the
    table, and a window quarantines the records of its ingestion range that have no event
    time (`unplaceable_ts`), which only an ingestion time can place."""
    frame = _epoch_log().rename(columns={"created_at": "created_at_ms"})
    lag = np.random.default_rng(5).integers(60_000, 600_000, len(frame))
    frame.insert(2, "inserted_at_ms", frame["created_at_ms"] + lag)
    frame["created_at_ms"] = frame["created_at_ms"].astype("Int64")
    end_ms = int(END.timestamp() * 1000)
    unplaced = frame.index[frame["inserted_at_ms"] < end_ms - 20 * 60_000][-2:]
    frame.loc[unplaced, "created_at_ms"] = pd.NA
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests")
    engine.dispose()
    cfg = tmp_path / "cfg"
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    args = ["init", "--table", "requests", "--warehouse-url", url, *files, "--yes"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.columns["ts"] == "created_at_ms"
    assert monitor.source.columns["ingested_at"] == "inserted_at_ms"
    assert monitor.source.units == {"ts": "epoch_ms", "ingested_at": "epoch_ms"}
    text = (cfg / "monitors.yml").read_text()
    assert "units: {ts: epoch_ms, ingested_at: epoch_ms}" in text
    output = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert "the ingestion time inserted_at_ms is an integer of milliseconds" in output
    size = monitor.window.size
    windows = [Window(END - size * k, END - size * (k - 1)) for k in (2, 1)]
    config = check_and_run(cfg, windows)
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        quarantined = set(db.execute("SELECT record_id, reasons FROM quarantine"))
        counts = [n for (n,) in db.execute("SELECT quarantined FROM windows")]
    ids = set(frame.loc[unplaced, "req_uuid"])
    assert {r for r, _ in quarantined} == ids, quarantined
    assert all("unplaceable_ts" in reasons for _, reasons in quarantined)
    assert sum(counts) == 2

"""A table that writes local wall times without a zone (`source.timezone`): a MySQL DATETIME or
a PostgreSQL `timestamp` filled with a New York server's clock. Every window reads the rows of
its UTC hour, stores what the same records written in UTC store on every engine, and the hour
that repeats in autumn is read once, by one window, with no page for the UTC hour that spans no
wall time."""

from __future__ import annotations

import bisect
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import check_refusal, engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.model.local_times import local_naive, reads_no_wall_time, times_as_utc
from lookout.pipeline import Context, run_window
from lookout.windows import Window

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
VALIDATION = """\
    validation:
      pushdown: on
      expectations:
        - {kind: fresh, max_age: 20m}
        - {kind: not_null, column: record_id, severity: critical}
"""


def _written_in(frame: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """The same records as a server whose clock runs in `zone` writes them: wall times."""
    out = frame.copy()
    for column in ("event_time", "ingested_at"):
        aware = out[column].dt.tz_localize(UTC).dt.tz_convert(zone)
        out[column] = aware.dt.tz_localize(None).astype("datetime64[us]")
    return out


def _monitors(
    table: str, zone: str | None, *, start: str = "2026-11-02T00:00:00Z", pushdown: str = "on"
) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown=pushdown, threshold=0.2)
    text = text.replace("    rules:\n", VALIDATION + "    rules:\n")
    text = text.replace("start: 2026-11-02T00:00:00Z", f"start: {start}")
    if zone is not None:
        text = text.replace(
            "      ok_statuses: [ok]\n", f"      ok_statuses: [ok]\n      timezone: {zone}\n"
        )
    return text


# Zones with changes on the hour (New York, Berlin), on the half hour UTC (Adelaide) and of
# half an hour (Lord Howe); UTC days holding each change of 2026
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Adelaide", "Australia/Lord_Howe"]
CHANGE_DAYS = [(2026, 3, 8), (2026, 3, 29), (2026, 4, 4), (2026, 10, 3), (2026, 10, 25)]
CHANGE_DAYS += [(2026, 11, 1)]


@pytest.mark.parametrize("size", [timedelta(minutes=15), timedelta(hours=1)], ids=str)
@pytest.mark.parametrize("name", ZONES)
def test_every_row_is_read_by_the_one_window_it_reads_back_inside(name, size):
    """Over every change of a year, minute by minute: the bounds of consecutive windows never
    go backwards, and each wall time a clock shows (and each one it skips) falls in exactly one
    window's bounds and reads back inside that window."""
    zone = ZoneInfo(name)
    for day in (datetime(*ymd, tzinfo=UTC) for ymd in CHANGE_DAYS):
        windows = [
            Window(day + k * size, day + (k + 1) * size) for k in range(timedelta(days=1) // size)
        ]
        bounds = [(local_naive(w.start, zone), local_naive(w.end, zone)) for w in windows]
        assert all(a[1] == b[0] and a[0] <= a[1] for a, b in itertools.pairwise(bounds))
        first, last = bounds[0][0], bounds[-1][1]
        walls = pd.Series(pd.date_range(first, last, freq="1min", inclusive="left"))
        read = times_as_utc(walls, zone)
        starts = [lo for lo, _ in bounds]
        for wall, moment in zip(walls, read, strict=True):
            at = bisect.bisect_right(starts, wall) - 1  # the last window starting at or before
            holding = [
                k for k in range(max(0, at - 8), at + 1) if bounds[k][0] <= wall < bounds[k][1]
            ]
            assert len(holding) == 1, (name, wall)
            window = windows[holding[0]]
            inside = pd.Timestamp(window.start) <= moment < pd.Timestamp(window.end)
            assert inside, (name, wall, moment)
        empty = [w for w, (lo, hi) in zip(windows, bounds, strict=True) if lo == hi]
        assert all(reads_no_wall_time(w.start, w.end, zone) for w in empty)


def test_aware_values_and_unreadable_ones_are_kept_as_instants_and_missing():
    aware = pd.Series(pd.to_datetime(["2026-11-02T10:00:00+01:00", None], utc=True))
    assert list(times_as_utc(aware, NEW_YORK)) == [pd.Timestamp("2026-11-02T09:00Z"), pd.NaT]
    # aware datetimes of several offsets (a session zone across a change), text with one
    offsets = pd.Series(
        [datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 7, 5, 9, tzinfo=BERLIN)], dtype=object
    )
    assert list(times_as_utc(offsets, NEW_YORK)) == [
        pd.Timestamp("2026-01-05T09:00Z"),
        pd.Timestamp("2026-07-05T07:00Z"),
    ]
    iso = pd.Series(["2026-07-01T10:00:00+02:00", "2026-07-01T10:00:00Z"])
    assert list(times_as_utc(iso, NEW_YORK)) == [
        pd.Timestamp("2026-07-01T08:00Z"),
        pd.Timestamp("2026-07-01T10:00Z"),
    ]
    text = pd.Series(["2026-07-01 08:30:00", "not a time", None])
    assert list(times_as_utc(text, NEW_YORK)) == [pd.Timestamp("2026-07-01T12:30Z"), pd.NaT, pd.NaT]


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_a_table_written_in_new_york_time_stores_what_the_same_records_in_utc_store(
    engine_name, tmp_path, request
):
    """Metrics (pushed down), validation in SQL (freshness compares with wall time) and alerts
    of a window are those of the same records written in UTC; without `timezone` the window
    would read the rows of 05:00-06:00 New York time, five hours later."""
    url = engine_url(engine_name, tmp_path, request)
    utc = make_requests()
    engine = sa.create_engine(url)
    write_table(engine, utc, table="logged_utc")
    write_table(engine, _written_in(utc, NEW_YORK), table="logged_local")
    engine.dispose()
    window = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    pushdown = "auto" if engine_name == "sqlite" else "on"  # SQLite has no percentile_cont
    utc_project = project(tmp_path, url, "utc", _monitors("logged_utc", None, pushdown=pushdown))
    expected = stored_by_window(utc_project, window)
    zone = "America/New_York"
    local = project(tmp_path, url, "local", _monitors("logged_local", zone, pushdown=pushdown))
    assert stored_by_window(local, window) == expected
    rows = {r[0]: r[3] for r in expected["metrics"] if r[1] == "*" and r[2] == "request_count"}
    in_hour = utc["event_time"].between(
        pd.Timestamp(window.start.replace(tzinfo=None)),
        pd.Timestamp(window.end.replace(tzinfo=None)),
        inclusive="left",
    )
    assert sum(rows.values()) == in_hour.sum() > 0
    assert ("fresh_ts", "passed") in {(r[1], r[2]) for r in expected["validations"]}


def test_the_repeated_autumn_hour_is_read_once_and_the_empty_utc_hour_pages_no_one(tmp_path):
    """New York falls back at 06:00 UTC on 2026-11-01: 01:00-02:00 local happens twice. The
    window 05:00-06:00 UTC spans no wall time (its rows are written 01:xx, read by the next
    window), so neither its fixed `min_rows` floor nor its freshness check says anything;
    06:00-07:00 holds both hours; every record is counted once."""
    start = datetime(2026, 11, 1, 3, tzinfo=UTC)
    moments = pd.date_range(start, start + timedelta(hours=5), freq="90s", inclusive="left")
    rng = np.random.default_rng(3)
    frame = make_requests(hours=5, per_hour=40).head(len(moments)).copy()
    frame["event_time"] = moments.tz_localize(None).astype("datetime64[us]")
    frame["ingested_at"] = frame["event_time"] + pd.Timedelta(seconds=5)
    frame["latency_ms"] = rng.lognormal(7, 0.3, len(frame)).round(1)
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, _written_in(frame, NEW_YORK), table="logged_local")
    engine.dispose()
    monitors = _monitors("logged_local", "America/New_York", start="2026-11-01T00:00:00Z")
    monitors = monitors.replace("    rules:\n", "    health: {min_rows: 1}\n    rules:\n")
    directory = project(tmp_path, url, "local", monitors)
    ctx = Context.from_config(load_config(directory / "profiles.yml", directory / "monitors.yml"))
    counted = {}
    try:
        monitor = ctx.config.monitors.monitors[0]
        for hour in range(3, 8):
            window = Window(start.replace(hour=hour), start.replace(hour=hour + 1))
            result = run_window(ctx, monitor, window, as_of=window.end + timedelta(hours=1))
            assert result.status == "succeeded", result.error
            counted[hour] = sum(
                r["n"]
                for r in ctx.store.metrics(monitor.name, metric="request_count")
                if r["cohort"] == "*" and r["window_start"] == window.start.replace(tzinfo=None)
            )
        health = [a for a in ctx.store.alerts() if a.rule in ("min_rows", "no_data")]
        assert health == []  # not even opened and resolved
        # nor does a table-level check report on it (freshness would find no row)
        assert ctx.store.validations(monitor.name, window_start=start.replace(hour=5)) == []
        assert ctx.store.validations(monitor.name, status="failed") == []
    finally:
        ctx.close()
    assert counted == {3: 40, 4: 40, 5: 0, 6: 80, 7: 40}
    assert sum(counted.values()) == len(frame)


def test_an_unknown_zone_is_a_config_error_at_its_key(tmp_path):
    (tmp_path / "monitors.yml").write_text(_monitors("t", "America/Gotham"))
    with pytest.raises(
        ConfigError, match=r"source\.timezone: .*unknown time zone 'America/Gotham'"
    ):
        load_config(
            project(tmp_path, "sqlite://", "p", _monitors("t", "America/Gotham")) / "profiles.yml",
            tmp_path / "p" / "monitors.yml",
        )


@pytest.mark.postgres
def test_a_zone_for_columns_that_have_one_is_refused_by_the_warehouse_check(tmp_path, request):
    url = request.getfixturevalue("pg_database")
    engine = sa.create_engine(url)
    frame = make_requests(hours=1, per_hour=10)
    for column in ("event_time", "ingested_at"):
        frame[column] = frame[column].dt.tz_localize(UTC)
    write_table(engine, frame, table="aware")
    engine.dispose()
    said = check_refusal(project(tmp_path, url, "p", _monitors("aware", "Europe/Berlin")))
    assert "source.timezone: 'Europe/Berlin' applies to timestamps without a time zone" in said
    assert "'event_time', 'ingested_at' have one" in said

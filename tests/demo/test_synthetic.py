"""The demo data: deterministic, realistic columns, the two incidents present and nowhere else."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from lookout.checks.stats import wilson_interval
from lookout.demo.synthetic import (
    INCIDENT_BAD_LOGGING_HOUR,
    INCIDENT_ERROR_REGION,
    INCIDENT_SLOW_ROUTE,
    PRICES,
    RELEASE_1,
    RELEASE_2,
    RELEASE_2_LAUNCH,
    generate_requests,
    write_duckdb,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = generate_requests()
    return data.assign(
        release=data.model_version + "@" + data.prompt_version,
        hour=data.event_time.dt.floor("h"),
        error=data.status != "ok",
    )


R2 = "@".join(RELEASE_2)


def test_deterministic_by_seed():
    a = generate_requests(days=1, rows_per_hour=200, seed=3)
    b = generate_requests(days=1, rows_per_hour=200, seed=3)
    c = generate_requests(days=1, rows_per_hour=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["latency_ms"].equals(c["latency_ms"])


def test_columns_and_basic_shape(frame):
    assert frame["request_id"].is_unique
    assert frame["event_time"].is_monotonic_increasing
    assert (frame["ingested_at"] > frame["event_time"]).all()
    assert set(frame["route"]) == {"faq", "search", "account", "fallback"}
    assert (frame["is_fallback"] == (frame["route"] == "fallback")).all()
    ok = frame[~frame.error & (frame.latency_ms >= 0)]  # minus the bad-logging incident
    assert (ok["ttft_ms"] < ok["latency_ms"]).all()
    assert frame.loc[frame.error, "ttft_ms"].isna().all()
    assert (frame.loc[frame.error, "response"] == "").all()
    assert frame["context"].str.len().median() > 150
    assert frame["session_id"].nunique() < len(frame) * 0.8  # several requests per session


def test_release_2_launches_on_day_two(frame):
    launch = pd.Timestamp(RELEASE_2_LAUNCH.replace(tzinfo=None))
    before, after = frame[frame.event_time < launch], frame[frame.event_time >= launch]
    assert set(before["model_version"]) == {RELEASE_1[0]}
    assert 0.45 < (after["model_version"] == RELEASE_2[0]).mean() < 0.55


def test_cost_follows_the_price_table(frame):
    price_in = frame.model_version.map(lambda m: PRICES[m][0])
    price_out = frame.model_version.map(lambda m: PRICES[m][1])
    expected = (frame.prompt_tokens * price_in + frame.completion_tokens * price_out) / 1e6
    np.testing.assert_allclose(frame.cost_usd, expected, atol=1e-8)


def _hourly(frame, column, fn):
    groups = frame.groupby(["release", column, "hour"])
    table = groups.agg(
        n=("latency_ms", "size"), value=("latency_ms", fn) if fn else ("error", "mean")
    )
    return table[table.n >= 100].reset_index()


def test_slow_tail_only_on_release_2_search(frame):
    p99 = _hourly(frame, "route", lambda s: s.quantile(0.99))
    incident = (p99.release == R2) & (p99.route == INCIDENT_SLOW_ROUTE)
    assert incident.sum() >= 30
    assert p99.loc[incident, "value"].min() > 10_000
    assert p99.loc[~incident, "value"].max() < 5_000


def test_error_spike_only_on_release_2_apac(frame):
    rates = _hourly(frame, "region", None)
    incident = (rates.release == R2) & (rates.region == INCIDENT_ERROR_REGION)
    assert (
        0.12
        < frame[(frame.release == R2) & (frame.region == INCIDENT_ERROR_REGION)].error.mean()
        < 0.18
    )
    assert rates.loc[~incident, "value"].max() < 0.035
    # the whole release is diluted below the 5% rule: never significantly above it in any hour
    overall = frame.groupby(["release", "hour"]).error.agg(["sum", "size"])
    lows = [wilson_interval(int(k), int(n))[0] for k, n in overall.itertuples(index=False)]
    assert max(lows) < 0.05


def test_write_duckdb_round_trip(tmp_path):
    small = generate_requests(days=1, rows_per_hour=50)
    path = tmp_path / "wh.duckdb"
    assert write_duckdb(small, path) == len(small)
    assert write_duckdb(small, path) == len(small)  # replaces, never appends
    with duckdb.connect(str(path), read_only=True) as conn:
        types = dict(
            conn.execute("SELECT column_name, column_type FROM (DESCRIBE app_requests)").fetchall()
        )
    assert types["event_time"] == "TIMESTAMP" and types["ingested_at"] == "TIMESTAMP"


def test_bad_logging_only_in_its_hour_and_release(frame):
    bad = frame[frame.latency_ms < 0]
    assert len(bad) > 50
    assert set(bad.release) == {R2}
    assert set(bad.hour) == {pd.Timestamp(INCIDENT_BAD_LOGGING_HOUR.replace(tzinfo=None))}
    assert (bad.latency_ms == -1.0).all() and bad.ttft_ms.isna().all()

"""Faults of the results store and odd windows, through `run_window` on real databases: the
run completes or fails with a clear message, a re-run stores exactly what a clean run stores,
and the watermark never skips a row."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pandas as pd
from tests.conftest import T0, make_requests
from tests.test_pipeline import _ctx, _snapshot

from lookout.pipeline import plan_windows, run_window
from lookout.windows import Window

H = timedelta(hours=1)
W0 = Window(T0, T0 + H)


def test_a_locked_results_store_fails_the_window_and_the_rerun_is_identical(tmp_path):
    path = tmp_path / "results.sqlite"
    ctx = _ctx(tmp_path, store=f"sqlite:///{path}?timeout=0.3", threshold=0.03)
    monitor = ctx.config.monitors.monitors[0]
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    try:
        failed = run_window(ctx, monitor, W0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert failed.status == "failed"
    assert "commit of bot 2026-11-02T00:00Z/1h failed" in failed.error
    assert "database is locked" in failed.error
    assert ctx.store.watermark("bot") is None
    assert ctx.store.alerts() == [] and ctx.store.outbox() == []
    assert run_window(ctx, monitor, W0).status == "succeeded"
    mine = _snapshot(ctx)
    ctx.close()
    (tmp_path / "clean").mkdir()
    clean = _ctx(tmp_path / "clean", threshold=0.03)
    assert run_window(clean, clean.config.monitors.monitors[0], W0).status == "succeeded"
    assert mine == _snapshot(clean)
    clean.close()


def test_a_window_with_zero_rows_is_processed_and_moves_the_watermark(tmp_path):
    frame = make_requests(hours=3)
    frame = frame[
        (frame.event_time < pd.Timestamp(T0.replace(tzinfo=None)) + H)
        | (frame.event_time >= pd.Timestamp(T0.replace(tzinfo=None)) + 2 * H)
    ]
    ctx = _ctx(tmp_path, frame=frame)
    monitor = ctx.config.monitors.monitors[0]
    results = [run_window(ctx, monitor, Window(T0 + i * H, T0 + (i + 1) * H)) for i in range(3)]
    assert [r.status for r in results] == ["succeeded"] * 3
    assert results[1].rows == 0 and results[1].metrics >= 1  # window_rows = 0 is recorded
    assert ctx.store.watermark("bot") == T0 + 3 * H
    ctx.close()


def test_a_window_with_ten_times_the_rows_is_counted_exactly(tmp_path):
    normal = make_requests(hours=1, per_hour=200, seed=1)
    burst = make_requests(hours=1, per_hour=2000, seed=2)
    burst["request_id"] = "b" + burst["request_id"]
    burst["event_time"] = burst["event_time"] + pd.Timedelta(hours=1)
    burst["ingested_at"] = burst["ingested_at"] + pd.Timedelta(hours=1)
    ctx = _ctx(tmp_path, frame=pd.concat([normal, burst], ignore_index=True))
    monitor = ctx.config.monitors.monitors[0]
    first = run_window(ctx, monitor, W0)
    second = run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))
    assert (first.rows, second.rows) == (200, 2000)
    counts = {
        (m["window_start"], m["release"]): m["value"]
        for m in ctx.store.metrics("bot", metric="request_count", cohort="*")
    }
    assert sum(v for (start, _), v in counts.items() if start.hour == 1) == 2000
    assert sum(v for (start, _), v in counts.items() if start.hour == 0) == 200
    ctx.close()


def test_records_from_the_future_wait_for_their_window(tmp_path):
    """Clock skew: records stamped two hours ahead of the run's time are not read early, and
    the watermark stops before them; the run after their window ends counts them once."""
    frame = make_requests(hours=1)
    future = make_requests(hours=1, seed=5)
    future["request_id"] = "f" + future["request_id"]
    future["event_time"] = future["event_time"] + pd.Timedelta(hours=3)
    future["ingested_at"] = frame["ingested_at"].iloc[: len(future)].to_numpy()  # arrived early
    ctx = _ctx(tmp_path, frame=pd.concat([frame, future], ignore_index=True))
    monitor = ctx.config.monitors.monitors[0]
    as_of = T0 + H + timedelta(minutes=15)
    planned = plan_windows(ctx, monitor, as_of)
    assert planned == [W0]
    assert run_window(ctx, monitor, W0, as_of=as_of).rows == 200
    assert ctx.store.watermark("bot") == T0 + H
    later = T0 + 4 * H + timedelta(minutes=15)
    rows = [
        run_window(ctx, monitor, w, as_of=later).rows for w in plan_windows(ctx, monitor, later)
    ]
    assert rows == [0, 0, 200]  # hours 1 and 2 are empty, hour 3 holds the early arrivals
    assert ctx.store.watermark("bot") == T0 + 4 * H
    ctx.close()

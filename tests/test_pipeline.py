"""run_window and planning through real databases: idempotence, watermark, grace, late rows,
crash safety. DuckDB warehouse + SQLite store by default; PostgreSQL store too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import T0, duckdb_project, make_requests, unfolded, write_table

from lookout.pipeline import Context, plan_windows, run_window
from lookout.store import schema
from lookout.windows import Window

H = timedelta(hours=1)


def _ctx(
    tmp_path: Path,
    *,
    pushdown: str = "auto",
    store: str | None = None,
    threshold: float = 0.2,
    frame: pd.DataFrame | None = None,
) -> Context:
    config = duckdb_project(tmp_path, frame, store=store, pushdown=pushdown, threshold=threshold)
    return Context.from_config(config)


def _snapshot(ctx: Context) -> dict[str, list[tuple]]:
    with ctx.store.engine.connect() as conn:
        return {
            name: sorted(
                tuple(
                    v
                    for k, v in row._mapping.items()
                    if k not in {"run_id", "computed_at", "updated_at", "opened_at", "created_at"}
                )
                for row in conn.execute(sa.select(table))
            )
            for name, table in (
                ("metrics", schema.metrics),
                ("windows", schema.windows),
                ("watermarks", schema.watermarks),
                ("alerts", schema.alerts),
                ("outbox", schema.outbox),
            )
        }


@pytest.fixture
def ctx(tmp_path: Path):
    context = _ctx(tmp_path)
    yield context
    context.close()


def test_plan_runs_only_complete_windows_after_grace(ctx):
    monitor = ctx.config.monitors.monitors[0]
    # 3h of data from T0; grace 10m: at T0+2h05m only [T0, T0+1h) is complete.
    assert plan_windows(ctx, monitor, T0 + 2 * H + timedelta(minutes=5)) == [Window(T0, T0 + H)]
    assert plan_windows(ctx, monitor, T0 + 2 * H + timedelta(minutes=10)) == [
        Window(T0, T0 + H),
        Window(T0 + H, T0 + 2 * H),
    ]


@pytest.mark.parametrize("pushdown", ["on", "off"])
def test_each_window_is_read_once_and_the_watermark_moves(tmp_path, pushdown):
    ctx = _ctx(tmp_path, pushdown=pushdown)
    monitor = ctx.config.monitors.monitors[0]
    as_of = T0 + 3 * H + timedelta(minutes=30)
    windows = plan_windows(ctx, monitor, as_of)
    assert len(windows) == 3
    results = [run_window(ctx, monitor, w, as_of=as_of) for w in windows]
    assert all(r.status == "succeeded" for r in results)
    assert {r.metric_path for r in results} == {"pushdown" if pushdown == "on" else "pandas"}
    assert sum(r.rows for r in results) == 600
    assert ctx.store.watermark("bot") == T0 + 3 * H
    assert plan_windows(ctx, monitor, as_of) == []  # nothing is read twice
    counts = [m for m in ctx.store.metrics("bot", metric="request_count") if m["cohort"] == "*"]
    assert sum(m["n"] for m in counts) == 600
    ctx.close()


def test_rerunning_a_window_replaces_its_results(ctx):
    monitor = ctx.config.monitors.monitors[0]
    window = Window(T0, T0 + H)
    run_window(ctx, monitor, window)
    first = _snapshot(ctx)
    again = run_window(ctx, monitor, window)
    assert again.status == "succeeded"
    assert _snapshot(ctx) == first
    runs = ctx.store.runs("bot")
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]


def test_late_rows_reopen_their_window_and_are_counted_once(tmp_path):
    frame = make_requests()
    ctx = _ctx(tmp_path, frame=frame)
    monitor = ctx.config.monitors.monitors[0]
    as_of = T0 + 3 * H + timedelta(minutes=30)
    for window in plan_windows(ctx, monitor, as_of):
        run_window(ctx, monitor, window, as_of=as_of)
    # Two rows of the first hour arrive late (ingested after the window was processed).
    late = frame.head(2).copy()
    late["request_id"] = ["late1", "late2"]
    late["ingested_at"] = pd.Timestamp((T0 + 3 * H + timedelta(minutes=40)).replace(tzinfo=None))
    ctx.release_warehouse()  # the read-only reader lets go of the DuckDB file for the writer
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    write_table(engine, pd.concat([frame, late], ignore_index=True))
    engine.dispose()
    later = T0 + 3 * H + timedelta(minutes=50)
    assert plan_windows(ctx, monitor, later) == [Window(T0, T0 + H)]
    result = run_window(ctx, monitor, Window(T0, T0 + H), as_of=later)
    first_hour = int((frame.event_time < pd.Timestamp((T0 + H).replace(tzinfo=None))).sum())
    assert result.rows == first_hour + 2
    assert plan_windows(ctx, monitor, later) == []
    counts = [m for m in ctx.store.metrics("bot", metric="request_count") if m["cohort"] == "*"]
    assert sum(m["n"] for m in counts) == 602
    ctx.close()


@pytest.mark.parametrize("stage", ["check", "validate", "ops", "alerts", "commit"])
def test_a_crash_before_any_stage_leaves_the_previous_state_intact(tmp_path, stage):
    ctx = _ctx(tmp_path, threshold=0.01)  # low threshold: alerts open on the first run
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    before = _snapshot(ctx)
    assert before["alerts"] and before["outbox"]

    def crash(name: str) -> None:
        if name == stage:
            raise RuntimeError(f"injected crash before {name}")

    ctx.before_stage = crash
    for window in (Window(T0, T0 + H), Window(T0 + H, T0 + 2 * H)) * 2:  # each fails twice
        result = run_window(ctx, monitor, window)
        assert result.status == "failed"
        assert f"injected crash before {stage}" in (result.error or "")
    after = _snapshot(ctx)
    notices = [row for row in after["outbox"] if row[1] == "failure"]
    after["outbox"] = [row for row in after["outbox"] if row[1] != "failure"]
    assert after == before  # results, alerts, outbox and watermark untouched...
    # ...and the owner hears once, however many windows fail how often with the same error
    # (a second notice of it waits a day: `window_commit._said_today`)
    assert len(notices) == 1 and "injected crash" in str(notices[0])
    assert ctx.store.watermark("bot") == T0 + H
    failed = [r for r in ctx.store.runs("bot") if r["status"] == "failed"]
    assert len(failed) == 4 and all("injected" in r["error"] for r in failed)
    # The failed window is planned again next time; the crash is over.
    ctx.before_stage = None
    assert Window(T0 + H, T0 + 2 * H) in plan_windows(ctx, monitor, T0 + 3 * H)
    ctx.close()


def test_a_gap_holds_the_watermark_until_it_is_filled(ctx):
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    run_window(ctx, monitor, Window(T0 + 2 * H, T0 + 3 * H))
    assert ctx.store.watermark("bot") == T0 + H
    assert plan_windows(ctx, monitor, T0 + 4 * H) == [Window(T0 + H, T0 + 2 * H)]
    run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))
    assert ctx.store.watermark("bot") == T0 + 3 * H


def test_alerts_open_once_per_fingerprint_and_message_on_open_and_resolve(tmp_path):
    frame = make_requests()
    # every group on its own (the fold of cohorts into their release has tests of its own)
    ctx = unfolded(_ctx(tmp_path, threshold=0.03, frame=frame))
    monitor = ctx.config.monitors.monitors[0]
    as_of = T0 + 4 * H
    for window in plan_windows(ctx, monitor, as_of):
        run_window(ctx, monitor, window, as_of=as_of)
    alerts = ctx.store.alerts("bot")
    # Expected, computed independently: any hour where a (release, '*' or region) group has
    # n >= 20 and an error rate > 3% opens one alert for that group, however many hours breach;
    # it is resolved when a later hour with enough data is back under the threshold.
    frame = frame.assign(
        release=frame.model_version + "@" + frame.prompt_version,
        hour=frame.event_time.dt.floor("h"),
        error=frame.status != "ok",
    )
    expected: dict[tuple[str, str], str] = {}
    for cohort_key in (None, "region"):
        keys = ["release", "hour"] + ([cohort_key] if cohort_key else [])
        for key, group in frame.groupby(keys):  # hours in order within each group
            label = (key[0], f"region={key[2]}" if cohort_key else "*")
            if len(group) < 20:
                continue
            if group.error.mean() > 0.03:
                expected[label] = "firing"
            elif label in expected:
                expected[label] = "resolved"
    assert len(expected) >= 3 and "firing" in expected.values()
    assert {(a.release, a.cohort): a.state for a in alerts} == expected
    outbox = [row for row in ctx.store.outbox() if row.kind != "group"]
    opened = [row for row in outbox if row.kind == "open"]
    assert len(opened) == len(alerts)  # one opening message per alert
    resolved = [a for a in alerts if a.state == "resolved"]
    # a resolved alert gets a reply in its thread, and an update of its first message unless
    # that was a grouped message (it also speaks of alerts that still fire)
    grouped = {r.fingerprint for r in opened if r.group_id is not None}
    assert sorted(row.kind for row in outbox if row.kind != "open") == sorted(
        ["resolve"] * len(resolved)
        + ["update"] * len([a for a in resolved if a.fingerprint not in grouped])
    )
    roots = {r.fingerprint: r.message_id for r in opened}
    for row in outbox:
        if row.kind != "open":
            assert row.fingerprint in {a.fingerprint for a in resolved}
            assert row.payload["title"].startswith("[RESOLVED]")
            # explicit references: the reply threads under, the update edits, its own opening
            assert (row.reply_to or row.edits) == roots[row.fingerprint]
    ctx.close()


@pytest.mark.postgres
def test_postgres_results_store_round_trip(tmp_path, pg_database):
    ctx = _ctx(tmp_path, store=pg_database, threshold=0.01)
    monitor = ctx.config.monitors.monitors[0]
    as_of = T0 + 4 * H
    for window in plan_windows(ctx, monitor, as_of):
        assert run_window(ctx, monitor, window, as_of=as_of).status == "succeeded"
    before = _snapshot(ctx)
    run_window(ctx, monitor, Window(T0, T0 + H), as_of=as_of)
    assert _snapshot(ctx) == before
    assert ctx.store.watermark("bot") == T0 + 3 * H
    ctx.close()


def test_a_window_run_asks_the_warehouse_for_its_releases_once(tmp_path, monkeypatch):
    """Validation and metrics (`auto`: by the window's size) and drift (its batches) all need
    the window's releases: one GROUP BY per run, not three; a re-run asks again (rows may have
    arrived since), and outside a run every call asks."""
    from lookout.sources.validation_reads import ValidationReads

    asked: list[Window] = []
    original = ValidationReads._release_values

    def counting(self, monitor, window):
        asked.append(window)
        return original(self, monitor, window)

    monkeypatch.setattr(ValidationReads, "_release_values", counting)
    ctx = _ctx(tmp_path)  # pushdown auto: the metrics weigh the window too
    try:
        monitor = ctx.config.monitors.monitors[0]
        window = Window(T0, T0 + timedelta(hours=1))
        for _ in range(2):
            assert run_window(ctx, monitor, window).status == "succeeded"
        assert asked == [window, window]
        releases = ctx.warehouse.release_values(monitor, window)
        assert {label for label, _, _ in releases} == {"m1@p1", "m2@p2"}
        assert len(asked) == 3
    finally:
        ctx.close()

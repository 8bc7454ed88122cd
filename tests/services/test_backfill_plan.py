"""Backfill planning shared by the flow and the command line: which windows run, how many are
skipped as stored, and how the outcome reads (against a real SQLite results store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import T0, duckdb_project
from tests.test_pipeline import _ctx

from lookout.pipeline import run_window
from lookout.services.backfill import (
    BackfillOutcome,
    check_range,
    plan_backfill,
    waiting_windows,
)
from lookout.windows import Window

H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_stored_windows_are_skipped_and_counted_unless_forced(tmp_path):
    ctx = _ctx(tmp_path)
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))
    as_of = T0 + 30 * H
    plan = plan_backfill(ctx.store, [monitor], T0, T0 + 3 * H, as_of, force=False)
    assert [w.start for _, w in plan.jobs] == [T0, T0 + 2 * H]
    assert plan.skipped == {"bot": 1} and plan.skipped_total == 1
    forced = plan_backfill(ctx.store, [monitor], T0, T0 + 3 * H, as_of, force=True)
    assert len(forced.jobs) == 3 and forced.skipped_total == 0
    # windows not complete at as_of (grace 10m) are not planned, nor counted as skipped
    early = plan_backfill(ctx.store, [monitor], T0, T0 + 3 * H, T0 + 2 * H, force=False)
    assert [w.start for _, w in early.jobs] == [T0] and early.skipped_total == 0
    ctx.close()


def test_windows_of_the_range_not_complete_yet_are_named_with_when_they_are_runnable(tmp_path):
    ctx = _ctx(tmp_path)
    monitor = ctx.config.monitors.monitors[0]  # 1h windows, grace 10m
    # at 03:05 the 02:00-03:00 window ended but its grace runs to 03:10: not planned
    plan = plan_backfill(ctx.store, [monitor], T0, T0 + 3 * H, T0 + 3 * H + 5 * M, force=False)
    ctx.close()
    assert [w.start for _, w in plan.jobs] == [T0, T0 + H]
    [waiting] = plan.waiting
    assert (waiting.count, waiting.first, waiting.last) == (
        1,
        *[Window(T0 + 2 * H, T0 + 3 * H)] * 2,
    )
    outcome = BackfillOutcome(run=2, skipped=0, rows=400, waiting=plan.waiting)
    assert outcome.describe() == (
        "2 window(s) run, 0 skipped, 0 failed, 400 rows; not run yet: bot 2026-11-02 "
        "02:00–03:00 UTC is still in its grace period (window.grace 10m, for late-arriving "
        "rows): runnable from 2026-11-02 03:10 UTC"
    )
    # a range reaching ahead: counted, not listed (the first and the last runnable times)
    ahead = waiting_windows(monitor, T0, T0 + 30 * 24 * H, T0 + 3 * H + 5 * M)
    assert ahead is not None and ahead.count == 30 * 24 - 2
    assert ahead.describe() == (
        "bot 718 windows 2026-11-02 02:00–2026-12-02 00:00 UTC are not complete yet "
        "(window.grace 10m, for late-arriving rows): runnable from 2026-11-02 03:10 UTC, the "
        "last from 2026-12-02 00:10 UTC"
    )
    assert waiting_windows(monitor, T0, T0 + 3 * H, T0 + 4 * H) is None  # all complete


def test_the_outcome_reads_the_same_wherever_it_is_shown():
    done = BackfillOutcome(run=2, skipped=0, failed=(), rows=1200)
    assert done.describe() == "2 window(s) run, 0 skipped, 0 failed, 1,200 rows"
    skipped = BackfillOutcome(run=0, skipped=24, failed=("bot 2026-11-02T00:00Z/1h",))
    assert skipped.describe(force_hint="--force recomputes them") == (
        "0 window(s) run, 24 skipped because their results are already stored "
        "(--force recomputes them), 1 failed, 0 rows"
    )


def test_a_range_is_checked_for_every_monitor(tmp_path):
    monitor = duckdb_project(tmp_path).monitors.monitors[0]
    now = T0 + 400 * 24 * H
    check_range([monitor], T0, T0 + 24 * H, now)  # fine
    with pytest.raises(ValueError, match="must be after start"):
        check_range([monitor], T0, T0, now)
    with pytest.raises(ValueError, match="lies before it"):
        check_range([monitor], T0 - 48 * H, T0 - 24 * H, now)
    with pytest.raises(ValueError, match=r"more than window\.max_backfill_windows"):
        check_range([monitor], T0, T0 + 365 * 24 * H, now)


def test_a_listener_that_fails_never_fails_the_run(caplog):
    from lookout.services.backfill import BackfillPlan, announce, listening

    class Broken:
        def planned(self, plan):
            raise RuntimeError("terminal gone")

        progressed = finished = planned

    announce().planned(BackfillPlan())  # nobody listens: nothing happens
    with listening(Broken()):
        announce().planned(BackfillPlan())
        announce().finished(BackfillOutcome(run=0, skipped=0))
    assert "backfill listener failed (planned)" in caplog.text
    assert "backfill listener failed (finished)" in caplog.text

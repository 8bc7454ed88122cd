"""Monitoring the monitor: no data, judge errors and failed windows reach the owner."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.runtime.catchup import may_page
from lookout.windows import Window

H = timedelta(hours=1)


def _ctx(tmp_path, health: str) -> Context:
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, make_requests(hours=3))
    engine.dispose()
    write_config(tmp_path / "cfg", warehouse=warehouse, store=f"sqlite:///{tmp_path / 'r.sqlite'}")
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.write_text(
        monitors.read_text().replace("    rules:\n", f"    health: {health}\n    rules:\n")
    )
    return Context.from_config(load_config(tmp_path / "cfg" / "profiles.yml", monitors))


def test_a_window_below_the_fixed_floor_opens_min_rows_for_the_owner_once(tmp_path):
    ctx = _ctx(tmp_path, "{min_rows: 50}")
    monitor = ctx.config.monitors.monitors[0]
    as_of = T0 + 6 * H
    assert run_window(ctx, monitor, Window(T0 + 2 * H, T0 + 3 * H), as_of=as_of).rows > 150
    assert [a.rule for a in ctx.store.alerts("bot")] == []
    empty = run_window(ctx, monitor, Window(T0 + 3 * H, T0 + 4 * H), as_of=as_of)
    assert empty.status == "succeeded" and empty.rows == 0
    [alert] = ctx.store.alerts("bot")
    assert (alert.rule, alert.release, alert.cohort, alert.owner) == ("min_rows", "*", "*", "team")
    assert alert.value == 0 and alert.severity == "P1"
    run_window(ctx, monitor, Window(T0 + 4 * H, T0 + 5 * H), as_of=as_of)
    messages = [m for m in ctx.store.outbox() if m.fingerprint == alert.fingerprint]
    assert [m.kind for m in messages] == ["open"]  # still firing: no second message
    assert (
        "window_rows" in str(messages[0].payload)
        and ["slack_user", "U0TEAM01"] in messages[0].payload["mentions"]
    )
    ctx.close()


def test_no_health_rules_unless_asked(tmp_path):
    ctx = _ctx(tmp_path, "{min_rows: null}")
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0 + 3 * H, T0 + 4 * H), as_of=T0 + 6 * H)
    assert ctx.store.alerts("bot") == []
    ctx.close()


def _seed_history(ctx: Context, rows_by_hour: dict[int, int], days: int, before) -> None:
    """Stored windows of the `days` days before `before`, with the rows of each hour of day."""
    import uuid

    from lookout.store.results import WindowCommit

    for day in range(days, 0, -1):
        for hour, rows in rows_by_hour.items():
            start = before - day * 24 * H + hour * H
            window = Window(start, start + H)
            ctx.store.commit_window(
                WindowCommit(
                    run_id=uuid.uuid4().hex,
                    monitor="bot",
                    window=window,
                    started_at=start,
                    finished_at=start,
                    rows_read=rows,
                    metric_path="pandas",
                    metrics=[],
                    initial_frontier=before - days * 24 * H,
                )
            )


def test_no_data_knows_the_time_of_day(tmp_path):
    """A quiet night hour with a few rows is normal; a daytime hour with none is an incident:
    judged against the same hours of the days before, not a fixed floor."""
    ctx = _ctx(tmp_path, "{no_data: true}")
    monitor = ctx.config.monitors.monitors[0]
    day = T0 + 3 * H  # the warehouse holds T0..T0+3h; later hours are empty
    # history: nights (hour 3 of the day) hold ~4 rows, afternoons (hour 4) ~60
    _seed_history(ctx, {3: 4, 4: 60, 5: 55}, days=4, before=day - 3 * H)
    night = run_window(ctx, monitor, Window(day, day + H), as_of=day + 3 * H)
    assert night.status == "succeeded" and night.rows == 0
    assert ctx.store.alerts("bot") == []  # 0 rows where ~4 are expected: an ordinary night
    gap = run_window(ctx, monitor, Window(day + H, day + 2 * H), as_of=day + 3 * H)
    assert gap.rows == 0
    [alert] = ctx.store.alerts("bot")
    assert (alert.rule, alert.state, alert.severity) == ("no_data", "firing", "P1")
    # n: the rows expected; before a week of history, half the quietest same hour (60)
    assert alert.value == 0 and alert.n == 30
    [message] = [m for m in ctx.store.outbox() if m.fingerprint == alert.fingerprint]
    assert "traffic_ratio" in str(message.payload)
    # the rows, not `n=30`, which read as 30 rows seen in a window that held none
    assert "0.00x < 0.50x (0 rows where the same hours usually hold 30)" in str(message.payload)
    ctx.close()


def test_no_data_waits_for_history_and_can_be_switched_off(tmp_path):
    ctx = _ctx(tmp_path, "{no_data: true}")
    monitor = ctx.config.monitors.monitors[0]
    day = T0 + 3 * H
    _seed_history(ctx, {4: 60}, days=2, before=day - 3 * H)  # two days: not enough
    run_window(ctx, monitor, Window(day + H, day + 2 * H), as_of=day + 3 * H)
    assert ctx.store.alerts("bot") == []
    ctx.close()
    (tmp_path / "off").mkdir()
    off = _ctx(tmp_path / "off", "{no_data: false}")
    _seed_history(off, {4: 60}, days=4, before=day - 3 * H)
    run_window(
        off, off.config.monitors.monitors[0], Window(day + H, day + 2 * H), as_of=day + 3 * H
    )
    assert off.store.alerts("bot") == []
    off.close()


def test_three_empty_night_hours_where_a_few_rows_are_usual_open_no_data(tmp_path):
    """Nights hold ~6 rows an hour (an expectation of 3 before a week of history): one empty
    night hour is ordinary, three in a row are a dead feed (0 of 9)."""
    ctx = _ctx(tmp_path, "{no_data: true}")
    monitor = ctx.config.monitors.monitors[0]
    day = T0 + 3 * H  # the warehouse holds T0..T0+3h; later hours are empty
    _seed_history(ctx, {h: 6 for h in range(3, 7)}, days=4, before=day - 3 * H)
    opened = []
    for k in range(3):
        result = run_window(ctx, monitor, Window(day + k * H, day + (k + 1) * H), as_of=day + 4 * H)
        assert result.status == "succeeded" and result.rows == 0
        opened += [k] * len(result.alerts_opened)
    assert opened == [2]
    [alert] = ctx.store.alerts("bot")
    assert (alert.rule, alert.value, alert.n) == ("no_data", 0, 9)
    ctx.close()


def test_a_dead_feed_found_by_a_catch_up_is_announced_in_the_windows_that_page(tmp_path):
    """The feed died a day before the run: no_data opens in a quiet (catch-up) window; a day
    of empty windows wears the expectation down to nothing, so the windows that page do not
    evaluate it. It was stored as firing, the run said "announced", and nobody was paged."""
    ctx = _ctx(tmp_path, "{no_data: true}")
    monitor = ctx.config.monitors.monitors[0]
    day = T0 + 3 * H
    _seed_history(ctx, {h: 60 for h in range(24)}, days=4, before=day)
    as_of = day + 30 * H
    for k in range(30):
        window = Window(day + k * H, day + (k + 1) * H)
        pages = may_page(monitor, window, as_of, notify_within=2)  # as the flows decide
        result = run_window(ctx, monitor, window, as_of=as_of, notify=pages)
        assert result.status == "succeeded"
        assert pages == (k >= 28)
    [alert] = ctx.store.alerts("bot")
    assert (alert.rule, alert.state, alert.first_window_start) == ("no_data", "firing", day)
    [message] = [m for m in ctx.store.outbox() if m.fingerprint == alert.fingerprint]
    assert message.kind == "open"
    assert "traffic_ratio" in str(message.payload)
    ctx.close()


def test_a_slow_hour_is_not_a_gap_and_a_third_of_the_usual_traffic_is(tmp_path):
    """An hour's rate varies beyond Poisson chance: 200 rows where 520 are usual (0.38) is a
    slow hour; it paged P1, decided on a binomial bound of "rows of the expected" (0.43) and
    not on the count's own interval (about 0.28-0.55 now). 200 where 715 are usual (0.28)
    pages."""
    ctx = _ctx(tmp_path, "{no_data: true}")
    monitor = ctx.config.monitors.monitors[0]
    # before a week of history, half the quietest same hour stands in: 520, then 715
    _seed_history(ctx, {0: 1040, 1: 1430}, days=4, before=T0)
    slow = run_window(ctx, monitor, Window(T0, T0 + H), as_of=T0 + 3 * H)
    assert 190 <= slow.rows <= 210 and ctx.store.alerts("bot") == []
    [ratio] = ctx.store.metrics("bot", metric="traffic_ratio")
    assert ratio["n"] == 520 and ratio["ci_low"] < ratio["value"] < 0.5 < ratio["ci_high"]
    short = run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H), as_of=T0 + 3 * H)
    assert 190 <= short.rows <= 210
    [alert] = ctx.store.alerts("bot")
    assert (alert.rule, alert.state, alert.n) == ("no_data", "firing", 715)
    ctx.close()

"""Monitoring the monitor: no data, judge errors and failed windows reach the owner."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
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
    assert [m.kind for m in messages] == ["alert_opened"]  # still firing: no second message
    assert (
        "window_rows" in str(messages[0].payload) and "<@U0TEAM01>" in messages[0].payload["text"]
    )
    ctx.close()


def test_no_health_rules_unless_asked(tmp_path):
    ctx = _ctx(tmp_path, "{min_rows: null}")
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0 + 3 * H, T0 + 4 * H), as_of=T0 + 6 * H)
    assert ctx.store.alerts("bot") == []
    ctx.close()

"""Alerts that cannot resolve on data: a release that stops getting traffic resolves as stale,
and records without release fields raise a data-quality alert about the monitor that resolves
when they stop. Through `run_window` on a DuckDB warehouse and a SQLite results store."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.reports.site import refresh_site
from lookout.windows import Window

H = timedelta(hours=1)

DATA_QUALITY = """      - name: data_quality
        metric: validation_failed_expectations
        op: ">"
        threshold: 0
        severity: P1
        owner: team
"""


def _hour(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["event_time"] - pd.Timestamp(T0.replace(tzinfo=None))) // pd.Timedelta(H)).values


def _ctx(tmp_path, frame: pd.DataFrame, *, rules: str = "", alerting: str = "") -> Context:
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, frame)
    engine.dispose()
    write_config(tmp_path / "cfg", warehouse=warehouse, store=f"sqlite:///{tmp_path / 'r.sqlite'}")
    monitors = tmp_path / "cfg" / "monitors.yml"
    text = monitors.read_text().replace("    rules:\n", "    rules:\n" + rules)
    monitors.write_text(alerting + text)
    return Context.from_config(load_config(tmp_path / "cfg" / "profiles.yml", monitors))


def _run(ctx: Context, hours: range) -> list:
    monitor = ctx.config.monitors.monitors[0]
    out = []
    for hour in hours:
        window = Window(T0 + hour * H, T0 + (hour + 1) * H)
        result = run_window(ctx, monitor, window, as_of=T0 + 8 * H)
        assert result.status == "succeeded", result.error
        out.append(result)
    return out


def test_an_alert_on_a_release_that_stops_getting_traffic_resolves_as_stale(tmp_path):
    frame = make_requests(hours=7)
    hour = _hour(frame)
    m2 = frame["model_version"] == "m2"
    rng = np.random.default_rng(3)
    frame.loc[m2 & (hour == 1) & (rng.random(len(frame)) < 0.6), "status"] = "error"
    frame = frame[~(m2 & (hour >= 2))].reset_index(drop=True)  # m2 retired after hour 1
    ctx = _ctx(tmp_path, frame, alerting="alerting:\n  stale_after: 3h\n")
    results = _run(ctx, range(7))
    firing = {a.fingerprint: a for a in ctx.store.alerts("bot") if a.release == "m2@p2"}
    assert firing and all(a.state == "resolved" for a in firing.values())
    # windows 2..3 still pool m2's last records (breaching); window 4 ends 3h after them
    assert all(not r.alerts_resolved for r in results[2:4])
    assert set(results[4].alerts_resolved) == set(firing)
    stale = [m for m in ctx.store.outbox() if m.kind == "stale"]
    assert {m.fingerprint for m in stale} == set(firing)
    overall = next(m for m in stale if m.payload["alert"][4] == "*")
    assert overall.payload["title"].startswith("[STALE] [P1] bot: errors")
    assert (
        "no data for release m2@p2, all traffic since 2026-11-02 02:00 UTC"
        in (overall.payload["summary"])
    )
    assert overall.reply_to is not None  # in the thread of its opening
    events = ctx.store.history.events(monitor="bot")
    ended = [e for e in events if e.event == "stale"]
    assert {e.fingerprint for e in ended} == set(firing)
    assert all(e.note == "no data since 2026-11-02 02:00 UTC" and e.notified for e in ended)
    [stats] = ctx.store.history.stats(monitor="bot")
    assert stats.stale == len(firing) and stats.firing == 0
    # nothing more about them afterwards
    _run(ctx, range(7, 8))
    assert len([m for m in ctx.store.outbox() if m.kind == "stale"]) == len(stale)
    # the release timeline the hourly flow refreshes shows m2 as retired, m1 not
    monitor = ctx.config.monitors.monitors[0]
    refresh_site(ctx.store, ctx.out_dir, [monitor], T0 + 9 * H, timedelta(hours=3))
    page = (ctx.out_dir / "reports" / "bot" / "releases.html").read_text()
    rows = {row.split("</code>")[0]: row for row in page.split("<td><code>")[1:]}
    assert "retired" in rows["m2@p2"] and "retired" not in rows["m1@p1"]
    ctx.close()


PERSISTENT = """      - name: errors_twice
        metric: error_rate
        op: ">"
        threshold: 0.2
        over: 1h
        min_n: 20
        for: 2
        significance: false
        severity: P1
        owner: team
        split_by: ["*"]
"""


def test_a_pending_alert_whose_scope_goes_quiet_clears_and_a_later_breach_starts_over(tmp_path):
    """`for: 2` means two breaching evaluations in a row: one breach, then four hours without
    the release's records, then another breach is not a pair. The pending alert clears once
    `stale_after` passes without a breach, unannounced, and the later breach is pending again."""
    frame = make_requests(hours=7)
    hour = _hour(frame)
    m2 = frame["model_version"] == "m2"
    rng = np.random.default_rng(3)
    frame.loc[m2 & (hour >= 1) & (rng.random(len(frame)) < 0.6), "status"] = "error"
    frame = frame[~(m2 & (hour >= 2) & (hour <= 5))].reset_index(drop=True)  # m2 away 2..5
    ctx = _ctx(tmp_path, frame, rules=PERSISTENT, alerting="alerting:\n  stale_after: 3h\n")
    _run(ctx, range(4))
    [pending] = [a for a in ctx.store.alerts("bot") if a.rule == "errors_twice"]
    assert (pending.state, pending.breaches, pending.release) == ("pending", 1, "m2@p2")
    _run(ctx, range(4, 5))  # ends 3h after m2's breaching hour
    [cleared] = [a for a in ctx.store.alerts("bot") if a.rule == "errors_twice"]
    assert (cleared.state, cleared.breaches) == ("inactive", 0)
    events = [e for e in ctx.store.history.events(monitor="bot") if e.rule == "errors_twice"]
    assert [e.event for e in events] == ["pending", "cleared"]
    assert events[1].note == "no breach since 2026-11-02 02:00 UTC" and not events[1].notified
    _run(ctx, range(5, 7))  # m2 is back at hour 6, breaching: one breach, not a second
    [again] = [a for a in ctx.store.alerts("bot") if a.rule == "errors_twice"]
    assert (again.state, again.breaches, again.first_window_start) == ("pending", 1, T0 + 6 * H)
    assert not [
        m for m in ctx.store.outbox() if (m.payload.get("alert") or [None] * 3)[2] == "errors_twice"
    ]
    ctx.close()


def test_a_release_with_data_never_goes_stale(tmp_path):
    frame = make_requests(hours=6)
    hour = _hour(frame)
    rng = np.random.default_rng(3)
    frame.loc[(hour >= 1) & (rng.random(len(frame)) < 0.6), "status"] = "error"  # all along
    ctx = _ctx(tmp_path, frame, alerting="alerting:\n  stale_after: 2h\n")
    _run(ctx, range(6))
    alerts = ctx.store.alerts("bot")
    assert alerts and all(a.state == "firing" for a in alerts)
    assert not [m for m in ctx.store.outbox() if m.kind == "stale"]
    ctx.close()


def test_null_release_fields_alert_the_monitor_and_resolve_when_they_stop(tmp_path):
    frame = make_requests(hours=5)
    hour = _hour(frame)
    bug = (hour >= 1) & (hour < 3) & (frame["model_version"] == "m1")  # a logging bug, 2 hours
    frame["prompt_version"] = frame["prompt_version"].astype(object)
    frame.loc[bug, "prompt_version"] = None
    ctx = _ctx(tmp_path, frame, rules=DATA_QUALITY)
    results = _run(ctx, range(5))
    assert "m1@(null)" in results[1].releases  # the records are kept and counted
    alerts = ctx.store.alerts("bot")
    assert not [a for a in alerts if "(null)" in a.release]  # never a phantom release
    [dq] = [a for a in alerts if a.rule == "data_quality"]
    assert (dq.release, dq.cohort, dq.state) == ("*", "*", "resolved")
    [episode] = ctx.store.history.episodes(monitor="bot", rule="data_quality")
    assert (episode.first_breach, episode.closed, episode.ended_by) == (
        T0 + H,
        T0 + 4 * H,  # the first window without NULL-release rows resolves it
        "resolve",
    )
    [opened] = [
        m for m in ctx.store.outbox() if m.fingerprint == dq.fingerprint and m.kind == "open"
    ]
    summary = opened.payload["summary"]
    assert "records with NULL release fields (model_version=m1, prompt_version NULL:" in summary
    assert "not_null_prompt_version" in summary
    facts = dict(opened.payload["facts"])
    assert facts["Release"] == "*" and "model_version=m1" in facts["Rows without a release"]
    ctx.close()


def test_a_bad_stale_after_or_notify_within_names_the_key(tmp_path):
    import pytest

    from lookout.errors import ConfigError

    for bad, key in (
        ("stale_after: 0h", "alerting.stale_after"),
        ("notify_within: 0", "alerting.notify_within"),
    ):
        directory = tmp_path / key
        write_config(directory, warehouse="duckdb:///x.duckdb", store="sqlite:///x.sqlite")
        monitors = directory / "monitors.yml"
        monitors.write_text(f"alerting:\n  {bad}\n" + monitors.read_text())
        with pytest.raises(ConfigError) as raised:
            load_config(directory / "profiles.yml", monitors)
        assert "monitors.yml:2:" in str(raised.value) and key in str(raised.value)


def test_a_condition_that_comes_and_goes_holds_its_alert_instead_of_paging_each_return(tmp_path):
    """A few rows an hour with a NULL prompt version, some hours none: the data-quality alert
    opened and resolved with every such hour (21 episodes in four days of a user's table).
    A reopen within a day of its resolve doubles the normal time the next resolve needs."""
    frame = make_requests(hours=9)
    hour = _hour(frame)
    bug = np.isin(hour, [0, 2, 4]) & (frame["model_version"] == "m1")
    frame["prompt_version"] = frame["prompt_version"].astype(object)
    frame.loc[bug, "prompt_version"] = None
    ctx = _ctx(tmp_path, frame, rules=DATA_QUALITY)
    _run(ctx, range(9))
    [dq] = [a for a in ctx.store.alerts("bot") if a.rule == "data_quality"]
    events = [
        (e.event, int((e.window_start - T0) / H))
        for e in ctx.store.history.events(monitor="bot")
        if e.fingerprint == dq.fingerprint and e.event != "firing"
    ]
    # resolves at 1; reopens at 2 (a flap): the hour after it holds, 4 breaches again (no
    # new page), and it resolves 2 hours after that breach
    assert events == [("open", 0), ("resolve", 1), ("reopen", 2), ("resolve", 6)]
    assert (dq.state, dq.flaps) == ("resolved", 1)  # kept in the store for the next reopen
    kinds = [m.kind for m in ctx.store.outbox() if m.fingerprint == dq.fingerprint]
    # two pages and their resolves (each resolve also edits the opening: `update`)
    assert [k for k in kinds if k != "update"] == ["open", "resolve", "reopen", "resolve"]
    ctx.close()

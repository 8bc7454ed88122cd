"""Alert history through the real path: windows run by `run_window` on a DuckDB warehouse,
transitions stored in the results store, read back by `lookout alerts history` and `stats`
(the real CLI through typer's runner)."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config
from lookout.notify.delivery import deliver, make_channels
from lookout.pipeline import Context, run_window
from lookout.store.history import HistoryEvent, episodes_of
from lookout.windows import Window

H = timedelta(hours=1)


def _flapping(hours: int = 5) -> pd.DataFrame:
    """Errors at 50% in hours 1 and 3 (5% otherwise): open, resolve, reopen, resolve."""
    frame = make_requests(hours=hours)
    hour = ((frame["event_time"] - pd.Timestamp(T0.replace(tzinfo=None))) // pd.Timedelta(H)).values
    rng = np.random.default_rng(7)
    bad = np.isin(hour, [1, 3]) & (rng.random(len(frame)) < 0.5)
    frame.loc[bad, "status"] = "error"
    return frame


def _project(tmp_path) -> Context:
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _flapping())
    engine.dispose()
    write_config(tmp_path / "cfg", warehouse=warehouse, store=f"sqlite:///{tmp_path / 'r.sqlite'}")
    # resolve at the first normal window, reopen or not (no flap hold): two short episodes
    monitors = tmp_path / "cfg" / "monitors.yml"
    text = monitors.read_text()
    monitors.write_text(
        text.replace("        for: 1\n", "        for: 1\n        keep_firing_for: 0s\n")
    )
    return Context.from_config(load_config(tmp_path / "cfg" / "profiles.yml", monitors))


def _run(ctx: Context, hours: range) -> None:
    monitor = ctx.config.monitors.monitors[0]
    for hour in hours:
        window = Window(T0 + hour * H, T0 + (hour + 1) * H)
        result = run_window(ctx, monitor, window, as_of=T0 + 6 * H)
        assert result.status == "succeeded", result.error


def test_a_reopen_keeps_the_first_episode_and_stats_count_them(tmp_path):
    ctx = _project(tmp_path)
    _run(ctx, range(5))
    alerts = {a.fingerprint: a for a in ctx.store.alerts("bot")}
    overall = next(a for a in alerts.values() if (a.release, a.cohort) == ("m1@p1", "*"))
    # the alerts row only knows the latest episode...
    assert overall.first_window_start == T0 + 3 * H and overall.state == "resolved"
    # ...the history keeps both
    episodes = ctx.store.history.episodes(monitor="bot", rule="errors")
    mine = [e for e in episodes if e.fingerprint == overall.fingerprint]
    assert [(e.first_breach, e.opened, e.closed, e.ended_by, e.reopen) for e in mine] == [
        (T0 + H, T0 + 2 * H, T0 + 3 * H, "resolve", False),
        (T0 + 3 * H, T0 + 4 * H, T0 + 5 * H, "resolve", True),
    ]
    assert all(e.peak > 0.2 and e.n >= 20 for e in mine)
    assert len(episodes) == 2 * len(alerts)  # every alert of the rule: two episodes
    events = ctx.store.history.events(fingerprints=[overall.fingerprint])
    assert [e.event for e in events] == ["open", "resolve", "reopen", "resolve"]
    assert events[1].value < 0.2 and events[0].threshold == 0.2

    # a re-run of a window replaces its history rows, never doubles them
    _run(ctx, range(4, 5))
    assert len(ctx.store.history.events(fingerprints=[overall.fingerprint])) == 4

    # deliver (file outbox): pages sent come from the outbox
    channels = make_channels(ctx.config.target, ctx.out_dir, ctx.config.monitors.owners)
    deliver(ctx.store.outbox_repo, channels)
    sent = [
        r
        for r in ctx.store.outbox(status="sent")
        if r.fingerprint in alerts and r.kind in ("open", "reopen", "resolve")
    ]
    [stats] = ctx.store.history.stats(monitor="bot")
    assert (stats.rule, stats.episodes, stats.firing, stats.stale) == (
        "errors",
        len(episodes),
        0,
        0,
    )
    assert stats.detect_median == H and stats.resolve_median == H
    assert stats.pages == len(sent) > 0
    ctx.close()

    runner = CliRunner()
    cfg = tmp_path / "cfg"
    base = [
        "alerts",
        "--profiles",
        str(cfg / "profiles.yml"),
        "--monitors",
        str(cfg / "monitors.yml"),
    ]
    shown = runner.invoke(
        app, [*base, "history", "--rule", "errors", "--cohort", "*", "--format", "json"]
    )
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    assert len(rows) == 4 and {r["cohort"] for r in rows} == {"*"}  # 2 releases x 2 episodes
    first = next(r for r in rows if r["fingerprint"] == overall.fingerprint)
    assert first["first_breach"] == "2026-11-02T01:00:00Z" and first["ended_by"] == "resolve"
    assert [e["event"] for e in first["events"]] == ["open", "resolve"]
    assert first["time_to_detect_s"] == 3600 and first["paged"] is True

    later = runner.invoke(
        app, [*base, "history", "--since", "2026-11-02T04:30", "--format", "json"]
    )
    assert later.exit_code == 0, later.output
    assert {r["opened"] for r in json.loads(later.output)} == {"2026-11-02T04:00:00Z"}

    table = runner.invoke(app, [*base, "history", "--monitor", "bot"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "m1@p1" in table.output and "(reopen)" in table.output

    summary = runner.invoke(app, [*base, "stats", "--format", "json"])
    assert summary.exit_code == 0, summary.output
    [row] = json.loads(summary.output)
    assert row["episodes"] == len(episodes) and row["pages"] == len(sent)
    assert row["detect_median_s"] == 3600 and row["resolve_max_s"] == 3600
    assert "errors" in runner.invoke(app, [*base, "stats", "--since", "30d"]).output

    bad = runner.invoke(app, [*base, "history", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "--since" in bad.output


def _event(kind: str, hour: int, severity: str = "P1") -> HistoryEvent:
    start = T0 + hour * H
    return HistoryEvent(
        "f", "bot", "errors", "m1@p1", "*", "error_rate", kind, severity, start, start + H,
        0.5, 50, 0.2, None, T0, start + H, True,
    )  # fmt: skip


def test_episodes_of_cuts_an_open_without_its_close():
    events = [_event("reopen", 4), _event("open", 1), _event("escalate", 2, severity="P0")]
    first, second = episodes_of(events)
    assert (first.severity, first.closed, first.opened) == ("P0", None, T0 + 2 * H)
    assert (second.reopen, second.closed) == (True, None)


def test_the_history_table_shows_window_starts_throughout_and_says_so(tmp_path):
    """`first breach` was a window start while `opened` and `ended` were window ends: an alert
    opened by the window it first breached in read as breaching at 01:00, opened at 02:00."""
    ctx = _project(tmp_path)
    _run(ctx, range(5))
    overall = next(a for a in ctx.store.alerts("bot") if (a.release, a.cohort) == ("m1@p1", "*"))
    ctx.close()
    cfg = tmp_path / "cfg"
    base = ["alerts", "--profiles", str(cfg / "profiles.yml")]
    base += ["--monitors", str(cfg / "monitors.yml"), "history", "--rule", "errors"]
    runner = CliRunner()
    table = runner.invoke(app, base, env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    [row] = [line for line in table.output.splitlines() if overall.fingerprint[:8] in line][:1]
    cells = [c.strip() for c in row.split("│")]
    # breached in 01:00-02:00, which opened it; the 02:00-03:00 window resolved it
    assert cells[5:8] == ["2026-11-02 01:00", "2026-11-02 01:00", "2026-11-02 02:00 resolve"]
    assert cells[8] == "1h"  # detect: to the end of the opening window
    flat = " ".join(table.output.split())
    assert "first breach, opened, ended: the start (UTC) of the first breaching window" in flat
    shown = runner.invoke(app, [*base, "--format", "json"])
    first = next(r for r in json.loads(shown.output) if r["fingerprint"] == overall.fingerprint)
    assert (first["first_breach"], first["opened_window_start"], first["opened"]) == (
        "2026-11-02T01:00:00Z",
        "2026-11-02T01:00:00Z",
        "2026-11-02T02:00:00Z",
    )
    assert first["closed_window_start"] == "2026-11-02T02:00:00Z"

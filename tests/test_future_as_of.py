"""A future `as_of` never processes windows that have not happened (it would move the watermark
past them and rows arriving later would never be counted): refused by the CLI (exit 2), by the
hourly flow and by planning; a window ending after now never runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from tests.conftest import duckdb_project, make_requests

from lookout.errors import LookoutError
from lookout.pipeline import Context, plan_windows, run_window
from lookout.windows import Window, floor_time

H = timedelta(hours=1)


def _recent_project(tmp_path):
    """Records of the last three hours, so windows up to now exist."""
    frame = make_requests(hours=3)
    start = floor_time(datetime.now(UTC) - 3 * H, H).replace(tzinfo=None)
    shift = pd.Timestamp(start) - frame["event_time"].min().floor("h")
    for column in ("event_time", "ingested_at"):
        frame[column] = frame[column] + shift
    config = duckdb_project(tmp_path, frame)
    monitors = (tmp_path / "cfg" / "monitors.yml").read_text()
    monitors = monitors.replace("start: 2026-11-02T00:00:00Z", f"start: {start:%Y-%m-%dT%H:%M:%SZ}")
    (tmp_path / "cfg" / "monitors.yml").write_text(monitors)
    return config


def test_cli_run_refuses_an_as_of_two_days_ahead_and_processes_nothing(tmp_path):
    from typer.testing import CliRunner

    from lookout.cli import app
    from lookout.store import ResultsStore

    _recent_project(tmp_path)
    ahead = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    files = ["--profiles", str(tmp_path / "cfg/profiles.yml")]
    files += ["--monitors", str(tmp_path / "cfg/monitors.yml")]
    result = CliRunner().invoke(app, ["run", *files, "--as-of", ahead])
    assert result.exit_code == 2, result.output
    assert "--as-of" in result.output and "later than now" in result.output
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    try:
        assert store.watermark("bot") is None and store.runs() == []
    finally:
        store.dispose()


def test_the_hourly_flow_refuses_a_future_as_of(tmp_path):
    from prefect.logging import disable_run_logger

    from lookout.flows.hourly import hourly

    _recent_project(tmp_path)
    with disable_run_logger(), pytest.raises(LookoutError, match="later than now"):
        hourly.fn(
            as_of=datetime.now(UTC) + timedelta(days=2),
            profiles_path=str(tmp_path / "cfg/profiles.yml"),
            monitors_path=str(tmp_path / "cfg/monitors.yml"),
        )


def test_planning_never_plans_a_window_that_ends_after_now(tmp_path):
    ctx = Context.from_config(_recent_project(tmp_path))
    monitor = ctx.config.monitors.monitors[0]
    try:
        now = datetime.now(UTC)
        with pytest.raises(LookoutError, match="later than now"):
            plan_windows(ctx, monitor, now + timedelta(days=2))
        # within the skew: planned up to the real clock only
        windows = plan_windows(ctx, monitor, now + timedelta(minutes=4), now=now)
        assert windows and max(w.end for w in windows) <= now
        future = Window(floor_time(now, H) + H, floor_time(now, H) + 2 * H)
        result = run_window(ctx, monitor, future)
        assert result.status == "failed" and "not finished happening" in (result.error or "")
        assert ctx.store.watermark("bot") is None
    finally:
        ctx.close()

"""`lookout backfill`: the deployment's backfill flow run in-process through a real Prefect API.
Windows run once; a second run skips them and says so, in the terminal, the run log and the
run's artifacts alike; `--force` recomputes; `--notify` queues messages; bad ranges are
refused with one line (exit 2) before anything runs."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import T0, duckdb_project
from typer.testing import CliRunner

from lookout.cli import app
from lookout.store import ResultsStore
from lookout.windows import floor_time

H = timedelta(hours=1)
SKIPPED_3 = "3 skipped because their results are already stored"


def _cli(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _flat(text: str) -> str:
    return " ".join(text.split())


def _files(directory: Path) -> list[object]:
    cfg = directory / "cfg"
    return ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]


def _last_backfill_run() -> tuple[dict[str, object], list[str]]:
    """The newest backfill flow run's artifacts (by key or type) and log messages."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # run logs reach the API in batches

    async def read():
        async with get_client() as client:
            [run] = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["lookout-backfill"])),
                sort=FlowRunSort.START_TIME_DESC,
                limit=1,
            )
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            )
        return {(a.key or a.type): a for a in artifacts}, [log.message for log in logs]

    return asyncio.run(read())


@pytest.mark.prefect
def test_backfill_runs_once_skips_stored_windows_and_says_so_everywhere(tmp_path, prefect_api):
    duckdb_project(tmp_path, threshold=0.03)
    files = _files(tmp_path)
    span = ["--start", f"{T0:%Y-%m-%d}", "--end", f"{T0 + 3 * H:%Y-%m-%dT%H:%M}Z"]
    first = _cli("backfill", "--monitor", "bot", *span, *files)
    assert first.exit_code == 0, first.output
    assert "backfill: 3 window(s) run, 0 skipped, 0 failed, 600 rows" in first.output
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    try:
        assert len(store.runs("bot")) == 3 and store.watermark("bot") == T0 + 3 * H
        assert store.alerts("bot") and store.outbox() == []  # notify is off by default

        again = _cli("backfill", *span, *files)  # every monitor (there is one)
        assert again.exit_code == 0, again.output
        assert (
            f"backfill: 0 window(s) run, {SKIPPED_3} (--force recomputes them), 0 failed"
            in _flat(again.output)
        )
        assert len(store.runs("bot")) == 3
        artifacts, logs = _last_backfill_run()  # the UI says the same of that run
        summary = artifacts["lookout-backfill-summary"].data
        assert f"0 window(s) to run, {SKIPPED_3} (force: true recomputes them)" in summary
        assert artifacts["progress"].description == (
            f"backfill: nothing to do, {SKIPPED_3} (force: true recomputes them)"
        )
        assert any(f"0 window(s) run, {SKIPPED_3} (force: true" in m for m in logs), logs

        forced = _cli("backfill", *span[:3], f"{T0 + 2 * H:%Y-%m-%dT%H:%M}", "--force", *files)
        assert forced.exit_code == 0, forced.output
        assert "backfill: 2 window(s) run, 0 skipped, 0 failed, 405 rows" in forced.output
        assert len(store.runs("bot")) == 5
        some = _cli("backfill", *span, "--stages", "ops", "--force", *files)
        assert some.exit_code == 0 and "3 window(s) run" in some.output
        artifacts, _ = _last_backfill_run()
        summary = artifacts["lookout-backfill-summary"].data
        assert "stages none (ops metrics and alert state only), force True" in summary
        future = _cli("backfill", "--start", "2099-01-01", "--end", "2099-01-02", *files)
        assert future.exit_code == 0, future.output
        assert (
            "0 window(s) run, 0 skipped, 0 failed, 0 rows; not run yet: bot 24 windows "
            "2099-01-01 00:00–2099-01-02 00:00 UTC are not complete yet (window.grace 10m, for "
            "late-arriving rows): runnable from 2099-01-01 01:10 UTC, the last from "
            "2099-01-02 00:10 UTC"
        ) in _flat(future.output)
        assert len(store.runs("bot")) == 8
    finally:
        store.dispose()

    other = tmp_path / "notify"
    duckdb_project(other, threshold=0.03)
    told = _cli("backfill", *span[:3], f"{T0 + H:%Y-%m-%dT%H:%M}", "--notify", *_files(other))
    assert told.exit_code == 0, told.output
    store = ResultsStore(f"sqlite:///{other / 'results.sqlite'}")
    try:
        assert store.outbox()  # --notify: the old window's alerts are queued for delivery
    finally:
        store.dispose()


@pytest.mark.prefect
def test_backfill_says_which_window_of_the_range_is_still_in_its_grace_period(
    tmp_path, prefect_api
):
    """The range's last window ended an hour ago but its grace (2h) has not passed: it is not
    run, and the summary says so, with when it will be runnable, wherever it is read."""
    duckdb_project(tmp_path)
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.write_text(monitors.read_text().replace("grace: 10m", "grace: 2h"))
    now = datetime.now(UTC)
    if now.minute == 59 and now.second > 30:  # the hour must not turn during the test
        time.sleep(31)
    hour = floor_time(datetime.now(UTC), H)
    span = ["--start", f"{hour - 4 * H:%Y-%m-%dT%H:%M}Z", "--end", f"{hour - H:%Y-%m-%dT%H:%M}Z"]
    result = _cli("backfill", *span, *_files(tmp_path))
    assert result.exit_code == 0, result.output
    waiting = (
        f"not run yet: bot {hour - 2 * H:%Y-%m-%d %H:%M}–"
        if (hour - 2 * H).date() != (hour - H).date()
        else f"not run yet: bot {hour - 2 * H:%Y-%m-%d %H:%M}–{hour - H:%H:%M} UTC"
    )
    ready = (
        "is still in its grace period (window.grace 2h, for late-arriving rows): runnable from "
        f"{hour + H:%Y-%m-%d %H:%M} UTC"
    )
    text = _flat(result.output)
    assert "backfill: 2 window(s) run, 0 skipped, 0 failed, 0 rows; " in text, text
    assert waiting in text and ready in text, text
    artifacts, logs = _last_backfill_run()  # the UI says the same of that run
    assert waiting in artifacts["lookout-backfill-summary"].data
    assert any(waiting in m and ready in m for m in logs), logs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--start", "2026-11-02T03:00", "--end", "2026-11-02T01:00"],
            "end (2026-11-02 01:00 UTC) must be after start (2026-11-02 03:00 UTC)",
        ),
        (
            ["--start", "2026-10-01", "--end", "2026-10-02"],
            "monitor bot starts at 2026-11-02 00:00 UTC (window.start); the range "
            "2026-10-01 00:00–2026-10-02 00:00 UTC lies before it: nothing to backfill",
        ),
        (
            ["--start", "2026-11-02", "--end", "2026-11-09"],
            "monitor bot: 2026-11-02 00:00–2026-11-09 00:00 UTC is 168 windows, more than "
            "window.max_backfill_windows (48); backfill a shorter range or raise the limit",
        ),
        (
            ["--start", "last week", "--end", "2026-11-03"],
            "--start: 'last week' is not a date or date-time",
        ),
        (
            ["--start", "2026-11-02", "--end", "2026-11-03", "--stages", "ops,judge"],
            "--stages: unknown stage 'judge' (known: ops, validate, drift, evaluate)",
        ),
        (
            ["--monitor", "nope", "--start", "2026-11-02", "--end", "2026-11-03"],
            "unknown monitor 'nope' (known: bot)",
        ),
    ],
)
def test_bad_ranges_are_refused_with_one_line_before_anything_runs(tmp_path, args, message):
    duckdb_project(tmp_path)
    monitors = tmp_path / "cfg" / "monitors.yml"
    text = monitors.read_text().replace(
        "start: 2026-11-02T00:00:00Z", "start: 2026-11-02T00:00:00Z, max_backfill_windows: 48"
    )
    monitors.write_text(text)
    result = _cli("backfill", *args, *_files(tmp_path))
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert not re.search(r"Traceback|Flow run", result.output)
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    try:
        assert store.runs() == []
    finally:
        store.dispose()


@pytest.mark.prefect
def test_backfill_writes_the_report_index_and_keeps_the_reports_it_made(tmp_path, prefect_api):
    """A backfill left its drift reports with no index.html, neither the root's nor the
    monitor's (`lookout run` writes both). It refreshes them as the hourly wrap-up does, and
    deletes nothing for retention: the days it was asked for are older than the default 30
    days (T0 is weeks before today), yet their reports stay listed."""
    from tests.reports.test_reports import DRIFT_YAML, _frame

    duckdb_project(tmp_path, _frame(per_hour=120), threshold=0.5)
    monitors = tmp_path / "cfg" / "monitors.yml"
    drift = DRIFT_YAML.replace(", retention: 3650d", "")  # the default: 30 days
    monitors.write_text(monitors.read_text().rstrip("\n") + drift)
    end = T0 + timedelta(days=1, hours=3)
    result = _cli("backfill", "--start", f"{T0:%Y-%m-%d}", "--end", f"{end:%Y-%m-%dT%H:%M}Z",
                  *_files(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "backfill: 27 window(s) run, 0 skipped, 0 failed" in result.output
    reports = tmp_path / "cfg" / "out" / "reports"
    assert f"reports: {reports / 'index.html'}" in _flat(result.output)
    assert 'href="bot/index.html"' in (reports / "index.html").read_text()
    page = (reports / "bot" / "index.html").read_text()
    report = "2026-11-03/m2@p2/region=eu.html"
    assert f'href="{report}"' in page and (reports / "bot" / report).exists()
    assert (reports / "bot" / "releases.html").exists()

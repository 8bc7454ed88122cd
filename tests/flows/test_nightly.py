"""The nightly flow through a real Prefect API, `lookout serve`'s deployments, and the pure
parts of the run artifacts (markdown escaping, tables, judge summaries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import T0, duckdb_project

from lookout.flows.artifacts import artifact_key, judge_rows, md, metric_rows, summary_markdown
from lookout.model.alerts import AlertState
from lookout.pipeline import RunResult
from lookout.windows import Window

H = timedelta(hours=1)


def test_markdown_from_logged_data_is_literal():
    hostile = "<script>alert(1)</script> [click](http://x) | *b* `c`"
    text = md(hostile)
    assert "<" not in text.replace("\\<", "") and "](" not in text and "\\|" in text
    assert md("line\nbreak") == "line break"


def test_artifact_keys_are_what_prefect_accepts():
    assert artifact_key("support_bot", "metrics") == "lookout-support-bot-metrics"
    assert artifact_key("Weird Name!", "x") == "lookout-weird-name-x"


def test_summary_names_alerts_with_owners_and_failures():
    window = Window(T0, T0 + H)
    result = RunResult(
        "r1", "bot", window, "succeeded", rows=600, alerts_opened=("fp1",), quarantined=2
    )
    alert = AlertState(
        "fp1",
        "bot",
        "errors",
        "m2@<b>",
        "region=eu",
        "error_rate",
        "P1",
        "team",
        "firing",
        ">",
        0.05,
        0.1,
        300,
        T0,
        T0,
        T0,
        T0,
    )
    text = summary_markdown(
        "Lookout hourly run",
        T0 + 2 * H,
        [result],
        ["bot 2026-11-02T01:00Z/1h"],
        {"fp1": alert},
        {"sent": 1, "failed": 0},
    )
    assert "| bot | 1 | 600 | 2 | 0 | 0 | 0 | 0 | 1 | 0 |" in text
    assert "**opened** [P1] errors on bot: release m2@\\<b\\>, region=eu; owner **team**" in text
    assert "## Failed windows (1)" in text and "Slack: 1 sent, 0 failed" in text


def test_metric_rows_and_judge_rows_pool_by_n():
    rows = [
        {"window_start": T0, "release": "a", "cohort": "*", "metric": m, "value": v, "n": n}
        for m, v, n in (
            ("error_rate", 0.1, 100),
            ("eval.grounded", 0.9, 50),
            ("request_count", 100, 100),
        )
    ] + [
        {
            "window_start": T0 + H,
            "release": "a",
            "cohort": "*",
            "metric": "eval.grounded",
            "value": 0.6,
            "n": 150,
        },
        {
            "window_start": T0,
            "release": "a",
            "cohort": "region=eu",
            "metric": "eval.grounded",
            "value": 0.0,
            "n": 999,
        },
    ]
    table = metric_rows(rows, {T0})
    assert table == [
        {"window": "2026-11-02 00:00", "release": "a", "error_rate": 0.1, "request_count": 100.0}
    ]
    [judge] = judge_rows(rows)  # cohort rows do not count twice
    assert judge == {
        "release": "a",
        "evaluator": "grounded",
        "pass_rate": 0.675,
        "n": 200,
        "windows": 2,
    }


@pytest.mark.prefect
def test_nightly_rebuilds_the_day_cleans_old_reports_and_delivers(tmp_path, prefect_api):
    from tests.compare.test_releases import ab_frame

    from lookout.flows.hourly import hourly
    from lookout.flows.nightly import nightly

    duckdb_project(tmp_path, ab_frame(), threshold=0.5)  # m1 from hour 0, m2 from hour 1
    monitors_yml = tmp_path / "cfg" / "monitors.yml"
    text = monitors_yml.read_text().replace(
        "    rules:\n", "    drift: {enabled: true}\n    rules:\n"
    )
    monitors_yml.write_text(text)
    paths = {
        "profiles_path": str(tmp_path / "cfg" / "profiles.yml"),
        "monitors_path": str(tmp_path / "cfg" / "monitors.yml"),
    }
    hourly(as_of=T0 + 4 * H + timedelta(minutes=15), **paths)
    old = tmp_path / "cfg" / "out" / "reports" / "bot" / "2020-01-01"
    old.mkdir(parents=True)
    (old / "x.html").write_text("old")
    state = nightly(day=T0.date(), **paths, return_state=True)
    summary = state.result()
    assert summary["day"] == T0.date() and summary["delivery"]["failed"] == 0
    assert not old.exists()  # past the 30-day retention
    reports = tmp_path / "cfg" / "out" / "reports"
    assert (reports / "index.html").exists()
    releases = (reports / "bot" / "releases.html").read_text()
    assert "m1@p1" in releases and "m2@p1" in releases
    [card] = summary["scorecards"]  # the newest release against the one before
    assert card.endswith("reports/bot/scorecards/m2@p1__vs__m1@p1.html")
    assert "worse" in Path(card).read_text()
    from tests.flows.test_backfill import _artifacts

    artifacts = _artifacts(state.state_details.flow_run_id)
    assert "## Day 2026-11-02" in artifacts["lookout-nightly-summary"].data


def test_serve_builds_the_three_deployments(tmp_path):
    from tests.conftest import write_config as write

    from lookout.flows.deployments import build_deployments as serve_deployments

    write(tmp_path, warehouse="duckdb:///x.duckdb", store=f"sqlite:///{tmp_path}/r.sqlite")
    made = {
        d.name: d
        for d in serve_deployments(tmp_path / "profiles.yml", tmp_path / "monitors.yml", None)
    }
    assert set(made) == {"hourly", "nightly", "backfill"}
    [hourly_schedule] = made["hourly"].schedules
    assert hourly_schedule.schedule.cron == "20 * * * *"
    assert hourly_schedule.schedule.timezone == "UTC"
    assert made["hourly"].concurrency_limit == 1
    assert made["hourly"].concurrency_options.collision_strategy == "ENQUEUE"
    assert made["hourly"].parameters["monitors_path"] == str(tmp_path / "monitors.yml")
    assert made["backfill"].schedules in (None, [])
    schema = made["backfill"]._parameter_openapi_schema.model_dump()
    assert schema["properties"]["monitor"]["enum"] == ["all", "bot"]
    assert datetime.now(UTC)  # the module imports without a Prefect API

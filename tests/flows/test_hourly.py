"""The hourly flow through a real Prefect API: windows since the watermark, catch-up, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import T0, duckdb_project, make_requests, write_config
from tests.fakes import outbox_files

from lookout.errors import LookoutError
from lookout.store import ResultsStore

pytestmark = pytest.mark.prefect

H = timedelta(hours=1)


def test_hourly_flow_runs_complete_windows_and_catches_up(tmp_path, prefect_api):
    from lookout.flows.hourly import hourly

    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    duckdb_project(tmp_path, threshold=0.03)
    paths = {
        "profiles_path": str(tmp_path / "cfg" / "profiles.yml"),
        "monitors_path": str(tmp_path / "cfg" / "monitors.yml"),
    }
    first = hourly(as_of=T0 + H + timedelta(minutes=15), **paths)
    assert [r.window.start for r in first["results"]] == [T0]
    # downtime: the next run is two hours later and catches up both missed windows
    second = hourly(as_of=T0 + 3 * H + timedelta(minutes=15), **paths)
    assert [r.window.start for r in second["results"]] == [T0 + H, T0 + 2 * H]
    assert hourly(as_of=T0 + 3 * H + timedelta(minutes=15), **paths)["results"] == []

    store = ResultsStore(store_url)
    assert store.watermark("bot") == T0 + 3 * H
    runs = store.runs("bot")
    assert len(runs) == 3 and all(r["flow_run_id"] for r in runs)
    results = first["results"] + second["results"]
    opened = sum(len(r.alerts_opened) for r in results)
    resolved = sum(len(r.alerts_resolved) for r in results)
    assert opened > 0
    sent = first["delivery"]["sent"] + second["delivery"]["sent"]
    carried = first["delivery"]["carried"] + second["delivery"]["carried"]
    files = outbox_files(tmp_path / "cfg" / "out" / "outbox")
    # a resolve: a reply in the thread (and an update of the original, unless it was grouped)
    kinds = [r.kind for r in store.outbox()]
    assert kinds.count("resolve") == resolved and kinds.count("open") == opened
    assert len(kinds) == opened + resolved + kinds.count("update") + kinds.count("group")
    # the alerts a window opens for one owner go out as one grouped message: one file each
    # for what was sent, none for the alerts carried inside a group message
    assert len(files) == sent == len(kinds) - carried and carried > 0
    assert sent + carried == len(kinds)
    payload = files[0]["payload"]
    assert payload["channel"] == "#team" and "<@U0TEAM01>" in payload["text"]
    store.dispose()


def test_a_failing_window_fails_the_flow_without_moving_the_watermark(tmp_path, prefect_api):
    from lookout.flows.hourly import hourly

    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    duckdb_project(tmp_path, make_requests().drop(columns=["latency_ms"]))  # mapped column gone
    with pytest.raises(LookoutError, match=r"1 window\(s\) failed: bot 2026-11-02T00:00Z/1h"):
        hourly(
            as_of=T0 + H + timedelta(minutes=15),
            profiles_path=str(tmp_path / "cfg" / "profiles.yml"),
            monitors_path=str(tmp_path / "cfg" / "monitors.yml"),
        )
    store = ResultsStore(store_url)
    assert store.watermark("bot") is None
    failed = store.runs("bot")
    assert len(failed) == 1  # a table that does not fit the config is not retried
    assert all(r["status"] == "failed" for r in failed)
    assert (
        "monitors.yml: monitors[0].source.columns.latency_ms: column 'latency_ms' is not in table"
        in failed[0]["error"]
    )
    store.dispose()


def test_an_unreachable_warehouse_fails_the_run_but_pending_alerts_are_still_delivered(
    tmp_path, prefect_api
):
    from lookout.flows.hourly import hourly
    from lookout.model.alerts import Transition
    from lookout.store import OutboxMessage, WindowCommit
    from lookout.windows import Window

    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    write_config(
        tmp_path / "cfg",
        warehouse="postgresql+psycopg://lookout:pw-never-shown@127.0.0.1:1/warehouse",
        store=store_url,
    )
    store = ResultsStore(store_url)
    window = Window(T0, T0 + H)
    transitions: list[Transition] = []
    store.commit_window(
        WindowCommit(
            run_id="earlier-run",
            monitor="bot",
            window=window,
            started_at=T0,
            finished_at=T0,
            rows_read=0,
            metric_path="pandas",
            metrics=[],
            initial_frontier=T0,
            transitions=transitions,
            messages=[
                OutboxMessage(
                    "queued-earlier",
                    "open",
                    "bot",
                    {"text": "hi"},
                    channel="#team",
                    format="blockkit",
                )
            ],
        )
    )
    with pytest.raises(LookoutError, match=r"bot \(planning failed\)"):
        hourly(
            as_of=T0 + 3 * H,
            profiles_path=str(tmp_path / "cfg" / "profiles.yml"),
            monitors_path=str(tmp_path / "cfg" / "monitors.yml"),
        )
    [earlier] = outbox_files(tmp_path / "cfg" / "out" / "outbox")
    assert (earlier["message_id"], earlier["payload"]) == ("queued-earlier", {"text": "hi"})
    assert store.outbox(status="pending") == []
    assert store.watermark("bot") == T0 + H  # unchanged by the failed run
    store.dispose()


def test_unknown_monitor_names_are_rejected(tmp_path, prefect_api):
    from lookout.flows.hourly import hourly

    write_config(tmp_path / "cfg", warehouse="duckdb:///:memory:", store="sqlite://")
    with pytest.raises(LookoutError, match=r"unknown monitor 'nope' \(known: bot\) in "):
        hourly(
            monitors=["nope"],
            profiles_path=str(tmp_path / "cfg" / "profiles.yml"),
            monitors_path=str(tmp_path / "cfg" / "monitors.yml"),
        )


def test_cli_run_and_alerts_commands(tmp_path, prefect_api):
    from typer.testing import CliRunner

    from lookout.cli import app

    duckdb_project(tmp_path, threshold=0.0)
    files = [
        "--profiles",
        str(tmp_path / "cfg" / "profiles.yml"),
        "--monitors",
        str(tmp_path / "cfg" / "monitors.yml"),
    ]
    runner = CliRunner()
    result = runner.invoke(app, ["run", *files, "--as-of", "2026-11-02T03:30:00"])
    assert result.exit_code == 0, result.output
    assert "3 window(s), 600 rows" in result.output
    assert "0 failed check(s) (0 errored)" in result.output  # the default suite passes
    listed = runner.invoke(app, ["alerts", *files])
    assert listed.exit_code == 0, listed.output
    assert "Alerts firing:" in listed.output and "errors" in listed.output
    assert "https://runbooks.example.com/team/errors" in listed.output

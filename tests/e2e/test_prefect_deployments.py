"""End to end through a real Prefect server: deploy prefect.yaml, start a process worker,
trigger the backfill deployment through the API over 6 hours of the demo warehouse, and check
the results store and the run's artifacts; re-runs without and with `force`; a worker killed
with SIGKILL mid-backfill; the backfill run form in the Prefect UI (Debian's Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from tests.e2e.prefect_server import PrefectServer, copy_project, free_port
from tests.fakes import fake_slack_server

from lookout.demo.runner import config_dir
from lookout.demo.synthetic import RELEASE_2_LAUNCH, generate_requests, write_duckdb

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
# release 2 launches half-way: its windows drift against release 1, seen in the first half
START = RELEASE_2_LAUNCH - timedelta(hours=3)
END = START + timedelta(hours=6)
WINDOWS = [START + timedelta(hours=i) for i in range(6)]


class Project:
    def __init__(self, server: PrefectServer, directory: Path) -> None:
        self.server = server
        self.dir = directory
        self.env = server.env(
            LOOKOUT_PROJECT_DIR=str(directory),
            LOOKOUT_HOME=str(directory),
            LOOKOUT_TARGET="dev",
            LOOKOUT_REPORT_BASE_URL="http://127.0.0.1:8765",
        )

    def stored(self, sql: str, *args: object) -> list[tuple]:
        """Rows from the results store (none before the first run has created it)."""
        try:
            with sqlite3.connect(self.dir / "results.sqlite") as conn:
                return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def backfill(self, **parameters: object) -> str:
        base = {
            "start": START.isoformat(),
            "end": END.isoformat(),
            "monitor": "support_bot",
            "concurrency": 2,
        }
        return self.server.run_deployment("lookout-backfill", "backfill", {**base, **parameters})


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("prefect-e2e")
    logs = base / "logs"
    logs.mkdir()
    server = PrefectServer(home=base / "prefect-home", port=free_port(), logs=logs)
    directory = base / "project"
    directory.mkdir()
    for name in ("profiles.yml", "monitors.yml"):
        shutil.copyfile(config_dir() / name, directory / name)
    # several flow-run processes read the DuckDB file at once (split backfills): the profile's
    # warehouse is read-only by default, as DuckDB allows one writer process or many readers
    copy_project(ROOT, directory)
    write_duckdb(generate_requests(), directory / "warehouse.duckdb")
    server.start()
    try:
        project = Project(server, directory)
        server.cli("work-pool", "create", "lookout", "--type", "process", cwd=directory)
        server.cli(
            "--no-prompt",
            "deploy",
            "--all",
            "--prefect-file",
            "deployments/prefect.yaml",
            cwd=directory,
            env=project.env,
        )
        server.start_worker("lookout", directory, project.env)
        yield project
    finally:
        server.stop()


_WINDOWS_SQL = (
    "SELECT w.window_start, (SELECT count(*) FROM runs r WHERE r.monitor = w.monitor "
    "AND r.window_start = w.window_start AND r.status = 'succeeded') "
    "FROM windows w WHERE w.monitor = 'support_bot' ORDER BY w.window_start"
)


def _windows(project: Project) -> list[tuple[str, int]]:
    """(window start, successful runs) of the backfilled range, from the results store."""
    return project.stored(_WINDOWS_SQL)


def _windows_in(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    try:
        return conn.execute(_WINDOWS_SQL).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


@contextmanager
def _write_locked(project: Project) -> Iterator[sqlite3.Connection]:
    """The results store with SQLite's write lock held (BEGIN IMMEDIATE): what it shows cannot
    change until the block ends, since no writer can commit meanwhile."""
    conn = sqlite3.connect(project.dir / "results.sqlite", timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
    finally:
        conn.close()  # rolls the empty transaction back, releasing the lock


def test_deployments_and_a_backfill_through_the_api(project):
    server = project.server
    for name in ("hourly", "nightly", "backfill"):
        deployment = server.deployment(f"lookout-{name}", name)
        assert deployment["work_pool_name"] == "lookout"
    hourly = server.deployment("lookout-hourly", "hourly")
    assert hourly["schedules"][0]["schedule"]["cron"] == "20 * * * *"
    assert hourly["schedules"][0]["schedule"]["timezone"] == "UTC"
    limit = hourly.get("global_concurrency_limit") or {}
    assert limit.get("limit") == 1, hourly
    assert hourly["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    schema = server.deployment("lookout-backfill", "backfill")["parameter_openapi_schema"]
    assert schema["properties"]["monitor"]["enum"] == ["all", "support_bot"]
    assert schema["properties"]["start"]["format"] == "date-time"

    run_id = project.backfill()
    run = server.wait(run_id)
    assert run["state_type"] == "COMPLETED", server.worker_logs()
    windows = _windows(project)
    assert [w for w, _ in windows] == [f"{t:%Y-%m-%d %H:%M:%S.%f}" for t in WINDOWS]
    assert all(runs == 1 for _, runs in windows)
    [(metrics,)] = project.stored("SELECT count(*) FROM metrics")
    [(drift,)] = project.stored("SELECT count(*) FROM drift")
    [(judged,)] = project.stored("SELECT count(*) FROM judgments")
    assert metrics > 0 and drift > 0 and judged > 0
    [(flow_runs,)] = project.stored(
        "SELECT count(DISTINCT flow_run_id) FROM runs WHERE flow_run_id = ?", run_id
    )
    assert flow_runs == 1  # every stored run names the Prefect flow run that made it

    artifacts = {a["key"] or a["type"]: a for a in server.artifacts(run_id)}
    summary = artifacts["lookout-backfill-summary"]["data"]
    assert "| support\\_bot | 6 |" in summary and "6 window(s) to run" in summary
    assert artifacts["lookout-support-bot-metrics"]["type"] == "table"
    assert artifacts["progress"]["data"] == 100.0

    # again without force: nothing to recompute
    again = server.wait(project.backfill())
    assert again["state_type"] == "COMPLETED"
    assert all(runs == 1 for _, runs in _windows(project))
    # with force, over the first two hours: exactly those windows again
    forced = server.wait(project.backfill(force=True, end=(START + timedelta(hours=2)).isoformat()))
    assert forced["state_type"] == "COMPLETED"
    assert [runs for _, runs in _windows(project)] == [2, 2, 1, 1, 1, 1]


def test_a_worker_killed_mid_backfill_and_restarted_leaves_every_window_once(project):
    server = project.server
    later = {
        "start": (END + timedelta(hours=2)).isoformat(),
        "end": (END + timedelta(hours=6)).isoformat(),
        "concurrency": 1,
    }
    run_id = project.backfill(**later)
    before = len(_windows(project))
    # Kill on an event, not a race with a poll: each look at the store holds SQLite's write
    # lock, so once two windows are seen no third can commit before the kill.
    deadline = time.monotonic() + 240
    while True:
        assert time.monotonic() < deadline, server.worker_logs()
        assert server.flow_run(run_id)["state_type"] not in ("COMPLETED", "FAILED")
        with _write_locked(project) as locked:
            done_at_kill = len(_windows_in(locked)) - before
            if done_at_kill >= 2:
                server.kill(server.workers[-1])  # SIGKILL: the worker and its flow-run process
                break
        time.sleep(0.2)
    assert 2 <= done_at_kill < 4
    assert server.flow_run(run_id)["state_type"] == "RUNNING"  # nobody is left to finish it

    server.start_worker("lookout", project.dir, project.env)
    retry = server.wait(project.backfill(**later))  # the operator starts the same backfill
    assert retry["state_type"] == "COMPLETED", server.worker_logs()
    windows = _windows(project)
    assert len(windows) == before + 4
    assert all(runs == 1 for _, runs in windows[before:])  # each exactly once, none lost
    [(per_window,)] = project.stored(
        "SELECT max(c) FROM (SELECT count(*) AS c FROM metrics WHERE release <> '' "
        "GROUP BY window_start, release, cohort, metric)"
    )
    assert per_window == 1


def test_the_backfill_run_form_in_the_prefect_ui(project):
    """The run form (Prefect's V2 UI) offers the configured monitors in a dropdown and date-time
    pickers for start and end."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("no /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    deployment = project.server.deployment("lookout-backfill", "backfill")
    url = f"{project.server.ui}/v2/deployments/deployment/{deployment['id']}/run"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(url, wait_until="networkidle")
            dropdown = page.get_by_role("button", name="Select monitor", exact=True)
            expect(dropdown).to_be_visible(timeout=60_000)
            dropdown.click()
            options = page.get_by_role("listbox").get_by_role("option")
            expect(options.filter(has_text="support_bot")).to_have_count(1)
            assert sorted(options.all_inner_texts()) == ["all", "support_bot"]
            page.keyboard.press("Escape")
            for name in ("start", "end"):
                label = page.get_by_text(re.compile(rf"^{name}$"))
                expect(label.first).to_be_visible()
                picker = page.get_by_label(name, exact=True)
                expect(picker).to_have_attribute("aria-haspopup", "dialog")
        finally:
            browser.close()


def test_a_failed_lookout_run_notifies_through_the_automation(project):
    """`lookout automations` (run twice: it upserts) makes a failed run post to a webhook
    block; here the block points at the fake Slack webhook on 127.0.0.1."""
    server = project.server
    with fake_slack_server() as slack:
        make_block = (
            "from prefect.blocks.notifications import CustomWebhookNotificationBlock as B\n"
            f"B(name='fake-slack', url='{slack.base_url}/webhook', allow_private_urls=True,\n"
            "  json_data={'text': '{{subject}} | {{body}}'}).save('fake-slack', overwrite=True)\n"
        )
        subprocess.run([sys.executable, "-c", make_block], env=project.env, check=True, timeout=120)
        lookout = [str(Path(sys.executable).parent / "lookout"), "automations"]
        args = [*lookout, "--block", "custom-webhook/fake-slack"]
        first = subprocess.run(args, env=project.env, capture_output=True, text=True, timeout=120)
        again = subprocess.run(args, env=project.env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert "created lookout-flow-failed" in first.stdout
        assert "updated lookout-flow-failed" in again.stdout  # no duplicate
        automations = server.post("/automations/filter", {})
        assert sorted(a["name"] for a in automations) == [
            "lookout-flow-failed",
            "lookout-flow-late",
        ]

        failed = server.wait(project.backfill(end=START.isoformat()))  # an empty range: fails
        assert failed["state_type"] == "FAILED"
        deadline = time.monotonic() + 90
        while not any(failed["name"] in m.get("text", "") for m in slack.webhook):
            assert time.monotonic() < deadline, f"no notification: {slack.webhook}"
            time.sleep(0.5)
    [message] = [m for m in slack.webhook if failed["name"] in m["text"]]
    assert "lookout-backfill" in message["text"] and "Failed" in message["text"]
    assert "must be after start" in message["text"]


def test_a_split_backfill_fans_out_as_runs_that_any_worker_picks_up(project):
    server = project.server
    if len([w for w in server.workers if w.poll() is None]) < 2:
        server.start_worker("lookout", project.dir, project.env)  # a second machine's worker
    lo, hi = END + timedelta(hours=10), END + timedelta(hours=12)
    before = len(_windows(project))
    parent = server.wait(
        project.backfill(start=lo.isoformat(), end=hi.isoformat(), split=2), timeout=300
    )
    assert parent["state_type"] == "COMPLETED", server.worker_logs()
    parts = [
        r
        for r in server.post("/flow_runs/filter", {})
        if r["name"].startswith("backfill part ")
        and r["parameters"].get("start")
        in (
            lo.isoformat(),
            (lo + timedelta(hours=1)).isoformat(),
        )
    ]
    assert sorted(r["name"] for r in parts) == ["backfill part 1/2", "backfill part 2/2"]
    assert all(r["state_type"] == "COMPLETED" for r in parts)
    assert {r["parameters"]["end"] for r in parts} == {
        (lo + timedelta(hours=1)).isoformat(),
        hi.isoformat(),
    }
    windows = _windows(project)
    assert len(windows) == before + 2 and all(runs == 1 for _, runs in windows[before:])

"""Only a window failure that stands pages its owner: not one that Prefect's retry resolves,
not one whose window another process stores meanwhile; one that stands pages exactly once.
And two processes, an hourly run and a backfill, read one DuckDB warehouse file side by side
without failing each other (it is opened read-only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import T0, duckdb_project, make_requests
from tests.fakes import outbox_files

from lookout.errors import LookoutError
from lookout.notify.channels.files import FileChannel
from lookout.notify.delivery import deliver
from lookout.pipeline import Context, run_window
from lookout.store import OutboxMessage, ResultsStore
from lookout.windows import Window

H = timedelta(hours=1)
W0 = Window(T0, T0 + H)
ROOT = Path(__file__).resolve().parents[2]


class Fault:
    """Fails the `ops` stage (the read) of a window `times` times, then lets it pass."""

    def __init__(self, times: int) -> None:
        self.left = times
        self.raised = 0
        self._lock = threading.Lock()

    def __call__(self, stage: str) -> None:
        if stage != "ops":
            return
        with self._lock:
            if self.left == 0:
                return
            self.left -= 1
            self.raised += 1
        raise RuntimeError("injected: the warehouse hiccuped")


def _inject(monkeypatch: pytest.MonkeyPatch, fault: Fault) -> None:
    """Every context the flows build (over `open_context`) gets `fault` as its stage hook."""
    build = Context.from_runtime

    def from_runtime(opened):  # type: ignore[no-untyped-def]
        ctx = build(opened)
        ctx.before_stage = fault
        return ctx

    monkeypatch.setattr(Context, "from_runtime", staticmethod(from_runtime))


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's retries as configured, without their 5 s pause (the tests wait less)."""
    from lookout.flows import hourly, tasks

    monkeypatch.setattr(
        tasks, "run_window_task", tasks.run_window_task.with_options(retry_delay_seconds=0)
    )
    monkeypatch.setattr(hourly, "plan_task", tasks.plan_task.with_options(retry_delay_seconds=0))


def _paths(directory: Path) -> dict[str, str]:
    return {
        "profiles_path": str(directory / "cfg" / "profiles.yml"),
        "monitors_path": str(directory / "cfg" / "monitors.yml"),
    }


def _notices(store: ResultsStore) -> list:
    return [row for row in store.outbox() if row.kind == "failure"]


@pytest.mark.prefect
def test_a_failure_the_retry_resolves_pages_nobody(
    tmp_path, prefect_api, monkeypatch, no_retry_delay
):
    from lookout.flows.hourly import hourly

    duckdb_project(tmp_path, threshold=0.9)
    fault = Fault(times=1)
    _inject(monkeypatch, fault)
    summary = hourly(as_of=T0 + H + timedelta(minutes=15), **_paths(tmp_path))
    assert fault.raised == 1
    assert [(r.window, r.status) for r in summary["results"]] == [(W0, "succeeded")]
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    assert [r["status"] for r in store.runs("bot")] == ["failed", "succeeded"]
    assert _notices(store) == []  # nothing queued, pending or sent
    assert outbox_files(tmp_path / "cfg" / "out" / "outbox") == []  # nobody paged
    assert store.watermark("bot") == T0 + H
    store.dispose()


@pytest.mark.prefect
def test_a_failure_on_every_try_pages_exactly_once(
    tmp_path, prefect_api, monkeypatch, no_retry_delay
):
    from lookout.flows.hourly import hourly

    duckdb_project(tmp_path, threshold=0.9)
    _inject(monkeypatch, Fault(times=1000))
    with pytest.raises(LookoutError, match=r"1 window\(s\) failed: bot 2026-11-02T00:00Z/1h"):
        hourly(as_of=T0 + H + timedelta(minutes=15), **_paths(tmp_path))
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    assert [r["status"] for r in store.runs("bot")] == ["failed", "failed"]
    [notice] = _notices(store)
    assert notice.status == "sent"
    [sent] = outbox_files(tmp_path / "cfg" / "out" / "outbox")
    assert sent["message_id"] == notice.message_id
    assert "injected: the warehouse hiccuped" in json.dumps(sent)
    assert store.watermark("bot") is None
    store.dispose()


def _two_contexts(tmp_path: Path, store_url: str) -> tuple[Context, Context]:
    """Two processes' worth of adapters on one warehouse and one store."""
    config = duckdb_project(tmp_path, store=store_url, threshold=0.9)
    return Context.from_config(config), Context.from_config(config)


def _deliver(ctx: Context, tmp_path: Path) -> list[str]:
    report = deliver(ctx.store.outbox_repo, {"slack": FileChannel(tmp_path / "slack")})
    return [row.kind for row in report.sent]


def test_a_pending_failure_notice_is_withdrawn_when_another_process_stores_the_window(
    tmp_path, store_url
):
    a, b = _two_contexts(tmp_path, store_url)
    monitor = a.config.monitors.monitors[0]
    a.before_stage = Fault(times=1)
    assert run_window(a, monitor, W0).status == "failed"  # its last try: the notice is queued
    assert [row.status for row in _notices(a.store)] == ["pending"]
    assert run_window(b, monitor, W0).status == "succeeded"  # before any delivery
    assert [row.status for row in _notices(a.store)] == ["withdrawn"]
    assert _deliver(a, tmp_path) == []  # nobody is paged about a window that is stored
    assert a.store.watermark("bot") == T0 + H
    a.close()
    b.close()


class _StoresWhileSending(FileChannel):
    """Another process stores the window while this delivery sends its first message."""

    def __init__(self, directory: Path, store_it) -> None:  # type: ignore[no-untyped-def]
        super().__init__(directory)
        self.store_it = store_it

    def send(self, delivery):  # type: ignore[no-untyped-def]
        if self.store_it is not None:
            self.store_it, store_it = None, self.store_it
            store_it()
        return super().send(delivery)


def test_a_notice_withdrawn_while_a_delivery_is_under_way_is_not_sent(tmp_path, store_url):
    a, b = _two_contexts(tmp_path, store_url)
    monitor = a.config.monitors.monitors[0]
    a.store.enqueue(
        [OutboxMessage("earlier", "open", "bot", {"text": "hi"}, "#team", format="blockkit")]
    )
    a.before_stage = Fault(times=1)
    assert run_window(a, monitor, W0).status == "failed"
    [notice] = _notices(a.store)  # queued after "earlier": the delivery reaches it second

    def store_it() -> None:
        assert run_window(b, monitor, W0).status == "succeeded"

    notifier = _StoresWhileSending(tmp_path / "slack", store_it)
    # read both as pending, then b stored W0
    report = deliver(a.store.outbox_repo, {"slack": notifier})
    assert [row.message_id for row in report.sent] == ["earlier"]
    assert a.store.outbox_row(notice.message_id).status == "withdrawn"
    assert notice.message_id not in {f["message_id"] for f in outbox_files(tmp_path / "slack")}
    a.close()
    b.close()


def test_a_failure_after_another_process_stored_the_window_pages_nobody(tmp_path, store_url):
    a, b = _two_contexts(tmp_path, store_url)
    monitor = a.config.monitors.monitors[0]
    first_try = datetime.now(UTC)  # a's first try starts (and fails, not its last try)
    a.before_stage = Fault(times=1)
    assert run_window(a, monitor, W0, final_attempt=False).status == "failed"
    assert _notices(a.store) == []
    assert run_window(b, monitor, W0).status == "succeeded"  # the other process stores it
    a.before_stage = Fault(times=1)
    last = run_window(a, monitor, W0, final_attempt=True, first_attempt_at=first_try)
    assert last.status == "failed"
    assert _notices(a.store) == []  # the window is stored: this failure does not stand
    assert _deliver(a, tmp_path) == []
    a.close()
    b.close()


def test_a_rerun_of_a_stored_window_that_fails_still_pages_and_a_sent_notice_stays(
    tmp_path, store_url
):
    a, b = _two_contexts(tmp_path, store_url)
    monitor = a.config.monitors.monitors[0]
    assert run_window(b, monitor, W0).status == "succeeded"
    a.before_stage = Fault(times=1)  # a later re-run (late rows, force) fails for real
    assert run_window(a, monitor, W0).status == "failed"
    assert [row.status for row in _notices(a.store)] == ["pending"]
    assert _deliver(a, tmp_path) == ["failure"]
    # a sent notice is history: a later commit of the window neither edits it nor adds to it
    before = {row.message_id: row for row in a.store.outbox()}
    assert run_window(b, monitor, W0).status == "succeeded"
    assert {row.message_id: row for row in a.store.outbox()} == before
    assert _deliver(a, tmp_path) == []
    a.close()
    b.close()


def test_a_withdrawn_notice_is_queued_again_when_a_later_failure_stands(tmp_path, store_url):
    a, b = _two_contexts(tmp_path, store_url)
    monitor = a.config.monitors.monitors[0]
    a.before_stage = Fault(times=1)
    assert run_window(a, monitor, W0).status == "failed"
    assert run_window(b, monitor, W0).status == "succeeded"
    assert [row.status for row in _notices(a.store)] == ["withdrawn"]

    def crash(stage: str) -> None:
        if stage == "ops":
            raise RuntimeError("injected: a new failure")

    a.before_stage = crash
    assert run_window(a, monitor, W0).status == "failed"
    [notice] = _notices(a.store)
    assert notice.status == "pending"
    assert "injected: a new failure" in str(notice.payload)  # the failure that stands now
    assert _deliver(a, tmp_path) == ["failure"]
    a.close()
    b.close()


def _lookout(*args: str, env: dict[str, str]) -> subprocess.Popen:
    code = "from lookout.cli import app; app()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow  # a second process and two dozen windows: about a minute
@pytest.mark.prefect
def test_an_hourly_run_and_a_backfill_in_two_processes_share_a_duckdb_warehouse(
    tmp_path, prefect_api, no_retry_delay
):
    from prefect.settings import PREFECT_API_URL

    from lookout.flows.backfill import build_backfill_flow

    hours = 24
    frame = make_requests(hours=hours, per_hour=60)
    duckdb_project(tmp_path, frame, threshold=0.9)
    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    paths = _paths(tmp_path)
    store = ResultsStore(store_url)  # created (migrated) before the other process starts
    hourly_run = _lookout(
        "run",
        "--profiles",
        paths["profiles_path"],
        "--monitors",
        paths["monitors_path"],
        "--as-of",
        (T0 + hours * H + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S"),
        env=env,
    )
    try:
        # the hourly process holds the warehouse open from its first window to its end
        deadline = time.monotonic() + 120
        while not store.processed_windows("bot", T0) and hourly_run.poll() is None:
            assert time.monotonic() < deadline, "the hourly run stored nothing in 120 s"
            time.sleep(0.2)
        backfill = build_backfill_flow(["bot"])
        done = backfill(start=T0, end=T0 + hours * H, monitor="bot", concurrency=4, **paths)
        output, _ = hourly_run.communicate(timeout=300)
    finally:
        if hourly_run.poll() is None:
            hourly_run.kill()
    assert hourly_run.returncode == 0, output
    spans = {}  # flow run -> (first start, last finish) of its windows
    for run in store.runs("bot"):
        first, last = spans.get(run["flow_run_id"], (run["started_at"], run["finished_at"]))
        spans[run["flow_run_id"]] = (min(first, run["started_at"]), max(last, run["finished_at"]))
    [(a_start, a_end), (b_start, b_end)] = spans.values()
    assert max(a_start, b_start) < min(a_end, b_end), "the two runs did not run side by side"
    assert done["failures"] == [] and done["windows"]  # the backfill ran windows, none failed
    assert f"{hours} window(s)" in output
    assert _notices(store) == []  # no page for any window
    assert {r["status"] for r in store.runs("bot")} == {"succeeded"}
    # every window stored once, with every record counted once
    assert len(store.processed_windows("bot", T0)) == hours
    per_window: dict[datetime, float] = {}
    for row in store.metrics("bot", metric="request_count", cohort="*"):  # summed over releases
        start = row["window_start"].replace(tzinfo=None)
        per_window[start] = per_window.get(start, 0) + row["value"]
    hours_of = frame["event_time"].dt.floor("h").value_counts()
    assert per_window == {hour.to_pydatetime(): float(n) for hour, n in hours_of.items()}
    assert store.watermark("bot") == T0 + hours * H
    with store.engine.connect() as conn:  # one row per window, never two
        rows = conn.execute(sa.text("SELECT count(*) FROM windows WHERE monitor = 'bot'"))
        assert rows.scalar() == hours
    store.dispose()

"""A results store another session keeps locked: the window fails within the configured
timeout with an error that names the lock, the store (password hidden), the wait and what to
check; the watermark stays, the owner is paged once, and once the lock is gone the next run
processes the window. Nothing waits without a limit.

PostgreSQL: a row lock and a table lock on `watermarks`, and the monitor's advisory lock, held
by another session during a real hourly flow run. SQLite: the monitor's lock file held by
another process, and the database held by another writer.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import T0, duckdb_project
from tests.fakes import outbox_files

from lookout.config.loader import LookoutConfig, load_config
from lookout.errors import LookoutError, StoreError
from lookout.pipeline import Context, plan_windows, run_window
from lookout.store import ResultsStore
from lookout.windows import Window

H = timedelta(hours=1)
PASSWORD = "pw-never-shown"
HOLD_S = 40  # how long a holder keeps its lock at most: code that waits forever fails, not hangs


def _project(tmp_path: Path, store: str, settings: str) -> LookoutConfig:
    """The `bot` monitor on a DuckDB warehouse, with `settings` added to the store target."""
    duckdb_project(tmp_path, store=store, threshold=0.03)
    profiles = tmp_path / "cfg" / "profiles.yml"
    text = profiles.read_text()
    profiles.write_text(
        text.replace(f'store: {{url: "{store}"}}', f'store: {{url: "{store}", {settings}}}')
    )
    assert settings in profiles.read_text()
    return load_config(profiles, tmp_path / "cfg" / "monitors.yml")


def _paths(tmp_path: Path) -> dict[str, str]:
    return {
        "profiles_path": str(tmp_path / "cfg" / "profiles.yml"),
        "monitors_path": str(tmp_path / "cfg" / "monitors.yml"),
    }


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's retries as configured, without their 5 s pause (the tests wait less)."""
    from lookout.flows import hourly, tasks

    monkeypatch.setattr(
        tasks, "run_window_task", tasks.run_window_task.with_options(retry_delay_seconds=0)
    )
    monkeypatch.setattr(hourly, "plan_task", tasks.plan_task.with_options(retry_delay_seconds=0))


def _with_password(url: str) -> str:
    """The test server trusts local connections: a password in the URL is never checked, so
    it shows whether Lookout leaks it."""
    return sa.engine.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@contextmanager
def _pg_holder(url: str, statement: str) -> Iterator[int]:
    """Another session runs `statement` in an open transaction (taking its locks) and keeps
    them until the block ends, or HOLD_S at most; yields that session's backend pid."""
    ready = threading.Event()
    done = threading.Event()
    pid: list[int] = []

    def hold() -> None:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            pid.append(conn.scalar(sa.text("SELECT pg_backend_pid()")))
            conn.execute(sa.text(statement))
            ready.set()
            done.wait(HOLD_S)
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        engine.dispose()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield pid[0]
    finally:
        done.set()
        thread.join(30)


def _failed_runs(store: ResultsStore) -> list[dict]:
    return [r for r in store.runs("bot") if r["status"] == "failed"]


def _assert_failed_fast(runs: list[dict], limit_s: float) -> None:
    for run in runs:
        waited = (run["finished_at"] - run["started_at"]).total_seconds()
        assert waited < limit_s, f"a try waited {waited:.1f}s: the lock wait is not bounded"


def _assert_paged_once(store: ResultsStore, tmp_path: Path) -> None:
    notices = [r for r in store.outbox() if r.kind == "failure"]
    assert [r.status for r in notices] == ["sent"]  # the run delivered it, once
    [sent] = [
        f
        for f in outbox_files(tmp_path / "cfg" / "out" / "outbox")
        if f["message_id"] == notices[0].message_id
    ]
    text = json.dumps(sent)
    assert "failed" in text and PASSWORD not in text


@pytest.mark.postgres
@pytest.mark.prefect
def test_a_locked_watermark_row_fails_the_window_within_the_lock_timeout(
    tmp_path, pg_database, prefect_api, no_retry_delay
):
    from lookout.flows.hourly import hourly

    store_url = _with_password(pg_database)
    _project(tmp_path, store_url, "lock_timeout: 1s")
    hourly(as_of=T0 + H + timedelta(minutes=15), **_paths(tmp_path))  # the watermark row exists
    held = "SELECT * FROM watermarks WHERE monitor = 'bot' FOR UPDATE"
    with _pg_holder(pg_database, held):
        clock = time.monotonic()
        with pytest.raises(LookoutError, match=r"1 window\(s\) failed: bot 2026-11-02T01:00Z/1h"):
            hourly(as_of=T0 + 2 * H + timedelta(minutes=15), **_paths(tmp_path))
        assert time.monotonic() - clock < HOLD_S - 5  # two ~1 s tries and a retry delay
    store = ResultsStore(store_url)
    failed = _failed_runs(store)
    assert len(failed) == 2  # the try and Prefect's retry
    _assert_failed_fast(failed, 5)
    for run in failed:
        error = run["error"]
        assert error.startswith(f"StoreError: results store {re.sub(PASSWORD, '***', store_url)}")
        assert "commit of bot 2026-11-02T01:00Z/1h failed" in error
        assert "canceling statement due to lock timeout" in error
        assert "1s (store.lock_timeout)" in error
        assert 'in relation "watermarks"' in error  # which lock
        assert "pg_stat_activity" in error  # what to check
        assert "watermark did not move" in error and PASSWORD not in error
    assert store.watermark("bot") == T0 + H
    _assert_paged_once(store, tmp_path)
    # the lock is gone: the next run processes the window
    again = hourly(as_of=T0 + 2 * H + timedelta(minutes=15), **_paths(tmp_path))
    assert [r.window.start for r in again["results"]] == [T0 + H]
    assert store.watermark("bot") == T0 + 2 * H
    store.dispose()


@pytest.mark.postgres
@pytest.mark.prefect
def test_a_locked_watermarks_table_fails_planning_within_the_lock_timeout(
    tmp_path, pg_database, prefect_api, no_retry_delay
):
    from lookout.flows.hourly import hourly

    store_url = _with_password(pg_database)
    config = _project(tmp_path, store_url, "lock_timeout: 1s")
    hourly(as_of=T0 + H + timedelta(minutes=15), **_paths(tmp_path))
    monitor = config.monitors.monitors[0]
    with _pg_holder(pg_database, "LOCK TABLE watermarks IN ACCESS EXCLUSIVE MODE"):
        ctx = Context.from_config(config)
        clock = time.monotonic()
        with pytest.raises(StoreError) as info:  # what the planning task fails with
            plan_windows(ctx, monitor, T0 + 2 * H + timedelta(minutes=15))
        assert time.monotonic() - clock < 5
        ctx.close()
        message = str(info.value)
        assert message.startswith(f"results store {re.sub(PASSWORD, '***', store_url)}: ")
        assert "gave up after waiting 1s (store.lock_timeout)" in message
        assert "FROM watermarks" in message and "pg_stat_activity" in message
        assert PASSWORD not in message
        clock = time.monotonic()
        with pytest.raises(LookoutError, match=r"bot \(planning failed\)"):
            hourly(as_of=T0 + 2 * H + timedelta(minutes=15), **_paths(tmp_path))
        assert time.monotonic() - clock < HOLD_S - 5
    store = ResultsStore(store_url)
    assert store.watermark("bot") == T0 + H
    again = hourly(as_of=T0 + 2 * H + timedelta(minutes=15), **_paths(tmp_path))
    assert [r.window.start for r in again["results"]] == [T0 + H]
    assert store.watermark("bot") == T0 + 2 * H
    store.dispose()


@pytest.mark.postgres
@pytest.mark.prefect
def test_a_held_monitor_lock_fails_the_window_within_the_monitor_lock_timeout(
    tmp_path, pg_database, prefect_api, no_retry_delay
):
    from lookout.flows.hourly import hourly

    store_url = _with_password(pg_database)
    _project(tmp_path, store_url, "monitor_lock_timeout: 1s")
    # the documented key: the first 8 bytes of sha256("lookout:<monitor>"), signed
    key = int.from_bytes(hashlib.sha256(b"lookout:bot").digest()[:8], "big", signed=True)
    with _pg_holder(pg_database, f"SELECT pg_advisory_lock({key})") as holder:
        clock = time.monotonic()
        with pytest.raises(LookoutError, match=r"1 window\(s\) failed: bot 2026-11-02T00:00Z/1h"):
            hourly(as_of=T0 + H + timedelta(minutes=15), **_paths(tmp_path))
        assert time.monotonic() - clock < HOLD_S - 5
    store = ResultsStore(store_url)
    failed = _failed_runs(store)
    assert len(failed) == 2
    _assert_failed_fast(failed, 5)
    for run in failed:
        error = run["error"]
        assert f"results store {re.sub(PASSWORD, '***', store_url)}" in error
        assert "could not take the alert state lock of 'bot' within 1s" in error
        assert "(store.monitor_lock_timeout)" in error
        assert f"PostgreSQL advisory lock {key}" in error and f"backend pid {holder}" in error
        assert "pg_stat_activity" in error and PASSWORD not in error
    assert store.watermark("bot") is None
    assert store.metrics("bot") == [] and store.alerts("bot") == []
    _assert_paged_once(store, tmp_path)
    again = hourly(as_of=T0 + H + timedelta(minutes=15), **_paths(tmp_path))
    assert [r.window.start for r in again["results"]] == [T0]
    assert store.watermark("bot") == T0 + H
    store.dispose()


@contextmanager
def _process_holding_flock(path: Path) -> Iterator[Callable[[], None]]:
    """Another process holds an exclusive flock on `path` (HOLD_S at most); yields release."""
    code = (
        "import fcntl, sys, time\n"
        f"handle = open({str(path)!r}, 'a')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "import select\n"
        f"select.select([sys.stdin], [], [], {HOLD_S})\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

    def release() -> None:
        if holder.poll() is None:
            holder.communicate("go\n", timeout=30)

    try:
        yield release
    finally:
        release()


def test_a_held_sqlite_monitor_lock_file_fails_the_window_within_the_timeout(tmp_path):
    path = tmp_path / "results.sqlite"
    config = _project(tmp_path, f"sqlite:///{path}", "monitor_lock_timeout: 1s")
    ctx = Context.from_config(config)
    monitor = ctx.config.monitors.monitors[0]
    window = Window(T0, T0 + H)
    lock_file = Path(f"{path}.bot.lock")
    with _process_holding_flock(lock_file) as release:
        clock = time.monotonic()
        failed = run_window(ctx, monitor, window)
        waited = time.monotonic() - clock
        release()
    assert failed.status == "failed"
    assert 1 <= waited < 5  # waited for the lock, within the limit
    assert f"results store sqlite:///{path}" in failed.error
    assert "could not take the alert state lock of 'bot' within 1s" in failed.error
    assert f"another process holds the lock file {lock_file}" in failed.error
    assert ctx.store.watermark("bot") is None and ctx.store.metrics("bot") == []
    assert [r.kind for r in ctx.store.outbox()] == ["failure"]
    again = run_window(ctx, monitor, window)  # the lock is free now
    assert again.status == "succeeded" and ctx.store.watermark("bot") == T0 + H
    ctx.close()


def test_the_store_lock_timeout_is_the_sqlite_busy_timeout(tmp_path):
    path = tmp_path / "results.sqlite"
    config = _project(tmp_path, f"sqlite:///{path}", "lock_timeout: 1s")
    ctx = Context.from_config(config)
    monitor = ctx.config.monitors.monitors[0]
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    try:
        clock = time.monotonic()
        failed = run_window(ctx, monitor, Window(T0, T0 + H))
        waited = time.monotonic() - clock
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert failed.status == "failed"
    assert waited < 10  # ~1 s for the commit (and ~1 s to record the failure), not 30 s
    assert "commit of bot 2026-11-02T00:00Z/1h failed: database is locked" in failed.error
    assert "gave up after waiting 1s (store.lock_timeout)" in failed.error
    assert ctx.store.watermark("bot") is None
    assert run_window(ctx, monitor, Window(T0, T0 + H)).status == "succeeded"
    ctx.close()

"""A table that stopped fitting its config (a mapped column dropped or renamed): every window
would fail alike. The run tries the first window once (no retry pause), leaves the monitor's
later windows for the next run, and pages its owner once a day, not once per window and hour.
Transient failures keep their retry and their page per window."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.conftest import T0, duckdb_project

from lookout.cli.common import SaidByLookout
from lookout.errors import LookoutError, TableMismatchError
from lookout.notify.queue import failure_fingerprint
from lookout.pipeline import Context, run_window
from lookout.store import ResultsStore, schema
from lookout.windows import Window

H = timedelta(hours=1)


def _notices(store: ResultsStore) -> list:
    return [row for row in store.outbox() if row.kind == "failure"]


def _set_latency_column(tmp_path, present: bool) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    with engine.begin() as conn:
        if present:
            conn.exec_driver_sql("ALTER TABLE app_requests RENAME COLUMN lat TO latency_ms")
        else:
            conn.exec_driver_sql("ALTER TABLE app_requests RENAME COLUMN latency_ms TO lat")
    engine.dispose()


@pytest.mark.prefect
def test_a_table_that_stopped_fitting_is_tried_once_and_pages_once(tmp_path, prefect_api):
    from lookout.flows.hourly import hourly

    duckdb_project(tmp_path, threshold=0.9)
    _set_latency_column(tmp_path, present=False)  # a migration renamed the column
    paths = {
        "profiles_path": str(tmp_path / "cfg" / "profiles.yml"),
        "monitors_path": str(tmp_path / "cfg" / "monitors.yml"),
    }
    as_of = T0 + 3 * H + timedelta(minutes=15)
    with pytest.raises(LookoutError) as raised:
        hourly(as_of=as_of, **paths)
    said = str(raised.value)
    assert said.startswith("1 window(s) failed: bot 2026-11-02T00:00Z/1h; bot: 2 later window(s)")
    assert "'latency_ms' is not in table 'app_requests'" in said
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    assert [r["status"] for r in store.runs("bot")] == ["failed"]  # one try: no retry
    [notice] = _notices(store)
    assert notice.status == "sent"

    # an hour later the table still does not fit: the run fails again, nobody is paged again
    with pytest.raises(LookoutError, match="3 later window"):
        hourly(as_of=as_of + H, **paths)
    assert [r["status"] for r in store.runs("bot")] == ["failed", "failed"]
    assert [row.message_id for row in _notices(store)] == [notice.message_id]

    _set_latency_column(tmp_path, present=True)  # fixed: every window left is run
    summary = hourly(as_of=as_of + H, **paths)
    assert [r.window.start for r in summary["results"]] == [T0 + i * H for i in range(4)]
    assert store.watermark("bot") == T0 + 4 * H
    store.dispose()


def _failing(message: str):  # type: ignore[no-untyped-def]
    def crash(stage: str) -> None:
        if stage == "ops":
            raise RuntimeError(message)

    return crash


def test_the_same_error_on_another_window_pages_once_a_day(tmp_path, store_url):
    ctx = Context.from_config(duckdb_project(tmp_path, store=store_url, threshold=0.9))
    monitor = ctx.config.monitors.monitors[0]
    windows = [Window(T0 + i * H, T0 + (i + 1) * H) for i in range(4)]
    ctx.before_stage = _failing("injected: the warehouse is gone")
    assert run_window(ctx, monitor, windows[0]).status == "failed"
    assert run_window(ctx, monitor, windows[1]).status == "failed"
    [first] = _notices(ctx.store)  # the second window's failure is the same error
    assert run_window(ctx, monitor, windows[0]).status == "failed"  # its own id: not twice
    assert len(_notices(ctx.store)) == 1

    ctx.before_stage = _failing("injected: permission denied")  # another error pages
    assert run_window(ctx, monitor, windows[2]).status == "failed"
    assert len(_notices(ctx.store)) == 2

    # a day after the first notice the same error pages again
    with ctx.store.engine.begin() as conn:
        conn.execute(
            sa.update(schema.outbox)
            .where(schema.outbox.c.message_id == first.message_id)
            .values(created_at=first.created_at - timedelta(days=1, minutes=1))
        )
    ctx.before_stage = _failing("injected: the warehouse is gone")
    assert run_window(ctx, monitor, windows[3]).status == "failed"
    assert len(_notices(ctx.store)) == 3
    ctx.close()


def test_a_failure_no_retry_fixes_pages_on_its_first_try(tmp_path):
    """Prefect does not retry it, so the first try is the one that stands."""
    ctx = Context.from_config(duckdb_project(tmp_path, threshold=0.9))
    monitor = ctx.config.monitors.monitors[0]

    def mismatch(stage: str) -> None:
        if stage == "ops":
            raise TableMismatchError("monitors.yml: a column is gone")

    ctx.before_stage = mismatch
    result = run_window(ctx, monitor, Window(T0, T0 + H), final_attempt=False)
    assert result.status == "failed" and result.permanent
    assert [row.status for row in _notices(ctx.store)] == ["pending"]
    ctx.before_stage = _failing("injected: a hiccup")  # a retry may fix this one: no page yet
    result = run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H), final_attempt=False)
    assert result.status == "failed" and not result.permanent
    assert len(_notices(ctx.store)) == 1
    ctx.close()


def test_times_in_an_error_do_not_make_it_another_error(tmp_path):
    config = duckdb_project(tmp_path, threshold=0.9)
    monitor = config.monitors.monitors[0]
    one = failure_fingerprint(monitor, "timeout: 2026-11-02 00:00:00+00:00 to 2026-11-02T01:00Z")
    two = failure_fingerprint(monitor, "timeout: 2026-11-02 05:00:00+00:00 to 2026-11-02T06:00Z")
    other = failure_fingerprint(monitor, "permission denied for table app_requests")
    assert one == two != other


def _record(message: str, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error is not None else None
    return logging.LogRecord("prefect.task_runs", logging.ERROR, "", 0, message, (), exc_info)


def test_a_quiet_command_leaves_out_prefect_lines_that_repeat_lookouts_own_error():
    keep = SaidByLookout().filter
    assert not keep(_record("Task run failed with exception", LookoutError("bot: failed")))
    assert not keep(_record('Finished in state Failed("... LookoutError: bot: failed")'))
    # a bug is not one of Lookout's errors: its traceback is what a report needs
    assert keep(_record("Task run failed with exception", KeyError("latency")))


def test_failure_notices_of_one_error_are_queues_of_their_own():
    """Their fingerprint names the error (for the once-a-day repeat), not an alert: a notice
    whose Slack route fails must not hold another route's notice of the same error."""
    from lookout.store.outbox import OutboxRow

    def row(message_id: str, kind: str) -> OutboxRow:
        return OutboxRow(message_id, kind, "bot", "#a", {}, "pending", 0, T0, None, "fp")

    assert row("n1", "failure").queue != row("n2", "failure").queue
    assert row("o1", "open").queue == row("o2", "resolve").queue  # an alert's, in order


def test_only_a_failure_no_retry_fixes_goes_without_its_retry():
    from prefect.states import Failed

    from lookout.flows.tasks import WindowFailed, worth_retrying

    mismatch = WindowFailed("bot 00:00: a column is gone", permanent=True)
    hiccup = WindowFailed("bot 00:00: connection reset")
    assert not worth_retrying(None, None, Failed(data=mismatch))
    assert worth_retrying(None, None, Failed(data=hiccup))

    class Unreadable:  # a state whose result cannot be read: retried, as before
        def result(self, raise_on_failure: bool = True) -> None:
            raise RuntimeError("result not persisted")

    assert worth_retrying(None, None, Unreadable())

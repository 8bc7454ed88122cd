"""The backfill flow through a real Prefect API: the range's windows, skipping what has results
unless `force`, its artifacts; and a backfill of some stages keeping the others' results."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa
from tests.conftest import T0, duckdb_project
from tests.test_pipeline import _ctx

from lookout.pipeline import Stage, run_window
from lookout.store import ResultsStore, schema
from lookout.windows import Window

H = timedelta(hours=1)


def _artifacts(flow_run_id) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )

    return {(a.key or a.type): a for a in asyncio.run(read())}


@pytest.mark.prefect
def test_backfill_runs_the_range_skips_done_windows_and_force_recomputes(tmp_path, prefect_api):
    from lookout.flows.backfill import build_backfill_flow

    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    duckdb_project(tmp_path, threshold=0.03)
    backfill = build_backfill_flow(["bot"])
    args = {
        "start": T0,
        "end": T0 + 3 * H,
        "monitor": "bot",
        "profiles_path": str(tmp_path / "cfg" / "profiles.yml"),
        "monitors_path": str(tmp_path / "cfg" / "monitors.yml"),
        "concurrency": 3,
    }
    state = backfill(**args, return_state=True)
    first = state.result()
    assert sorted(w.start for w in first["windows"]) == [T0, T0 + H, T0 + 2 * H]
    store = ResultsStore(store_url)
    assert store.watermark("bot") == T0 + 3 * H  # out-of-order commits still close the gaps
    assert len(store.runs("bot")) == 3
    assert store.outbox() == []  # notify is off: old windows page nobody...
    assert store.alerts("bot")  # ...but their alert state is stored

    artifacts = _artifacts(state.state_details.flow_run_id)
    summary = artifacts["lookout-backfill-summary"]
    assert "| bot | 3 | 600 |" in summary.data and "3 window(s) to run" in summary.data
    table = artifacts["lookout-bot-metrics"].data
    rows = table if isinstance(table, list) else __import__("json").loads(table)
    assert {(r["window"], r["release"]) for r in rows} == {
        (f"{T0 + i * H:%Y-%m-%d %H:%M}", rel) for i in range(3) for rel in ("m1@p1", "m2@p2")
    }
    assert artifacts["progress"].data == 100.0

    again = backfill(**args)  # nothing missing: nothing recomputed
    assert again["windows"] == [] and len(store.runs("bot")) == 3
    forced = backfill(**{**args, "end": T0 + 2 * H}, force=True)
    assert sorted(w.start for w in forced["windows"]) == [T0, T0 + H]
    assert len(store.runs("bot")) == 5  # exactly those two windows again
    with store.engine.connect() as conn:  # one result set per window, however often it ran
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.windows)) == 3
    store.dispose()


@pytest.mark.prefect
def test_a_backfill_with_notify_sends_what_it_queued_at_its_end(tmp_path, prefect_api):
    """`--notify` pages about the range's alerts when the backfill ends: a trial saw "paged"
    in the alert history while the messages waited for the next hourly run."""
    from tests.fakes import outbox_files

    from lookout.flows.backfill import build_backfill_flow

    duckdb_project(tmp_path, threshold=0.03)
    done = build_backfill_flow(["bot"])(
        start=T0,
        end=T0 + 3 * H,
        monitor="bot",
        notify=True,
        profiles_path=str(tmp_path / "cfg" / "profiles.yml"),
        monitors_path=str(tmp_path / "cfg" / "monitors.yml"),
    )
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    rows = store.outbox()
    assert rows and {row.status for row in rows} == {"sent"}  # nothing left for later
    files = outbox_files(tmp_path / "cfg" / "out" / "outbox")
    assert done["sent"] == len(files) >= 1  # deliveries (a group carries several messages)
    assert {f["message_id"] for f in files} <= {row.message_id for row in rows}
    store.dispose()


@pytest.mark.prefect
def test_a_backfill_rejects_an_empty_range(tmp_path, prefect_api):
    from lookout.errors import LookoutError
    from lookout.flows.backfill import build_backfill_flow

    with pytest.raises(LookoutError, match="must be after start"):
        build_backfill_flow(["bot"])(start=T0, end=T0, monitor="bot")


def test_a_backfill_of_some_stages_keeps_the_other_stages_results(tmp_path):
    from lookout.config.models import DriftReference

    ctx = _ctx(tmp_path)
    base = ctx.config.monitors.monitors[0]
    baseline = DriftReference(kind="baseline", start=T0, end=T0 + H)
    drift = base.drift.model_copy(update={"enabled": True, "reference": baseline, "min_n": 20})
    monitor = base.model_copy(update={"drift": drift})
    w0, w1 = Window(T0, T0 + H), Window(T0 + H, T0 + 2 * H)
    run_window(ctx, monitor, w0)
    first = run_window(ctx, monitor, w1)
    assert first.status == "succeeded"

    def stored():
        with ctx.store.engine.connect() as conn:
            drift = sorted(tuple(r) for r in conn.execute(sa.select(schema.drift)).all())
            metrics = sorted(
                (r.window_start, r.release, r.cohort, r.metric, r.value, r.n)
                for r in conn.execute(sa.select(schema.metrics)).all()
            )
        return drift, metrics

    drift_before, metrics_before = stored()
    assert any(m[3].startswith("drift") for m in metrics_before)
    again = run_window(ctx, monitor, w1, stages=[])  # ops metrics and alerts only
    assert again.status == "succeeded" and again.drifted == ()
    drift_after, metrics_after = stored()
    assert drift_after == drift_before  # the drift stage's rows, untouched (same run ids)
    assert metrics_after == metrics_before  # its metrics kept, the rest recomputed equal
    rerun = run_window(ctx, monitor, w1, stages=[Stage.drift])
    assert rerun.status == "succeeded"
    assert stored()[1] == metrics_before
    ctx.close()


def test_split_range_cuts_on_window_boundaries():
    from lookout.flows.backfill import split_range

    assert split_range(T0, T0 + 6 * H, H, 2) == [(T0, T0 + 3 * H), (T0 + 3 * H, T0 + 6 * H)]
    assert split_range(T0, T0 + 5 * H, H, 2) == [(T0, T0 + 3 * H), (T0 + 3 * H, T0 + 5 * H)]
    assert split_range(T0, T0 + 2 * H, H, 5) == [(T0, T0 + H), (T0 + H, T0 + 2 * H)]
    # a range that does not start on a boundary keeps its own ends
    odd = split_range(T0 + timedelta(minutes=30), T0 + 4 * H, H, 2)
    assert odd[0][0] == T0 + timedelta(minutes=30) and odd[-1][1] == T0 + 4 * H
    assert all(a[1] == b[0] for a, b in pairwise(odd))


def test_the_run_form_schema_lists_the_configured_monitors():
    from prefect.utilities.callables import parameter_schema

    from lookout.flows.backfill import build_backfill_flow

    schema = parameter_schema(build_backfill_flow(["alpha", "beta"]).fn).model_dump()
    properties = schema["properties"]
    assert properties["monitor"]["enum"] == ["all", "alpha", "beta"]
    assert properties["start"]["format"] == properties["end"]["format"] == "date-time"
    assert properties["stages"]["default"] == ["validate", "drift", "evaluate"]
    assert schema["definitions"]["Stage"]["enum"] == ["validate", "drift", "evaluate"]


def test_windows_that_look_up_the_previous_release_run_in_time_order(tmp_path):
    from lookout.config.models import DriftReference
    from lookout.flows.tasks import needs_time_order

    ctx = _ctx(tmp_path)
    base = ctx.config.monitors.monitors[0]
    assert not needs_time_order(base)  # drift off, no change rules: side by side
    drift = base.drift.model_copy(update={"enabled": True})
    assert needs_time_order(base.model_copy(update={"drift": drift}))
    pinned = drift.model_copy(
        update={"reference": DriftReference(kind="baseline", start=T0, end=T0 + H)}
    )
    # a pinned reference, but verdicts pool the stored summaries of the trailing 24 hours
    assert needs_time_order(base.model_copy(update={"drift": pinned}))
    hourly = pinned.model_copy(update={"period": H})  # each window on its own
    assert not needs_time_order(base.model_copy(update={"drift": hourly}))
    from lookout.config.models import AlertRule

    rule = AlertRule(**{**base.rules[0].model_dump(), "reference": {"kind": "previous_release"}})
    assert needs_time_order(base.model_copy(update={"rules": [rule]}))
    ctx.close()


def test_backfill_ranges_are_bounded_by_the_monitor_start_and_a_maximum(tmp_path):
    from prefect.logging import disable_run_logger

    from lookout.errors import LookoutError
    from lookout.flows.backfill import backfill_windows, build_backfill_flow

    config = duckdb_project(tmp_path)
    monitor = config.monitors.monitors[0]  # window.start is T0, hourly windows
    as_of = T0 + 30 * 24 * H
    # a range straddling the start begins at the start (no empty windows before the monitor)
    windows = backfill_windows(monitor, T0 - 48 * H, T0 + 2 * H, as_of, set(), force=True)
    assert [w.start for w in windows] == [T0, T0 + H]
    with pytest.raises(ValueError, match="lies before it: nothing to backfill"):
        backfill_windows(monitor, T0 - 48 * H, T0 - H, as_of, set(), force=True)
    with pytest.raises(ValueError, match=r"719 windows, more than window.max_backfill_windows"):
        backfill_windows(
            monitor.model_copy(
                update={"window": monitor.window.model_copy(update={"max_backfill_windows": 100})}
            ),
            T0,
            T0 + 30 * 24 * H,
            as_of,
            set(),
            force=False,
        )
    # too long a range through the flow: refused at once, nothing stored
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.write_text(
        monitors.read_text().replace("start: 2026-11-02T00:00:00Z", "max_backfill_windows: 10")
    )
    backfill = build_backfill_flow(["bot"])
    with disable_run_logger(), pytest.raises(LookoutError, match="max_backfill_windows"):
        backfill.fn(
            start=T0.replace(year=2016),
            end=T0 + 2 * H,
            monitor="bot",
            profiles_path=str(tmp_path / "cfg" / "profiles.yml"),
            monitors_path=str(tmp_path / "cfg" / "monitors.yml"),
        )
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    try:
        assert store.runs() == []
    finally:
        store.dispose()

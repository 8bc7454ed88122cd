"""The store's repositories on SQLite and PostgreSQL: a window commit replaces rather than adds,
the watermark moves only over contiguous windows, a stage not re-run keeps its rows, summary
gaps tell which windows a lookback cannot trust, silences expire. Through `ResultsStore` (the
facade every caller uses) and the repository functions it delegates to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lookout.core.summary import Summary
from lookout.model.aggregates import MetricValue
from lookout.model.expectations import ExpectationOutcome
from lookout.store import WindowCommit, window_rows
from lookout.windows import Window

T0 = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


def _commit(start: datetime, *, run: str, value: float = 1.0, **extra) -> WindowCommit:
    return WindowCommit(
        run_id=run,
        monitor="bot",
        window=Window(start, start + H),
        started_at=start + H,
        finished_at=start + H,
        rows_read=10,
        metric_path="pandas",
        metrics=[MetricValue("r1", "*", "error_rate", value, 10)],
        initial_frontier=T0,
        **extra,
    )


def test_a_rerun_replaces_the_window_and_the_watermark_stops_at_a_gap(store):
    assert store.commit_window(_commit(T0, run="a")) == T0 + H
    assert store.commit_window(_commit(T0 + 2 * H, run="b")) == T0 + H  # hour 1 missing
    assert store.watermark("bot") == T0 + H
    assert store.commit_window(_commit(T0, run="c", value=0.5)) == T0 + H  # a re-run
    rows = store.metrics("bot", metric="error_rate")
    assert [(r["window_start"].replace(tzinfo=UTC), r["value"]) for r in rows] == [
        (T0, 0.5),
        (T0 + 2 * H, 1.0),
    ]
    assert store.commit_window(_commit(T0 + H, run="d")) == T0 + 3 * H  # the gap filled
    assert [r["status"] for r in store.runs("bot")] == ["succeeded"] * 4
    with store.engine.connect() as conn:
        assert window_rows.read_watermark(conn, "bot") == T0 + 3 * H
        assert set(window_rows.processed_windows(conn, "bot", T0)) == {
            Window(T0 + i * H, T0 + (i + 1) * H) for i in range(3)
        }


def test_a_stage_not_rerun_keeps_its_rows(store):
    failed = ExpectationOutcome("status_known", "in_set", "status", "critical", "r1", "failed")
    summary = Summary()
    store.commit_window(
        _commit(
            T0,
            run="a",
            validations=[failed],
            quarantine={"rec-1": ("r1", ("status_known",))},
            summaries={("ops", "r1", "*"): summary},
            stages_run=frozenset({"ops", "validate"}),
        )
    )
    # a backfill of the ops stage only: validation and its quarantine stay as stored
    store.commit_window(_commit(T0, run="b", keep=frozenset({"validation"})))
    assert [v["expectation"] for v in store.validations("bot", "failed")] == ["status_known"]
    assert store.quarantined_ids("bot", Window(T0, T0 + H)) == {"rec-1"}
    [window] = [r for r in store.runs("bot") if r["run_id"] == "b"]
    assert window["status"] == "succeeded"
    # summaries of the ops stage were written by run a and not replaced by run b (no ops
    # summaries and ops not in stages_run): the lookback still sees the window
    assert store.summary_gaps("bot", "ops", T0, T0 + H, H) == []
    assert store.summary_gaps("bot", "ops", T0, T0 + 2 * H, H) == [T0 + H]  # never processed


def test_a_silence_ends_when_expired(store):
    from lookout.model.alerts import Silence

    silence = Silence("s1", {"monitor": "bot"}, T0, T0 + 4 * H, "oncall", "maintenance")
    store.add_silence(silence)
    assert [s.silence_id for s in store.silences(active_at=T0 + H)] == ["s1"]
    assert store.expire_silence("s1", T0 + 2 * H)
    assert store.silences(active_at=T0 + 3 * H) == []
    assert not store.expire_silence("nope", T0)

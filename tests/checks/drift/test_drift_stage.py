"""run_drift on a DuckDB warehouse: verdicts per release x cohort, metrics, not enough data,
the reference profile cache ("the second night") and the three kinds of reference.

Verdicts pool the trailing `drift.period` of stored summaries; these tests call `run_drift`
directly and store none, so each window's verdicts are its own rows (the pooling is tested
through `run_window` in tests/checks/drift/test_drift_pipeline.py)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import T0, write_table

from lookout.config.models import Monitor
from lookout.model.aggregates import MetricValue
from lookout.sources.drift_summaries import window_summaries
from lookout.sources.warehouse import Warehouse
from lookout.stages.drift import pooling, stage
from lookout.stages.drift.outcome import DriftOutcome
from lookout.stages.drift.stage import run_drift
from lookout.store.results import ResultsStore, WindowCommit
from lookout.windows import Window

H = timedelta(hours=1)
LAUNCH = T0 + 24 * H  # m2@p2 first appears
W1 = Window(LAUNCH, LAUNCH + H)  # first night of m2
W2 = Window(LAUNCH + H, LAUNCH + 2 * H)  # the second night
REGIONS = (["us", "eu", "apac"], [0.45, 0.45, 0.1])
COMPARED = {
    "latency_ms",
    "prompt_tokens",
    "route",
    "status",
    "is_fallback",
    "region",
    "output_length",
    "output_empty",
    "output_refusal",
    "output_json",
    "output_script",
}


def traffic(
    rng: np.random.Generator,
    start: datetime,
    hours: int,
    per_hour: int,
    release: tuple[str, str],
    *,
    eu_shift: float = 0.0,
) -> pd.DataFrame:
    """Requests of one release; `eu_shift` multiplies the latency of region eu by e^shift."""
    n = hours * per_hour
    ts = pd.Timestamp(start.replace(tzinfo=None)) + pd.to_timedelta(
        np.sort(rng.uniform(0, hours * 3600, n)), unit="s"
    )
    region = rng.choice(REGIONS[0], n, p=REGIONS[1])
    latency = rng.lognormal(6.5, 0.4, n) * np.where(region == "eu", np.exp(eu_shift), 1.0)
    return pd.DataFrame(
        {
            "request_id": [f"{release[0]}-{start:%d%H}-{i:05d}" for i in range(n)],
            "event_time": ts.astype("datetime64[us]"),
            "model_version": release[0],
            "prompt_version": release[1],
            "route": rng.choice(["faq", "search", "fallback"], n, p=[0.5, 0.3, 0.2]),
            "region": region,
            "latency_ms": latency.round(1),
            "prompt_tokens": rng.integers(50, 500, n),
            "status": np.where(rng.random(n) < 0.05, "error", "ok"),
            "is_fallback": rng.random(n) < 0.1,
            "output": rng.choice(
                ["Your quota is 10 GB.", "It resets monthly.", "I can't help with that.", ""],
                n,
                p=[0.5, 0.35, 0.1, 0.05],
            ),
        }
    )


def make_monitor(reference: dict | None = None, **drift: object) -> Monitor:
    """The monitor, with a drift period of one window unless given: m2 is then as old as the
    period at W1, and compared with m1's whole last day (a release younger than its period is
    compared with the same hours of the day before: tested on its own below)."""
    drift = {"period": "1h", **drift}
    return Monitor.model_validate(
        {
            "name": "bot",
            "source": {
                "table": "requests",
                "columns": {
                    "record_id": "request_id",
                    "ts": "event_time",
                    "model_version": "model_version",
                    "prompt_version": "prompt_version",
                    "route": "route",
                    "output": "output",
                    "latency_ms": "latency_ms",
                    "prompt_tokens": "prompt_tokens",
                    "status": "status",
                    "is_fallback": "is_fallback",
                },
                "cohorts": ["region"],
            },
            "drift": {"enabled": True, "reference": reference or {}, **drift},
        }
    )


def warehouse_with(tmp_path: Path, frame: pd.DataFrame) -> Warehouse:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests")
    engine.dispose()
    return Warehouse(url)


def commit_seen(store: ResultsStore, window: Window, releases: list[str]) -> None:
    """What the pipeline commits after a window: its request counts (release first-seen)."""
    store.commit_window(
        WindowCommit(
            run_id=f"run-{window.start:%d%H}",
            monitor="bot",
            window=window,
            started_at=window.end,
            finished_at=window.end,
            rows_read=len(releases),
            metric_path="pandas",
            metrics=[MetricValue(r, "*", "request_count", 1.0, 1) for r in releases],
            initial_frontier=T0,
        )
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(41)
    return pd.concat(
        [
            traffic(rng, T0, 24, 60, ("m1", "p1")),  # the reference: m1 for a day
            traffic(rng, LAUNCH, 2, 60, ("m1", "p1")),  # m1 still serves a little
            traffic(rng, LAUNCH, 2, 440, ("m2", "p2"), eu_shift=0.5),  # m2: eu is slower
        ],
        ignore_index=True,
    )


@pytest.fixture
def setup(tmp_path: Path, frame: pd.DataFrame):
    warehouse = warehouse_with(tmp_path, frame)
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    commit_seen(store, Window(T0, T0 + H), ["m1@p1"])
    yield warehouse, store
    warehouse.dispose()
    store.dispose()


def rows_by(outcome: DriftOutcome) -> dict[tuple[str, str, str], object]:
    return {(r.release, r.cohort, r.column): r for r in outcome.rows}


def drifted_columns(outcome: DriftOutcome, release: str, cohort: str) -> set[str]:
    """Columns that drifted and that no cohort explains (what alerts)."""
    return {
        r.column for r in outcome.rows if (r.release, r.cohort) == (release, cohort) and r.alerting
    }


def explained_columns(outcome: DriftOutcome, release: str, cohort: str) -> dict[str, str]:
    return {
        r.column: r.explained_by
        for r in outcome.rows
        if (r.release, r.cohort) == (release, cohort) and r.explained_by
    }


def metrics_of(outcome: DriftOutcome, release: str, cohort: str) -> dict[str, float]:
    return {
        m.metric: m.value for m in outcome.metrics if (m.release, m.cohort) == (release, cohort)
    }


def in_period(frame: pd.DataFrame, period: Window) -> pd.DataFrame:
    start = pd.Timestamp(period.start.replace(tzinfo=None))
    end = pd.Timestamp(period.end.replace(tzinfo=None))
    return frame[(frame.event_time >= start) & (frame.event_time < end)]


def test_previous_release_reference_flags_only_the_shifted_cohort(setup, frame):
    warehouse, store = setup
    outcome = run_drift(warehouse, store, make_monitor(), W1, W1.end)

    assert outcome.no_reference == ["m1@p1"]  # the first release has nothing before it
    assert {r.release for r in outcome.rows} == {"m2@p2"}
    reference = outcome.references["m2@p2"]
    assert reference.release_label == "m1@p1" and reference.release_values == ("m1", "p1")
    assert reference.period == Window(T0, LAUNCH)  # default lookback: one day before launch
    assert "previous release m1@p1" in reference.description
    assert outcome.period == W1  # make_monitor's one-window period

    # Only eu's latency moved: drifted there, not in us, and nothing else anywhere. The whole
    # release drifted too, because of eu: explained by it, so it does not alert again.
    assert drifted_columns(outcome, "m2@p2", "region=eu") == {"latency_ms"}
    assert drifted_columns(outcome, "m2@p2", "region=us") == set()
    assert drifted_columns(outcome, "m2@p2", "*") == set()
    assert explained_columns(outcome, "m2@p2", "*") == {"latency_ms": "region=eu"}
    assert outcome.drifted_groups() == [("m2@p2", "region=eu")]

    rows = rows_by(outcome)
    assert {c for (_, cohort, c) in rows if cohort == "*"} == COMPARED
    assert {c for (_, cohort, c) in rows if cohort == "region=eu"} == COMPARED - {"region"}
    eu = rows[("m2@p2", "region=eu", "latency_ms")]
    # a large effect (normed Wasserstein past its 0.1 floor); 204 rows: the KS test must
    # reject too, and does
    assert eu.method == "wasserstein" and eu.status == "drifted" and eu.score > 1.0
    assert eu.threshold == 0.1 and eu.gate == "ks" and eu.gate_p < 1e-6
    assert eu.reference == reference.description and eu.period_start == outcome.period.start
    whole = rows[("m2@p2", "*", "latency_ms")]
    assert whole.drifted and whole.status == "explained" and whole.explained_by == "region=eu"
    # n on both sides: the m1 rows of the reference day, the m2 rows of the window
    ref_rows = in_period(frame, reference.period)
    cur_rows = in_period(frame, W1)
    cur_m2 = cur_rows[cur_rows.model_version == "m2"]
    assert (ref_rows.model_version == "m1").all()
    assert whole.n_reference == len(ref_rows)
    assert whole.n_current == len(cur_m2)
    assert eu.n_reference == (ref_rows.region == "eu").sum()
    assert eu.n_current == (cur_m2.region == "eu").sum()


def test_metrics_are_emitted_per_release_and_cohort(setup):
    warehouse, store = setup
    outcome = run_drift(warehouse, store, make_monitor(), W1, W1.end)
    rows = rows_by(outcome)
    output = {c for c in COMPARED if c.startswith("output_")}
    for cohort in ("*", "region=eu", "region=us"):
        got = metrics_of(outcome, "m2@p2", cohort)
        tested = [r for (rel, c, _), r in rows.items() if (rel, c) == ("m2@p2", cohort)]
        assert all(r.drifted is not None for r in tested)
        for r in tested:
            assert got[f"drift.{r.column}"] == float(r.alerting)
            assert got[f"drift_score.{r.column}"] == r.score
        # one signal, one feature: the five output features are one group
        groups = {r.group for r in tested}
        assert {r.group for r in tested if r.column in output} == {"output"}
        assert got["drift.output"] == float(any(r.alerting for r in tested if r.column in output))
        alerting_groups = {r.group for r in tested if r.alerting}
        assert got["drift_share"] == pytest.approx(len(alerting_groups) / len(groups))
        assert len(got) == 2 * len(tested) + 2
    assert metrics_of(outcome, "m2@p2", "region=eu")["drift.latency_ms"] == 1.0
    assert metrics_of(outcome, "m2@p2", "*")["drift.latency_ms"] == 0.0  # explained by eu
    assert metrics_of(outcome, "m2@p2", "region=us")["drift.latency_ms"] == 0.0
    assert metrics_of(outcome, "m2@p2", "region=us")["drift_share"] == 0.0
    share = {m.cohort: m for m in outcome.metrics if m.metric == "drift_share"}
    assert share["region=eu"].n == rows[("m2@p2", "region=eu", "latency_ms")].n_current
    # eu: latency is one of 6 feature groups (5 values + output), not one of 10 columns
    assert share["region=eu"].value == pytest.approx(1 / 6)


def test_small_cohorts_are_not_enough_data_and_emit_no_metrics(setup):
    warehouse, store = setup
    outcome = run_drift(warehouse, store, make_monitor(min_n=100), W1, W1.end)
    apac = [r for r in outcome.rows if r.cohort == "region=apac"]
    assert apac, "apac is compared, with ~44 current rows against min_n 100"
    assert {r.status for r in apac} == {"not_enough_data"}
    assert all(r.drifted is None and r.score is None for r in apac)
    assert all(r.n_current < 100 <= r.n_reference for r in apac)
    assert metrics_of(outcome, "m2@p2", "region=apac") == {}
    # a min_n above every cohort's size: only the whole release is tested (and no cohort
    # can explain its drift)
    strict = run_drift(warehouse, store, make_monitor(min_n=300), W1, W1.end)
    assert {r.status for r in strict.rows if r.cohort != "*"} == {"not_enough_data"}
    assert {m.cohort for m in strict.metrics} == {"*"}
    assert drifted_columns(strict, "m2@p2", "*") == {"latency_ms"}


def test_cohorts_off_compares_whole_releases_only(setup):
    warehouse, store = setup
    outcome = run_drift(warehouse, store, make_monitor(cohorts=False), W1, W1.end)
    assert {r.cohort for r in outcome.rows} == {"*"}
    assert drifted_columns(outcome, "m2@p2", "*") == {"latency_ms"}


class Statements:
    """SQL the warehouse engine runs, with bound parameters (SQLAlchemy cursor events)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, list]] = []

    def __enter__(self) -> Statements:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        self.seen.append((statement, list(values)))

    def touching(self, period: Window) -> list[str]:
        """Statements bound to a moment inside `period` (its start: only it reads it)."""
        start = period.start.replace(tzinfo=None)
        return [
            sql
            for sql, values in self.seen
            if any(isinstance(v, datetime) and v.replace(tzinfo=None) == start for v in values)
        ]


@pytest.mark.parametrize("path", ["local", "pushdown"])
def test_the_reference_profile_is_computed_once_and_reused(setup, tmp_path, monkeypatch, path):
    if path == "pushdown":  # every summary as GROUP BY queries (all visible to the listener)
        pushed = functools.partial(window_summaries, local_max_rows=0)
        monkeypatch.setattr(stage, "window_summaries", pushed)
        monkeypatch.setattr(pooling, "window_summaries", pushed)
    warehouse, store = setup
    monitor = make_monitor()
    reference_period = Window(T0, LAUNCH)

    with Statements(warehouse.engine) as first_night:
        first = run_drift(warehouse, store, monitor, W1, W1.end)
    assert (first.profiles_computed, first.profiles_cached) == (1, 0)
    reads = first_night.touching(reference_period)
    assert reads  # the reference's summaries (and what attribution takes apart) were read

    commit_seen(store, W1, ["m1@p1", "m2@p2"])  # the pipeline commits the first night
    with Statements(warehouse.engine) as second_night:
        second = run_drift(warehouse, store, monitor, W2, W2.end)
    assert (second.profiles_computed, second.profiles_cached) == (0, 1)
    assert second.references["m2@p2"] == first.references["m2@p2"]
    assert len(second_night.seen) < len(first_night.seen)
    # No summary or attribution query reads the reference period again; at most the release
    # listing that finds the previous release's raw values (one GROUP BY count) is left.
    again = second_night.touching(reference_period)
    assert len(again) <= 1, again
    for sql in again:
        assert "ln(" not in sql.lower() and "length(" not in sql.lower()
        assert "count(*)" in sql.lower() and "group by" in sql.lower()

    # The cached profile gives the verdicts a fresh computation gives.
    fresh_store = ResultsStore(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    commit_seen(fresh_store, Window(T0, T0 + H), ["m1@p1"])
    commit_seen(fresh_store, W1, ["m1@p1", "m2@p2"])
    fresh = run_drift(warehouse, fresh_store, monitor, W2, W2.end)
    fresh_store.dispose()
    assert fresh.profiles_computed == 1
    assert second.rows == fresh.rows
    assert second.metrics == fresh.metrics
    assert drifted_columns(second, "m2@p2", "region=eu") == {"latency_ms"}
    assert drifted_columns(second, "m2@p2", "region=us") == set()


def test_a_changed_column_set_is_a_new_profile(setup):
    warehouse, store = setup
    assert run_drift(warehouse, store, make_monitor(), W1, W1.end).profiles_computed == 1
    narrower = make_monitor(columns=["latency_ms", "route"])
    outcome = run_drift(warehouse, store, narrower, W1, W1.end)
    assert (outcome.profiles_computed, outcome.profiles_cached) == (1, 0)
    assert {r.column for r in outcome.rows} == {"latency_ms", "route"}
    assert run_drift(warehouse, store, narrower, W1, W1.end).profiles_cached == 1


def test_baseline_reference_is_shared_by_every_release(setup, frame):
    warehouse, store = setup
    monitor = make_monitor(
        {"kind": "baseline", "start": T0.isoformat(), "end": LAUNCH.isoformat()}, min_n=100
    )
    outcome = run_drift(warehouse, store, monitor, W1, W1.end)
    assert outcome.no_reference == []
    assert set(outcome.references) == {"m1@p1", "m2@p2"}
    assert outcome.references["m1@p1"] == outcome.references["m2@p2"]
    assert outcome.references["m2@p2"].release_values is None  # every release of the period
    assert outcome.references["m2@p2"].description.startswith("baseline 2026-11-02 00:00..")
    assert (outcome.profiles_computed, outcome.profiles_cached) == (1, 0)
    assert drifted_columns(outcome, "m2@p2", "region=eu") == {"latency_ms"}
    assert drifted_columns(outcome, "m2@p2", "region=us") == set()
    assert explained_columns(outcome, "m2@p2", "*") == {"latency_ms": "region=eu"}
    # m1 against a day of itself: nothing moved (60 rows an hour: below min_n, whole release)
    m1 = [r for r in outcome.rows if r.release == "m1@p1"]
    assert m1 and all(not r.drifted for r in m1)
    assert {r.status for r in m1} == {"not_enough_data"}
    n_baseline = len(in_period(frame, Window(T0, LAUNCH)))
    assert {r.n_reference for r in m1 if r.cohort == "*" and r.column == "route"} == {n_baseline}
    # the next window reuses it
    again = run_drift(warehouse, store, monitor, W2, W2.end)
    assert (again.profiles_computed, again.profiles_cached) == (0, 1)


def test_week_ago_reference(tmp_path):
    rng = np.random.default_rng(3)
    week = timedelta(days=7)
    frame = pd.concat(
        [
            traffic(rng, T0, 1, 440, ("m1", "p1")),
            traffic(rng, T0 + week, 1, 440, ("m2", "p2"), eu_shift=0.5),
        ],
        ignore_index=True,
    )
    warehouse = warehouse_with(tmp_path, frame)
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    window = Window(T0 + week, T0 + week + H)
    monitor = make_monitor({"kind": "week_ago"}, period="24h")
    outcome = run_drift(warehouse, store, monitor, window, window.end)
    reference = outcome.references["m2@p2"]
    assert outcome.period == Window(window.end - 24 * H, window.end)
    assert reference.period == Window(window.end - 24 * H - week, window.end - week)
    assert "a week earlier" in reference.description
    assert drifted_columns(outcome, "m2@p2", "region=eu") == {"latency_ms"}
    assert drifted_columns(outcome, "m2@p2", "region=us") == set()
    assert rows_by(outcome)[("m2@p2", "*", "route")].n_reference == 440
    # a week before that there is nothing: no reference rows, no verdicts, no metrics
    earlier = Window(T0, T0 + H)
    empty = run_drift(warehouse, store, monitor, earlier, earlier.end)
    assert empty.rows and {r.status for r in empty.rows} == {"no_reference"}
    assert empty.metrics == []
    warehouse.dispose()
    store.dispose()


def test_a_release_no_other_precedes_is_compared_with_itself_a_week_earlier(tmp_path):
    """A table's only model (the champion before any canary) was never drift-checked: the
    classic-model trial zeroed an input feature for a day and no drift alert came. Once it is a
    week old, it is compared with itself over the same period a week earlier."""
    rng = np.random.default_rng(5)
    week = timedelta(days=7)
    frame = pd.concat(
        [
            traffic(rng, T0, 1, 440, ("m1", "p1")),
            traffic(rng, T0 + week, 1, 440, ("m1", "p1"), eu_shift=0.5),
        ],
        ignore_index=True,
    )
    warehouse = warehouse_with(tmp_path, frame)
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    window = Window(T0 + week, T0 + week + H)
    try:
        commit_seen(store, window, ["m1@p1"])  # first seen now: not a week old to Lookout
        young = run_drift(warehouse, store, make_monitor(), window, window.end)
        assert young.no_reference == ["m1@p1"]
        commit_seen(store, Window(T0, T0 + H), ["m1@p1"])  # seen since a week ago
        outcome = run_drift(warehouse, store, make_monitor(), window, window.end)
    finally:
        warehouse.dispose()
        store.dispose()
    reference = outcome.references["m1@p1"]
    assert reference.period == Window(T0, T0 + H)
    assert reference.description.startswith("same release a week earlier")
    assert "latency_ms" in drifted_columns(outcome, "m1@p1", "region=eu")
    assert "latency_ms" not in drifted_columns(outcome, "m1@p1", "region=us")
    assert rows_by(outcome)[("m1@p1", "*", "route")].n_reference == 440


def test_the_first_release_has_no_reference(setup):
    warehouse, store = setup
    window = Window(T0 + H, T0 + 2 * H)
    outcome = run_drift(warehouse, store, make_monitor(), window, window.end)
    assert outcome.no_reference == ["m1@p1"]
    assert outcome.references == {}
    assert outcome.rows == [] and outcome.metrics == []
    assert (outcome.profiles_computed, outcome.profiles_cached) == (0, 0)


def test_a_release_younger_than_its_period_is_compared_with_the_same_hours_the_day_before(
    tmp_path,
):
    """m1 serves a nightly batch at 03:00 (1,500 long prompts on the fallback route); m2,
    launched at 10:00 the next day, has served six hours and no night yet. Against m1's whole
    last day (batch included) its prompts and routes "drift" though nothing changed: every
    release alerted so on a user's table. Against the same hours of the day before
    (10:00-16:00, no batch) only eu's real slowdown drifts."""
    rng = np.random.default_rng(12)
    launch = T0 + 34 * H
    batch = traffic(rng, T0 + 27 * H, 1, 1500, ("m1", "p1"))
    batch["prompt_tokens"] += 3000
    batch["route"] = "fallback"
    frame = pd.concat(
        [
            traffic(rng, T0, 40, 100, ("m1", "p1")),
            batch,
            traffic(rng, launch, 6, 100, ("m2", "p2"), eu_shift=0.5),
        ],
        ignore_index=True,
    )
    warehouse = warehouse_with(tmp_path, frame)
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    commit_seen(store, Window(T0, T0 + H), ["m1@p1"])
    commit_seen(store, Window(launch, launch + H), ["m1@p1", "m2@p2"])
    window = Window(launch + 5 * H, launch + 6 * H)
    try:
        young = run_drift(warehouse, store, make_monitor(period="24h"), window, window.end)
        whole_day = run_drift(warehouse, store, make_monitor(), window, window.end)
    finally:
        warehouse.dispose()
        store.dispose()
    reference = young.references["m2@p2"]
    assert reference.period == Window(launch - 24 * H, window.end - 24 * H)
    assert "same hours" in reference.description and reference.release_label == "m1@p1"
    assert drifted_columns(young, "m2@p2", "region=eu") == {"latency_ms"}
    assert drifted_columns(young, "m2@p2", "*") == set()
    assert young.drifted_groups() == [("m2@p2", "region=eu")]
    # the period of one window: m2 is as old as it, and m1's whole last day is the reference
    assert whole_day.references["m2@p2"].period == Window(launch - 24 * H, launch)
    assert {"prompt_tokens", "route"} <= drifted_columns(whole_day, "m2@p2", "*")

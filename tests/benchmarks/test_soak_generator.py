"""The soak scenario's data (benchmarks/soak/generate.py): deterministic, shaped like real
traffic at the stated levels, and every incident of the catalogue visible in the raw rows."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from soak.generate import build, generate
from soak.scenario import RELEASES, RULES, Scenario, build_scenario, label
from soak.scoring import clean_days

from lookout.checks.evaluators.groundedness import Groundedness
from lookout.config.loader import load_config

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak"
R1, R2, R3 = (label(RELEASES[k]) for k in ("R1", "R2", "R3"))


def _frame(variant: str) -> tuple[Scenario, pd.DataFrame]:
    scenario = build_scenario(variant=variant)
    frame = generate(scenario)
    frame["release"] = frame["model"] + "@" + frame["prompt_version"].fillna("(null)")
    frame["hour"] = frame["created_at"].dt.floor("h")
    frame["failed"] = frame["status"] != "ok"
    return scenario, frame


@pytest.fixture(scope="module")
def normal() -> tuple[Scenario, pd.DataFrame]:
    return _frame("normal")


@pytest.fixture(scope="module")
def low() -> tuple[Scenario, pd.DataFrame]:
    return _frame("low")


def _hourly(scenario: Scenario, frame: pd.DataFrame) -> np.ndarray:
    """Rows per hour as (day, hour of day), hours without rows included."""
    hours = pd.date_range(
        pd.Timestamp(scenario.start.replace(tzinfo=None)), periods=scenario.days * 24, freq="h"
    )
    counts = frame.groupby("hour").size().reindex(hours, fill_value=0)
    return counts.to_numpy().reshape(scenario.days, 24)


def _during(frame: pd.DataFrame, incident, *, shift: timedelta = timedelta(0)) -> pd.Series:
    lo = pd.Timestamp((incident.onset + shift).replace(tzinfo=None))
    hi = pd.Timestamp((incident.end + shift).replace(tzinfo=None))
    return (frame["created_at"] >= lo) & (frame["created_at"] < hi)


def _incident(scenario: Scenario, key: str):
    return next(i for i in scenario.incidents if i.id == key)


def test_deterministic_by_seed(low) -> None:
    scenario, frame = low
    again = generate(scenario)
    pd.testing.assert_frame_equal(frame.drop(columns=["release", "hour", "failed"]), again)
    other = generate(build_scenario(variant="low", seed=scenario.seed + 1))
    assert len(other) != len(frame) or not other["latency_ms"].equals(again["latency_ms"])


def test_columns_are_the_applications_not_lookouts(normal) -> None:
    _, frame = normal
    for column in ("request_id", "created_at", "model", "prompt", "response", "session_id"):
        assert column in frame
    assert "record_id" not in frame and "ts" not in frame and "model_version" not in frame
    assert frame["request_id"].is_unique
    assert (frame["ingested_at"] > frame["created_at"]).all()


def test_diurnal_and_weekly_shape_at_normal_traffic(normal) -> None:
    scenario, frame = normal
    hourly = _hourly(scenario, frame)
    gaps = [i for i in scenario.incidents if i.family == "gap"]
    weekday = [d for d in range(scenario.days) if (scenario.start.weekday() + d) % 7 < 5]
    weekend = [d for d in range(scenario.days) if d not in weekday]
    night = [22, 23, 0, 1, 2, 3]
    nights = hourly[np.ix_(range(scenario.days), night)]
    assert 20 <= nights.mean() <= 60
    assert np.percentile(nights, 10) >= 12 and np.percentile(nights, 90) <= 75
    peak = hourly[np.ix_(weekday, [13, 14, 15])].mean()
    assert 550 <= peak <= 750
    assert hourly[:, 12:16].mean() > 8 * nights.mean()  # mid-day UTC peak
    days = hourly.sum(axis=1)
    gap_day = {g.onset.date() for g in gaps}
    full_weekdays = [
        d for d in weekday if (scenario.start + timedelta(days=d)).date() not in gap_day
    ]
    ratio = days[weekend].mean() / days[full_weekdays].mean()
    assert 0.4 <= ratio <= 0.65, ratio
    variation = days[full_weekdays].std() / days[full_weekdays].mean()
    assert 0.05 <= variation <= 0.3, variation  # day to day: not identical, not wild
    # overdispersed: the same busy hour across weekdays varies more than Poisson would
    busy = hourly[np.ix_(full_weekdays, [12, 13, 14])]
    assert (busy.var(axis=0) / busy.mean(axis=0)).mean() > 3


def test_the_low_variant_is_about_three_thousand_rows_a_day_same_shape(low, normal) -> None:
    scenario, frame = low
    per_day = len(frame) / scenario.days
    assert 2500 <= per_day <= 3500, per_day
    share = frame.groupby(frame["hour"].dt.hour).size() / len(frame)
    normal_share = normal[1].groupby(normal[1]["hour"].dt.hour).size() / len(normal[1])
    assert np.abs(share - normal_share).max() < 0.01


def test_cohorts_latency_errors_and_feedback_look_like_production(normal) -> None:
    scenario, frame = normal
    for column, (lo, hi) in {"route": (4, 6), "plan": (3, 4), "region": (3, 5)}.items():
        shares = frame[column].value_counts(normalize=True)
        assert lo <= len(shares) <= hi
        assert shares.max() > 2 * shares.min()  # unequal
    quiet = pd.Series(True, index=frame.index)
    for incident in scenario.incidents:
        if incident.end is not None:
            quiet &= ~_during(frame, incident)
    calm = frame[quiet]
    timeouts = calm["status"].eq("timeout").mean()
    assert 0.002 <= timeouts <= 0.005
    assert calm.loc[calm.status == "timeout", "latency_ms"].between(20_000, 30_000).all()
    errors = calm.groupby("region")["status"].apply(lambda s: s.eq("error").mean())
    assert errors.between(0.004, 0.016).all() and errors.max() > 1.5 * errors.min()
    ok = calm[calm.status == "ok"]
    p50 = ok.groupby("route")["latency_ms"].median()
    p95 = ok.groupby("route")["latency_ms"].quantile(0.95)
    assert (p95 / p50).between(1.4, 3.0).all()  # a lognormal-ish tail, per route
    assert p50.max() > 1.3 * p50.min()
    assert (ok["ttft_ms"] < ok["latency_ms"]).all()
    assert 0.05 <= calm["feedback"].notna().mean() <= 0.10


def test_releases_roll_out_as_canaries(normal) -> None:
    scenario, frame = normal
    start = pd.Timestamp(scenario.start.replace(tzinfo=None))

    def share(release: str, day: int, lo: int, hi: int) -> float:
        rows = frame[
            (frame.created_at >= start + pd.Timedelta(days=day, hours=lo))
            & (frame.created_at < start + pd.Timedelta(days=day, hours=hi))
            & frame.prompt_version.notna()
        ]
        return float((rows["release"] == release).mean())

    assert share(R2, 2, 0, 9) == 0
    assert 0.03 <= share(R2, 2, 9, 15) <= 0.08
    assert 0.2 <= share(R2, 2, 15, 24) <= 0.3
    assert 0 < share(R1, 3, 9, 12) <= 0.05  # stragglers
    assert share(R1, 3, 12, 24) == 0
    assert 0.03 <= share(R3, 10, 9, 15) <= 0.08 and share(R2, 11, 12, 24) == 0


def test_at_least_five_clean_days_with_a_weekend_and_a_healthy_canary(normal) -> None:
    scenario, _ = normal
    clean = clean_days(scenario.incidents, scenario.start, scenario.window, scenario.days * 24)
    assert len(clean) >= 5
    assert {5, 6} <= set(clean)  # Saturday and Sunday
    assert {2, 3} <= set(clean)  # R2's canary rollout
    families = {i.family for i in scenario.incidents}
    assert {
        "latency",
        "errors",
        "tokens",
        "hallucination",
        "drift",
        "logging",
        "gap",
        "feedback",
    } <= families
    assert {i.size for i in scenario.incidents} == {"small", "large"}
    assert any(i.onset.minute != 0 for i in scenario.incidents)
    assert any(i.onset.hour < 6 or i.onset.hour >= 21 for i in scenario.incidents)


def test_each_incident_is_visible_in_the_raw_rows(normal) -> None:
    scenario, frame = normal
    day = timedelta(days=1)

    def p95(rows: pd.DataFrame) -> float:
        return float(rows.loc[rows.status == "ok", "latency_ms"].quantile(0.95))

    for key in ("LAT1", "LAT2"):
        inc = _incident(scenario, key)
        route = frame["route"] == inc.cohort.split("=")[1]
        before = p95(frame[route & _during(frame, inc, shift=-day)])
        assert p95(frame[route & _during(frame, inc)]) > 1.4 * before, key

    for key in ("ERR1", "ERR2"):
        inc = _incident(scenario, key)
        region = frame["region"] == inc.cohort.split("=")[1]
        during = frame.loc[region & _during(frame, inc), "failed"].mean()
        baseline = frame.loc[region & ~_during(frame, inc), "failed"].mean()
        assert during > 0.06 and during > 4 * baseline, key

    fb = _incident(scenario, "FB1")
    billing = (frame.route == "billing") & frame.feedback.notna()
    down = frame["feedback"] == "down"
    assert down[billing & _during(frame, fb)].mean() > 0.4
    assert down[billing & _during(frame, fb, shift=-day)].mean() < 0.25

    tok = _incident(scenario, "TOK1")
    r2_ok = (frame.release == R2) & ~frame.failed
    tokens = frame.loc[r2_ok & _during(frame, tok), "completion_tokens"].mean()
    assert (
        tokens
        > 1.7 * frame.loc[r2_ok & _during(frame, tok, shift=-day), "completion_tokens"].mean()
    )

    gap = _incident(scenario, "GAP1")
    assert not _during(frame, gap).any()
    assert _during(frame, gap, shift=timedelta(minutes=-10)).any()

    enterprise = frame.plan == "enterprise"
    length = frame["prompt"].str.len()
    r3_len = length[enterprise & (frame.release == R3)].median()
    assert r3_len > 2 * length[enterprise & (frame.release == R2)].median()
    assert (
        length[(frame.plan == "pro") & (frame.release == R3)].median()
        < 1.2 * length[(frame.plan == "pro") & (frame.release == R2)].median()
    )

    hal = _incident(scenario, "HAL1")
    account = (frame.route == "account") & ~frame.failed
    grounded = Groundedness(threshold=0.5)

    def pass_rate(rows: pd.DataFrame) -> float:
        sample = rows.sample(n=min(300, len(rows)), random_state=1)
        passed = [
            grounded.score({"input": r.prompt, "output": r.response, "context": r.context})[0]
            >= 0.5
            for r in sample.itertuples()
        ]
        return float(np.mean(passed))

    assert pass_rate(frame[account & _during(frame, hal)]) < 0.8
    assert pass_rate(frame[account & _during(frame, hal, shift=-2 * day)]) > 0.9

    log2 = _incident(scenario, "LOG2")
    sentinel = frame["latency_ms"] == -1
    assert 0.2 < sentinel[_during(frame, log2)].mean() < 0.4
    assert sentinel.sum() == sentinel[_during(frame, log2)].sum()
    log1 = _incident(scenario, "LOG1")
    null = frame["prompt_version"].isna()
    assert 0.5 < null[_during(frame, log1)].mean() < 0.7
    assert null.sum() == null[_during(frame, log1)].sum()


def test_incidents_json_round_trips_and_names_the_configs_rules(tmp_path, monkeypatch) -> None:
    scenario = build_scenario(variant="low")
    assert Scenario.from_json(json.loads(scenario.dumps())) == scenario
    monkeypatch.setenv("SOAK_DIR", str(tmp_path))
    monkeypatch.setenv("SOAK_START", scenario.start.isoformat())
    config = load_config(SOAK / "profiles.yml", SOAK / "monitors.yml", target="soak")
    monitor = config.monitors.monitors[0]
    names = {rule.name for rule in monitor.rules} | {"no_data"}  # the seasonal no-data check
    assert monitor.health.no_data
    assert names == set(RULES)
    for incident in scenario.incidents:
        for detector in incident.detectors:
            assert detector.rule is None or detector.rule in names, (incident.id, detector)


def test_build_writes_the_warehouse_and_the_catalogue(tmp_path) -> None:
    import duckdb

    scenario, rows = build(tmp_path, variant="low", seed=3)
    catalogue = json.loads((tmp_path / "incidents.json").read_text())
    assert Scenario.from_json(catalogue) == scenario and len(catalogue["incidents"]) >= 8
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM requests").fetchone()[0] == rows
        kinds = {name: kind for name, kind, *_ in conn.execute("DESCRIBE requests").fetchall()}
    assert kinds["created_at"].startswith("TIMESTAMP")


def test_votes_come_minutes_to_hours_after_their_answers(low, tmp_path) -> None:
    """`votes`: a vote per record with feedback, given after it (median ~20 min, a tenth past
    ~1h45m, none past two days); `requests_read`: the feedback an hourly run reads when the
    app writes the vote onto the row (the votes given before the record's window was read)."""
    import duckdb
    from soak.generate import write_warehouse
    from soak.votes import votes_of

    scenario, frame = low
    records = frame.drop(columns=["release", "hour", "failed"])
    votes = votes_of(records, scenario.seed)
    assert len(votes) == records["feedback"].notna().sum()
    pd.testing.assert_frame_equal(votes, votes_of(records, scenario.seed))
    delay = (
        votes["given_at"]
        - records.set_index("request_id").loc[votes["request_id"], "created_at"].to_numpy()
    )
    minutes = delay.dt.total_seconds() / 60
    assert 15 <= minutes.median() <= 25 and 80 <= minutes.quantile(0.9) <= 140
    assert minutes.min() >= 0.5 and minutes.max() <= 2 * 24 * 60

    write_warehouse(records, tmp_path / "wh.duckdb", scenario.seed)
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        read = conn.execute("SELECT count(feedback), count(*) FROM requests_read").fetchone()
        logged = conn.execute("SELECT count(*) FROM votes").fetchone()[0]
    finally:
        conn.close()
    assert read[1] == len(records) and logged == len(votes)
    assert 0.2 * len(votes) < len(votes) - read[0] < 0.5 * len(votes)  # late votes, missed

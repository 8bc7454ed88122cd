"""A classic ML model's log on PostgreSQL (a fraud score behind an API, ORM-style camelCase
columns, no tokens or text): its score and input features are table columns the record
contract has no field for. `drift.features` compares them; before, `drift.columns: [score]`
was accepted and dropped without a word, and the team believed the score was watched.

Through the command line: `validate-config` refuses a drift column it does not know (naming
file:line:col), `--check-warehouse` a feature missing from the table or of a type SQL cannot
aggregate, and a backfill finds a feature pipeline bug (one channel's `accountAgeDays`
logged as 0) against a baseline day, in that channel only, and pages for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lookout.cli import app
from lookout.store import ResultsStore

pytestmark = pytest.mark.postgres

H = timedelta(hours=1)
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
BUG = DAY0 + 30 * H  # from here, android logs accountAgeDays = 0


def scores_frame(hours: int = 34, per_hour: int = 120) -> pd.DataFrame:
    """A fraud model's requests; from BUG the android channel's account age is 0, and its
    score rises with it (the model reads a new account as riskier)."""
    rng = np.random.default_rng(7)
    n = hours * per_hour
    ts = pd.Timestamp(DAY0) + pd.to_timedelta(np.sort(rng.uniform(0, hours * 3600, n)), "s")
    channel = rng.choice(["web", "ios", "android"], n, p=[0.5, 0.25, 0.25])
    age = rng.gamma(1.2, 400, n).astype(int)
    age = np.where((channel == "android") & (ts >= pd.Timestamp(BUG)), 0, age)
    score = 1 / (1 + np.exp(-(-3 - 0.002 * np.minimum(age, 1500) + rng.normal(0, 0.5, n))))
    return pd.DataFrame(
        {
            "requestId": [f"r{i:06d}" for i in range(n)],
            "createdAt": ts,
            "modelTag": "fraud-xgb-2026.11.2",
            "score": score.round(5),
            "accountAgeDays": age,
            "amount": rng.lognormal(3.6, 1.0, n).round(2),
            "merchantId": [f"m_{i % 97}" for i in range(n)],
            "channel": channel,
            "status": np.where(rng.random(n) < 0.01, "MODEL_ERROR", "OK"),
            "latencyMs": rng.lognormal(3.5, 0.4, n).astype(int),
        }
    )


MONITORS = """\
owners:
  fraud-ml: {{channel: "#fraud-ml"}}
monitors:
  - name: scoring
    source:
      table: ScoreRequest
      schema: {schema}
      columns:
        record_id: requestId
        ts: createdAt
        model_version: modelTag
        status: status
        latency_ms: latencyMs
      release: [model_version]
      cohorts: [channel]
      ok_statuses: [OK]
    window: {{size: 1h, grace: 0m}}
    drift:
      enabled: true
      reference: {{kind: baseline, start: "2026-11-01T00:00:00Z", end: "2026-11-02T00:00:00Z"}}
{drift_lines}
    rules:
      - name: account_age_drift
        metric: drift.accountAgeDays
        op: ">="
        threshold: 1
        owner: fraud-ml
        split_by: ["*", channel]
"""
FEATURES = "      features: {numeric: [score, accountAgeDays, amount]}\n"


@pytest.fixture
def project(pg_schema: tuple[str, str], tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The table in a fresh schema, and profiles.yml pointing at it; yields (dir, schema)."""
    url, schema = pg_schema
    engine = sa.create_engine(url)
    scores_frame().to_sql(
        "ScoreRequest",
        engine,
        schema=schema,
        index=False,
        dtype={"createdAt": sa.DateTime(timezone=True), "amount": sa.Numeric(12, 2)},
    )
    engine.dispose()
    (tmp_path / "profiles.yml").write_text(
        "target: dev\noutputs:\n  dev:\n"
        f'    warehouse: {{url: "{url}"}}\n'
        f'    store: {{url: "sqlite:///{tmp_path / "results.sqlite"}"}}\n'
        f"    out_dir: {tmp_path / 'out'}\n"
    )
    yield tmp_path, schema


def _write(directory: Path, schema: str, drift_lines: str) -> list[str]:
    (directory / "monitors.yml").write_text(
        MONITORS.format(schema=schema, drift_lines=drift_lines.rstrip("\n"))
    )
    return [
        "--profiles",
        str(directory / "profiles.yml"),
        "--monitors",
        str(directory / "monitors.yml"),
    ]


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_a_drift_column_it_does_not_compare_is_refused_at_its_line(project):
    directory, schema = project
    files = _write(directory, schema, "      columns: [score, latency_ms]\n")
    result = _cli("validate-config", *files)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert (
        "monitors.yml:21:17: monitors[0].drift.columns[0]: drift compares no column 'score'" in out
    )
    assert "(it compares: latency_ms, status, channel)" in out
    assert "drift.features.numeric" in out and "columns[1]" not in out


def test_a_feature_that_is_a_cohort_or_listed_twice_is_refused(project):
    directory, schema = project
    files = _write(directory, schema, "      features: {categorical: [channel]}\n")
    out = " ".join(_cli("validate-config", *files).output.split())
    assert "monitors[0].drift.features.categorical[0]: 'channel' is a cohort" in out
    files = _write(directory, schema, "      features: {numeric: [score], categorical: [score]}\n")
    out = " ".join(_cli("validate-config", *files).output.split())
    assert "score: both numeric and categorical" in out


def test_the_warehouse_check_names_a_missing_or_textual_feature(project):
    directory, schema = project
    features = "      features: {numeric: [score, merchantId, scoer, accountAgeDays]}\n"
    files = _write(directory, schema, features)
    result = _cli("validate-config", "--check-warehouse", *files)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "drift.features.numeric[1]: column 'merchantId' is TEXT" in out
    assert "numeric type (integer, decimal or float" in out
    assert "drift.features.numeric[2]: column 'scoer' is not in table 'ScoreRequest'" in out
    files = _write(directory, schema, FEATURES)
    assert _cli("validate-config", "--check-warehouse", *files).exit_code == 0


@pytest.mark.prefect
@pytest.mark.slow
def test_a_zeroed_feature_in_one_channel_drifts_there_and_pages(project, prefect_api):
    directory, schema = project
    files = _write(directory, schema, FEATURES)
    result = _cli("backfill", "--start", "2026-11-02T04:00", "--end", "2026-11-02T10:00", *files)
    assert result.exit_code == 0, result.output
    store = ResultsStore(f"sqlite:///{directory / 'results.sqlite'}")
    try:
        rows = store.metrics("scoring", metric="drift.accountAgeDays")
        drifted = {(r["cohort"], r["window_start"].hour) for r in rows if r["value"] == 1}
        clean = {(r["cohort"], r["window_start"].hour) for r in rows if r["value"] == 0}
        # the clean hours before the bug and the other channels never drift
        assert not {c for c, hour in drifted if hour < 6}
        assert {c for c, _ in drifted} <= {"channel=android", "*"}
        assert ("channel=android", 6) in drifted and ("channel=web", 6) in clean
        scores = store.metrics("scoring", metric="drift.score", cohort="channel=android")
        assert [r["value"] for r in scores if r["window_start"].hour >= 6] and all(
            r["value"] == 0 for r in scores if r["window_start"].hour < 6
        )
        firing = [a for a in store.alerts("scoring") if a.state == "firing"]
        assert [(a.rule, a.cohort) for a in firing if a.cohort != "*"] == [
            ("account_age_drift", "channel=android")
        ]
    finally:
        store.dispose()

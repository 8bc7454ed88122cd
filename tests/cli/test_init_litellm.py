"""`lookout init` on a LiteLLM proxy's spend log on PostgreSQL (`LiteLLM_SpendLogs`, its
Prisma camelCase columns): no column holds a latency, the table logs `startTime`, `endTime`
and `completionStartTime`. init computes the latency and the time to first token from them,
the files check against the table, and a slow hour alerts in milliseconds."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run
from tests.conftest import write_table
from tests.fixtures.init_tables import times_before
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors
from lookout.windows import Window

END = datetime(2026, 10, 8, tzinfo=UTC)
TABLE = "LiteLLM_SpendLogs"


def _cli(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _spend_logs(hours: int = 48, per_hour: int = 120) -> pd.DataFrame:
    """Calls ending by END; in the last hour gpt-4o answers 4x slower (first token too)."""
    rng = np.random.default_rng(5)
    n = hours * per_hour
    start = times_before(END, hours, n, rng)
    model = rng.choice(["gpt-4o", "gpt-4o-mini"], n, p=[0.6, 0.4])
    ttft = rng.lognormal(np.log(400), 0.4, n)
    total = ttft + rng.lognormal(np.log(1500), 0.5, n)
    slow = (model == "gpt-4o") & (
        start >= pd.Timestamp(END.replace(tzinfo=None) - timedelta(hours=1))
    )
    ttft[slow] *= 4
    total[slow] *= 4
    failed = rng.random(n) < 0.01
    prompt = rng.integers(200, 2000, n)
    completion = rng.integers(50, 600, n)
    return pd.DataFrame(
        {
            "request_id": [f"chatcmpl-{i:08d}" for i in range(n)],
            "call_type": "acompletion",
            "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
            "spend": (prompt * 2.5e-6 + completion * 1e-5).round(8),
            "total_tokens": prompt + completion,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "startTime": start.astype("datetime64[us]"),
            "completionStartTime": (start + pd.to_timedelta(ttft, unit="ms")).astype(
                "datetime64[us]"
            ),
            "endTime": (start + pd.to_timedelta(total, unit="ms")).astype("datetime64[us]"),
            "model": model,
            "model_group": np.where(model == "gpt-4o", "smart", "fast"),
            "custom_llm_provider": "openai",
            "user": [f"user-{i % 37}" for i in range(n)],
            "team_id": rng.choice(["support", "search", "sales"], n),
            "status": np.where(failed, "failure", "success"),
        }
    )


@pytest.mark.postgres
def test_init_computes_latency_from_start_and_end_times_and_a_slow_hour_alerts(tmp_path, pg_schema):
    url, schema = pg_schema
    engine = sa.create_engine(url)
    write_table(engine, _spend_logs(), table=TABLE, schema=schema)
    engine.dispose()
    cfg = tmp_path / "cfg"
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    result = _cli("init", "--table", f"{schema}.{TABLE}", "--warehouse-url", url, *files, "--yes")
    assert result.exit_code == 0, result.output
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    durations = {f: (e.start, e.end) for f, e in monitor.source.durations.items()}
    assert durations == {
        "latency_ms": ("startTime", "endTime"),
        "ttft_ms": ("startTime", "completionStartTime"),
    }
    assert monitor.source.columns["ts"] == "startTime"
    assert "latency_ms" not in monitor.source.columns
    rule = next(r for r in monitor.rules if r.metric == "latency_p95_ms")
    assert 3000 < rule.threshold < 20000  # 2x a p95 of a few seconds, in ms
    text = (cfg / "monitors.yml").read_text()
    assert "latency_ms: {start: startTime, end: endTime}" in text
    assert monitor.source.columns["cost_usd"] == "spend"  # LiteLLM's cost, in US dollars
    assert "input" not in monitor.source.columns  # the hashed api_key is no prompt
    assert 'channel: "#litellm-spendlogs-alerts"' in text  # Slack names are lower case
    hours = [END - timedelta(hours=back) for back in (3, 2, 1)]  # ordinary, then the slow one
    config = check_and_run(cfg, [Window(start, start + timedelta(hours=1)) for start in hours])
    data = _cli("results", "--format", "json", *files)
    assert data.exit_code == 0, data.output
    rows = json.loads(data.output)
    assert rows and all(1000 < row["latency_p50_ms"] < 10_000 for row in rows), rows
    assert all(row["ttft_p50_ms"] < row["latency_p50_ms"] for row in rows), rows
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        alerts = set(db.execute("SELECT rule, release, cohort, state FROM alerts"))
    slow = [a for a in alerts if a[0] == rule.name]
    assert slow and all(a[1].startswith("gpt-4o") and "mini" not in a[1] for a in slow), alerts

"""`lookout init` on an LLM agent's span table on PostgreSQL, as OpenTelemetry logs it: tool
spans have no model. The release must not be built from that column, or every tool span would
fall into a `(null)@<version>` phantom release that no rule evaluates."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run
from tests.conftest import write_table
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors
from lookout.windows import Window

END = datetime(2026, 10, 8, tzinfo=UTC)
KINDS = ("agent", "llm", "llm", "llm", "tool", "tool", "tool", "agent", "llm", "agent")


def _cli(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _spans(hours: int = 48, per_hour: int = 120) -> pd.DataFrame:
    """Spans ending at END; 30% are tool spans without a model. In the last hour the
    web_search tool fails on half its spans (status 4), which only tool spans show."""
    rng = np.random.default_rng(11)
    n = hours * per_hour
    start = pd.Timestamp(END - timedelta(hours=hours))
    ts = start + pd.to_timedelta(np.sort(rng.uniform(0, hours * 3600, n)), unit="s")
    kind = np.array(KINDS)[np.arange(n) % len(KINDS)]
    model = rng.choice(["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"], n).astype(object)
    model[kind == "tool"] = None
    name = np.where(
        kind == "tool", "execute_tool web_search", np.where(kind == "llm", "chat", "invoke_agent")
    )
    status = rng.choice([0, 2], n, p=[0.99, 0.01])
    incident = (kind == "tool") & (ts >= pd.Timestamp(END - timedelta(hours=1)))
    status[incident & (rng.random(n) < 0.5)] = 4
    return pd.DataFrame(
        {
            "span_id": [f"{i:016x}" for i in range(n)],
            "trace_id": [f"{i // 10:032x}" for i in range(n)],
            "span_kind": kind,
            "span_name": name,
            "start_ts": ts,
            "status_code": status.astype(np.int64),
            "gen_ai_request_model": model,
            "app_version": np.where(
                ts < start + timedelta(hours=hours / 2), "agent-2.3.0", "agent-2.4.0"
            ),
            "tenant_tier": rng.choice(["free", "team", "enterprise"], n),
        }
    )


@pytest.mark.postgres
def test_init_on_spans_keeps_tool_spans_in_a_release_so_their_errors_alert(tmp_path, pg_schema):
    url, schema = pg_schema
    engine = sa.create_engine(url)
    write_table(engine, _spans(), table="agent_spans", schema=schema)
    engine.dispose()
    cfg = tmp_path / "cfg"
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    result = _cli(
        "init", "--table", f"{schema}.agent_spans", "--warehouse-url", url, *files, "--yes"
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "gen_ai_request_model is empty on 30% of the sampled rows" in output
    assert "exactly the rows with span_kind tool: the release is app_version alone" in output
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.release == ["prompt_version"]
    assert monitor.source.columns["model_version"] == "gen_ai_request_model"
    assert monitor.source.columns["prompt_version"] == "app_version"
    text = (cfg / "monitors.yml").read_text()
    assert "release: [prompt_version]" in text and "app_version alone" in text
    # the last window, with the tool incident: its errors are evaluated, and alert
    config = check_and_run(cfg, [Window(END - monitor.window.size, END)])
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        releases = {r for (r,) in db.execute("SELECT DISTINCT release FROM metrics")}
        alerts = set(db.execute("SELECT rule, release, cohort FROM alerts"))
    assert not any("(null)" in r for r in releases), releases
    # span_kind repeats span_name (the route) value for value: one cohort, one alert
    assert "span_kind" not in monitor.source.cohorts
    assert ("error_rate", "agent-2.4.0", "route=execute_tool web_search") in alerts, alerts

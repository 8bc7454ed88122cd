"""`lookout init` on a table that keeps the tenant, the prompt version and the environment in a
JSON `metadata` column (Langfuse, LiteLLM): init proposes `source.json_fields` with the tenant
as a cohort, the prompt version in the release and production only; the files check against
the table, windows run, and an error spike in one tenant alerts on that tenant. On DuckDB (a
JSON column) and PostgreSQL (jsonb). An OpenTelemetry span table whose `attributes` is one
flat object with dotted keys (`gen_ai.request.model`) gets those keys as quoted paths, and
the release is read from them."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run, init_project
from tests.conftest import write_table
from tests.fixtures.init_tables import times_before
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors
from lookout.windows import Window

END = datetime(2026, 10, 8, tzinfo=UTC)
TABLE = "observations"


def _observations(hours: int = 48, per_hour: int = 150) -> pd.DataFrame:
    """Calls up to END; prompt v2 replaces v1 in the newest day; staging fails a third of its calls
    all along; in the last hour a fifth of globex's production calls fail."""
    rng = np.random.default_rng(11)
    n = hours * per_hour
    start = times_before(END, hours, n, rng)
    tenant = rng.choice(["acme", "globex", "initech"], n, p=[0.4, 0.35, 0.25])
    staging = rng.random(n) < 0.2
    last_hour = start >= pd.Timestamp(END.replace(tzinfo=None) - timedelta(hours=1))
    failed = rng.random(n) < np.where(staging, 0.33, 0.005)
    failed |= (tenant == "globex") & ~staging & last_hour & (rng.random(n) < 0.3)
    metadata = [
        json.dumps(
            {
                "tenant": str(t),
                "prompt_version": "support-v1" if i < n * 3 // 4 else "support-v2",
                "environment": "staging" if s else "production",
                "trace_id": f"{rng.integers(2**63):016x}{i:016x}",
                "sdk": {"name": "langfuse-python", "version": "2.60.1"},
            }
        )
        for i, (t, s) in enumerate(zip(tenant, staging, strict=True))
    ]
    return pd.DataFrame(
        {
            "id": [f"obs-{i:08d}" for i in range(n)],
            "start_time": start.astype("datetime64[us]"),
            "model": rng.choice(["gpt-4o", "gpt-4o-mini"], n),
            "latency_ms": rng.lognormal(np.log(900), 0.4, n).round(1),
            "status": np.where(failed, "error", "success"),
            "metadata": metadata,
        }
    )


def _write(engine: sa.Engine, schema: str | None) -> None:
    write_table(engine, _observations(), table=TABLE, schema=schema)
    where = f'"{schema}"."{TABLE}"' if schema else f'"{TABLE}"'
    as_json = "jsonb USING metadata::jsonb" if engine.dialect.name == "postgresql" else "JSON"
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {where} ALTER COLUMN metadata TYPE {as_json}"))
    engine.dispose()


def _init_check_and_run(tmp_path, url: str, table: str) -> None:
    cfg = tmp_path / "cfg"
    files = ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    args = ["init", "--table", table, "--warehouse-url", url, *files, "--yes"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "json_fields" in result.output  # the JSON column's role
    source = load_monitors(cfg / "monitors.yml").monitors[0].source
    assert source.json_fields["tenant"] == "metadata.tenant"
    assert source.json_fields["prompt_version"] == "metadata.prompt_version"
    assert source.json_fields["environment"] == "metadata.environment"
    assert "tenant" in source.cohorts and "trace_id" not in source.cohorts
    assert source.columns["prompt_version"] == "prompt_version"
    assert "prompt_version" in source.release
    assert source.where == {"environment": ["production"]}
    assert "input" not in source.columns and "context" not in source.columns
    text = (cfg / "monitors.yml").read_text()
    assert "tenant: metadata.tenant" in text.split("columns:")[0]
    assert "metadata: long text" not in text
    hours = [END - timedelta(hours=back) for back in (3, 2, 1)]  # ordinary, then the spike
    config = check_and_run(cfg, [Window(start, start + timedelta(hours=1)) for start in hours])
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        alerts = list(db.execute("SELECT rule, cohort, first_window_start, state FROM alerts"))
    firing = [a for a in alerts if a[3] == "firing"]
    assert firing and {(a[0], a[1]) for a in firing} == {("error_rate", "tenant=globex")}, alerts
    assert {a[2][:16] for a in alerts} == {f"{hours[-1]:%Y-%m-%d %H:%M}"}, alerts  # the spike
    assert not [a for a in alerts if a[1].startswith("tenant=") and a[1] != "tenant=globex"]


def test_init_proposes_json_fields_on_duckdb(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    _write(sa.create_engine(url), None)
    _init_check_and_run(tmp_path, url, TABLE)


@pytest.mark.postgres
def test_init_proposes_json_fields_on_postgresql_jsonb(tmp_path, pg_schema):
    url, schema = pg_schema
    _write(sa.create_engine(url), schema)
    _init_check_and_run(tmp_path, url, f"{schema}.{TABLE}")


def _spans(hours: int = 24, per_hour: int = 120) -> pd.DataFrame:
    """OpenTelemetry GenAI spans: the model, the token counts, the environment and the prompt
    template version are keys with dots in one flat `attributes` object; the trace ids are
    hex, some of them digits with an `e` (`...22476491082e6368`), which pandas misreads."""
    rng = np.random.default_rng(5)
    n = hours * per_hour
    start = times_before(END, hours, n, rng)
    model = rng.choice(["gpt-4o", "gpt-4o-mini"], n)
    attributes = [
        json.dumps(
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": str(m),
                "gen_ai.usage.input_tokens": int(rng.integers(50, 900)),
                "gen_ai.usage.output_tokens": int(rng.integers(10, 400)),
                "deployment.environment": "production" if rng.random() < 0.8 else "staging",
                "llm.prompt_template.version": "v1" if i < n // 2 else "v2",
                "gen_ai": {"request": {"model": "nested, not read"}},
            }
        )
        for i, m in enumerate(model)
    ]
    return pd.DataFrame(
        {
            "span_id": [f"{i:016x}" for i in range(n)],
            "trace_id": [f"{rng.integers(2**62):032x}" for _ in range(n)],
            "start_time": start.astype("datetime64[us]"),
            "duration_ms": rng.lognormal(np.log(900), 0.4, n).round(1),
            "status_code": np.where(rng.random(n) < 0.01, "ERROR", "OK"),
            "attributes": attributes,
        }
    )


def _duckdb_json_table(tmp_path, frame: pd.DataFrame, table: str, column: str) -> str:  # type: ignore[no-untyped-def]
    """A DuckDB warehouse holding `frame` as `table`, `column` of DuckDB's JSON type."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table=table)
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE JSON"))
    engine.dispose()
    return url


def test_init_proposes_dotted_otel_attributes_as_quoted_keys(tmp_path):
    url = _duckdb_json_table(tmp_path, _spans(), "spans", "attributes")
    cfg = tmp_path / "cfg"
    _output, source = init_project(cfg, url, "spans")
    assert source.json_fields["gen_ai_request_model"] == 'attributes."gen_ai.request.model"'
    assert source.columns["model_version"] == "gen_ai_request_model"
    assert source.columns["prompt_tokens"] == "gen_ai_usage_input_tokens"
    assert source.json_fields["llm_prompt_template_version"] == (
        'attributes."llm.prompt_template.version"'
    )
    assert source.where == {"deployment_environment": ["production"]}
    text = (cfg / "monitors.yml").read_text()
    assert 'gen_ai_request_model: attributes."gen_ai.request.model"' in text  # plain YAML
    windows = [Window(END - timedelta(hours=h), END - timedelta(hours=h - 1)) for h in (2, 1)]
    config = check_and_run(cfg, windows)
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        releases = {r[0] for r in db.execute("SELECT DISTINCT release FROM metrics")}
    assert releases == {"*", "gpt-4o@v2", "gpt-4o-mini@v2"}, releases  # from the flat keys


def test_init_reads_the_metadata_a_trace_export_keeps_one_level_down(tmp_path):
    """LangSmith keeps a run's metadata under `extra.metadata` (`{"metadata": {"tenant": ...,
    "revision_id": ...}}`): init read `extra` as long text, proposed no release and no tenant,
    and a trial's tenant incident went unseen. The keys are found one level down, named
    without the key that only holds them, and `revision_id` is the release."""
    frame = _observations()
    wrapped = []
    for text in frame["metadata"]:
        inner = json.loads(text)
        inner["revision_id"] = inner.pop("prompt_version")
        wrapped.append(json.dumps({"metadata": inner}))
    frame = frame.rename(columns={"metadata": "extra"}).assign(extra=wrapped)
    url = _duckdb_json_table(tmp_path, frame, "runs", "extra")
    cfg = tmp_path / "cfg"
    _output, source = init_project(cfg, url, "runs")
    assert source.json_fields["tenant"] == "extra.metadata.tenant"
    assert source.json_fields["revision_id"] == "extra.metadata.revision_id"
    assert source.columns["prompt_version"] == "revision_id"
    assert "prompt_version" in source.release and "tenant" in source.cohorts
    assert source.where == {"environment": ["production"]}
    hours = [END - timedelta(hours=back) for back in (3, 2, 1)]
    config = check_and_run(cfg, [Window(start, start + timedelta(hours=1)) for start in hours])
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        firing = set(db.execute("SELECT rule, cohort FROM alerts WHERE state = 'firing'"))
    assert ("error_rate", "tenant=globex") in firing, firing

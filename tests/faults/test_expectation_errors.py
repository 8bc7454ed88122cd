"""An expectation that errors (GX status `error`) inside a real hourly flow run: it counts as
failed in `validation_failed_expectations`, is stored with status error and its error text,
shows in the run result, the flow's log line and the run's summary artifact, and pages the
owner through the ordinary data-quality rule. It is never reported as "0 failed"."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, PROFILES_YAML, T0, make_requests, write_table

from lookout.store import ResultsStore

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

H = timedelta(hours=1)
CHECKS = """    validation:
      pushdown: on  # GX's SQL engine on PostgreSQL (a window of 100 rows is pandas on `auto`)
      expectations:
        # a bound on a text column: GX refuses to compute it, and
        # reports the expectation as an error (statuses are typed for their column now, and
        # words for an integer status are refused before the run: test_column_types.py)
        - {kind: between, column: route, min: 0, name: route_bounded}
        - {kind: between, column: latency_ms, min: 0, severity: critical}
    rules:
      - name: data_quality
        metric: validation_failed_expectations
        op: ">"
        threshold: 0
        min_n: 1
        severity: P1
        owner: team
        split_by: ["*"]
"""


def _summary_artifact(flow_run_id: str) -> str:
    """The markdown summary the flow run left on its page, read back from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    only = ArtifactFilter(
        key=ArtifactFilterKey(any_=["lookout-hourly-summary"]),
        flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
    )

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=only)

    [artifact] = asyncio.run(read())
    return str(artifact.data)


def _run_logs(flow_run_id: str) -> list[str]:
    """The flow run's log messages as the Prefect API stored them (what its page shows)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs are shipped in the background, in batches

    async def read():
        async with get_client() as client:
            return await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )

    return [log.message for log in asyncio.run(read())]


def test_an_erroring_expectation_counts_as_failed_and_pages_the_owner(
    tmp_path, pg_schema, prefect_api
):
    from lookout.flows.hourly import hourly

    url, schema = pg_schema
    frame = make_requests(hours=1, per_hour=100)
    frame["status"] = [200 if s == "ok" else 500 for s in frame["status"]]  # an integer column
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    engine.dispose()
    monitors = MONITOR_YAML.format(
        table="app_requests", schema_line=f"      schema: {schema}\n", pushdown="off", threshold=0.9
    )
    monitors = monitors.replace("ok_statuses: [ok]", 'ok_statuses: ["200"]')
    monitors = monitors[: monitors.index("    rules:\n")] + CHECKS
    (tmp_path / "monitors.yml").write_text(monitors)
    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=store_url, out_dir=tmp_path / "out")
    )
    summary = hourly(
        as_of=T0 + H + timedelta(minutes=15),
        profiles_path=str(tmp_path / "profiles.yml"),
        monitors_path=str(tmp_path / "monitors.yml"),
    )

    [result] = summary["results"]
    assert result.status == "succeeded" and result.validation_path == "sql"
    releases = ["m1@p1", "m2@p2"]
    assert (result.failed_expectations, result.errored_expectations) == (2, 2)  # one per release
    store = ResultsStore(store_url)
    errored = store.validations("bot", status="error")
    assert sorted(r["release"] for r in errored) == releases
    assert {r["expectation"] for r in errored} == {"route_bounded"}
    texts = [r["error"] for r in errored]
    assert all("cannot be computed on column of type TEXT" in text for text in texts), texts
    assert {r["status"] for r in store.validations("bot")} == {"error", "passed"}
    failed = {
        m["release"]: (m["value"], m["n"])
        for m in store.metrics("bot", metric="validation_failed_expectations")
    }
    assert failed == {r: (1.0, 2) for r in releases}  # 1 of 2 expectations, the errored one

    # the flow's log line and the run's summary artifact say so
    [run] = store.runs("bot")
    assert any("2 failed checks (2 errored)" in line for line in _run_logs(run["flow_run_id"]))
    artifact = _summary_artifact(run["flow_run_id"])
    assert "| failed checks | checks errored |" in artifact
    row = next(line for line in artifact.splitlines() if line.startswith("| bot |"))
    assert row.split("|")[5:7] == [" 2 ", " 2 "]
    assert "## Checks that errored" in artifact

    # the ordinary data-quality rule pages the owner, per release
    paged = [a for a in store.alerts("bot") if a.rule == "data_quality"]
    assert sorted(a.release for a in paged) == releases
    assert {a.state for a in paged} == {"firing"}
    messages = [m for m in store.outbox() if m.fingerprint in {a.fingerprint for a in paged}]
    assert messages and {m.kind for m in messages} <= {"open"}
    text = json.dumps([m.payload for m in messages])
    assert "data_quality" in text and "validation_failed_expectations" in text
    assert '["slack_user", "U0TEAM01"]' in text  # the owner, as a typed mention
    store.dispose()

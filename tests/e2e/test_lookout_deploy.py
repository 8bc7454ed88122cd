"""`lookout deploy` from a project directory outside the repository: a real Prefect server, the
three deployments registered with module entry points, and a backfill run by a process worker
started somewhere else, whose windows land in the project's own results store.

Also: without PREFECT_API_URL the command refuses in one line (no temporary server)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, T0, make_requests, write_table
from tests.e2e.prefect_server import PrefectServer, free_port

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
LOOKOUT = str(Path(sys.executable).parent / "lookout")

# relative paths: they resolve against profiles.yml's directory, wherever the command runs
PROFILES = """
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///warehouse.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
    out_dir: out
"""


def _lookout(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOOKOUT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[tuple[PrefectServer, Path, subprocess.CompletedProcess]]:
    base = tmp_path_factory.mktemp("lookout-deploy")
    assert ROOT not in base.parents  # a project of the user's own, not the repository
    logs = base / "logs"
    logs.mkdir()
    project = base / "my-project"
    project.mkdir()
    (project / "profiles.yml").write_text(PROFILES)
    (project / "monitors.yml").write_text(
        MONITOR_YAML.format(table="app_requests", schema_line="", pushdown="auto", threshold=0.2)
    )
    engine = sa.create_engine(f"duckdb:///{project / 'warehouse.duckdb'}")
    write_table(engine, make_requests(hours=3, per_hour=120))
    engine.dispose()
    server = PrefectServer(home=base / "prefect-home", port=free_port(), logs=logs)
    server.start()
    try:
        done = _lookout("deploy", "--pool", "my-pool", cwd=project, env=server.env())
        yield server, project, done
    finally:
        server.stop()


def test_deploy_without_an_api_url_refuses_in_one_line(tmp_path):
    env = PrefectServer(home=tmp_path / "home", port=1, logs=tmp_path).env()
    env.pop("PREFECT_API_URL")
    done = _lookout("deploy", cwd=tmp_path, env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PREFECT_API_URL is not set" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "temporary server" not in done.stdout.lower()


def test_deploy_registers_three_deployments_with_module_entry_points(deployed):
    server, project, done = deployed
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created work pool my-pool" in done.stdout
    assert "prefect worker start --pool my-pool" in done.stdout
    assert server.get("/work_pools/my-pool")["type"] == "process"
    for name in ("hourly", "nightly", "backfill"):
        deployment = server.deployment(f"lookout-{name}", name)
        assert deployment["work_pool_name"] == "my-pool"
        assert deployment["entrypoint"] == f"lookout.flows.entrypoints.{name}"
        assert deployment["job_variables"]["working_dir"] == str(project)
        assert deployment["parameters"]["profiles_path"] == str(project / "profiles.yml")
    hourly = server.deployment("lookout-hourly", "hourly")
    assert hourly["schedules"][0]["schedule"]["cron"] == "20 * * * *"
    schema = server.deployment("lookout-backfill", "backfill")["parameter_openapi_schema"]
    assert schema["properties"]["monitor"]["enum"] == ["all", "bot"]
    again = _lookout("deploy", "--pool", "my-pool", cwd=project, env=server.env())
    assert again.returncode == 0, again.stderr  # idempotent: the same deployments, updated
    assert "created work pool" not in again.stdout
    assert len(server.post("/deployments/filter", {})) == 3


def test_a_backfill_deployment_runs_through_a_worker_started_elsewhere(deployed, tmp_path):
    server, project, done = deployed
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "worker-cwd"  # not the project: the deployment says where to run
    elsewhere.mkdir()
    server.start_worker("my-pool", elsewhere, server.env())
    start, end = T0, T0 + timedelta(hours=3)
    run_id = server.run_deployment(
        "lookout-backfill",
        "backfill",
        {"start": start.isoformat(), "end": end.isoformat(), "monitor": "bot"},
    )
    run = server.wait(run_id, timeout=400)
    assert run["state_type"] == "COMPLETED", server.worker_logs()
    with sqlite3.connect(project / "results.sqlite") as conn:
        windows = conn.execute(
            "SELECT window_start, rows FROM windows WHERE monitor = 'bot' ORDER BY window_start"
        ).fetchall()
        [(runs,)] = conn.execute(
            "SELECT count(*) FROM runs WHERE flow_run_id = ? AND status = 'succeeded'", (run_id,)
        ).fetchall()
    assert [w for w, _ in windows] == [
        f"{T0 + timedelta(hours=i):%Y-%m-%d %H:%M:%S.%f}" for i in range(3)
    ]
    assert sum(rows for _, rows in windows) == 360 and runs == 3
    assert not (elsewhere / "results.sqlite").exists()

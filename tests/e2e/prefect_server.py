"""A real `prefect server` and process workers in subprocesses, for end-to-end tests.

Everything lives under a temporary PREFECT_HOME on 127.0.0.1; the test talks to the server's
REST API with httpx, so nothing depends on the Prefect settings of the test process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PREFECT = str(Path(sys.executable).parent / "prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrefectServer:
    home: Path
    port: int
    logs: Path
    process: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_UI_API_URL": self.api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
            "PREFECT_LOGGING_LEVEL": "INFO",
            # The deployments carry their real cron schedules (hourly at :20, nightly): the
            # server's scheduler would start runs of its own whenever a test spans minute 20
            # of an hour, which write windows into the test's store and take its worker
            # (3 e2e tests failed so once). Tests start every run themselves.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        }
        env.pop("PREFECT_PROFILES_PATH", None)
        return {**env, **extra}

    def start(self, timeout: float = 120) -> None:
        log = (self.logs / "server.log").open("ab")
        self.process = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server exited: {self.tail('server.log')}")
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"prefect server did not start: {self.tail('server.log')}")

    def cli(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [PREFECT, *args],
            cwd=cwd,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)}: {done.stdout}\n{done.stderr}")
        return done.stdout

    def start_worker(self, pool: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
        name = f"worker-{len(self.workers)}"
        log = (self.logs / f"{name}.log").open("ab")
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", pool, "--type", "process", "--name", name],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its flow-run processes share its process group
        )
        self.workers.append(worker)
        return worker

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

    def stop(self) -> None:
        for worker in self.workers:  # a worker shrugs off SIGTERM while its runs finish
            if worker.poll() is None:
                self.kill(worker, signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            self.kill(self.process, signal.SIGTERM)

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- REST ---------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The server (SQLite-backed) answers 503 for a moment when the machine is busy:
        retry those and connection errors a few times, as a client should."""
        for attempt in range(6):
            try:
                response = httpx.request(method, f"{self.api}{path}", json=body, timeout=30)
            except httpx.TransportError:
                if attempt == 5:
                    raise
            else:
                if response.status_code < 500 or attempt == 5:
                    response.raise_for_status()
                    return response.json()
            time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, body)

    def deployment(self, flow: str, name: str) -> dict[str, Any]:
        return self.get(f"/deployments/name/{flow}/{name}")

    def run_deployment(self, flow: str, name: str, parameters: dict[str, Any]) -> str:
        deployment = self.deployment(flow, name)
        # an idempotency key: a POST retried after a 503 returns the run it created, not a twin
        run = self.post(
            f"/deployments/{deployment['id']}/create_flow_run",
            {"parameters": parameters, "idempotency_key": uuid.uuid4().hex},
        )
        return run["id"]

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/flow_runs/{run_id}")

    def wait(self, run_id: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if run["state_type"] in TERMINAL:
                return run
            time.sleep(1)
        raise TimeoutError(f"flow run {run_id} still {run['state_type']}: {self.worker_logs()}")

    def worker_logs(self) -> str:
        return "\n".join(self.tail(f"worker-{i}.log", 3000) for i in range(len(self.workers)))

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return self.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})


def copy_project(root: Path, project: Path) -> None:
    """The files a deployment needs: entry points and the deployments file."""
    shutil.copytree(root / "flows", project / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "deployments", project / "deployments")

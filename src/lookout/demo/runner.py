"""`lookout demo`: build the demo warehouse, run its windows through the hourly flow, summarise.

Everything the demo makes lives under one directory. Re-running is idempotent: the warehouse
is deterministic, windows already processed are not re-run (the watermark), alerts keep their
fingerprints and outbox messages their ids.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lookout.config.loader import LookoutConfig, load_config
from lookout.model.alerts import AlertState

__all__ = ["DemoOutcome", "config_dir", "prepare_demo", "run_demo"]

_CONFIG_FILES = ("profiles.yml", "monitors.yml")


def config_dir() -> Path:
    """Where the example config lives: shipped in the wheel, or the repository root."""
    packaged = Path(__file__).parent / "config"
    if (packaged / "monitors.yml").exists():
        return packaged
    return Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class DemoOutcome:
    directory: Path
    config: LookoutConfig
    windows_run: int
    rows: int
    warehouse_rows: int
    built_warehouse: bool
    as_of: datetime
    alerts: list[AlertState]
    resolved: list[AlertState]
    failed_validations: list[dict[str, Any]]
    quarantined: int
    releases: list[dict[str, Any]]
    delivery: dict[str, int]
    slack_dir: Path
    report_index: Path | None = None  # reports/index.html when drift reports were written


def _quiet_prefect_env(directory: Path) -> None:
    """Telemetry off, and Prefect's ephemeral API state kept inside the demo directory."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str(directory / ".prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def prepare_demo(directory: Path, *, fresh: bool = False) -> tuple[LookoutConfig, int, bool]:
    """Create the directory, its config files and the warehouse (only when missing)."""
    from lookout.demo.synthetic import generate_requests, write_duckdb

    directory = directory.resolve()
    if fresh:
        for name in (
            "warehouse.duckdb",
            "results.sqlite",
            "results.sqlite-wal",
            "results.sqlite-shm",
            "slack",
            "outbox",
        ):
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    for name in _CONFIG_FILES:
        if not (directory / name).exists():
            text = (config_dir() / name).read_text()
            # paths resolve against the file: the copy's home is its own directory, so
            # `lookout alerts` or `compare` run inside it find this store
            text = text.replace(
                "env_var('LOOKOUT_HOME', 'lookout-demo')", "env_var('LOOKOUT_HOME', '.')"
            )
            (directory / name).write_text(text)
    os.environ["LOOKOUT_HOME"] = str(directory)
    config = load_config(directory / "profiles.yml", directory / "monitors.yml", target="dev")
    warehouse_path = directory / "warehouse.duckdb"
    built = not warehouse_path.exists()
    if built:
        rows = write_duckdb(generate_requests(), warehouse_path)
    else:
        # Through SQLAlchemy like every other reader: DuckDB refuses a second connection to
        # the same file with another configuration (e.g. read_only) in one process.
        import sqlalchemy as sa

        engine = sa.create_engine(config.target.warehouse.url.get_secret_value())
        try:
            with engine.connect() as conn:
                rows = conn.scalar(sa.text("SELECT count(*) FROM app_requests"))
        finally:
            engine.dispose()
    return config, int(rows), built


def run_demo(directory: Path, *, fresh: bool = False) -> DemoOutcome:
    from lookout.demo.synthetic import DEMO_DAYS, DEMO_START

    directory = directory.resolve()
    _quiet_prefect_env(directory)
    config, warehouse_rows, built = prepare_demo(directory, fresh=fresh)
    monitor = config.monitors.monitors[0]
    as_of = DEMO_START + timedelta(days=DEMO_DAYS) + monitor.window.grace

    from lookout.flows.hourly import hourly  # imports Prefect: after the env is set

    summary = hourly(
        as_of=as_of,
        profiles_path=str(directory / "profiles.yml"),
        monitors_path=str(directory / "monitors.yml"),
        target="dev",
        notify_within=DEMO_DAYS * 24 + 1,  # the demo replays its days as if live: all page
    )
    from lookout.runtime.context import open_context

    with open_context(config=config) as ctx:
        store = ctx.store
        alerts = store.alerts(state="firing")
        resolved = store.alerts(state="resolved")
        failed_validations = store.validations(monitor.name, status="failed")
        quarantined = len(store.quarantined(monitor.name))
        releases = store.release_summary(monitor.name)
    results = summary["results"]
    index = Path(config.target.out_dir) / "reports" / "index.html"
    return DemoOutcome(
        directory=directory,
        config=config,
        windows_run=len(results),
        rows=sum(r.rows for r in results),
        warehouse_rows=warehouse_rows,
        built_warehouse=built,
        as_of=as_of,
        alerts=alerts,
        resolved=resolved,
        failed_validations=failed_validations,
        quarantined=quarantined,
        releases=releases,
        delivery=summary["delivery"],
        slack_dir=Path(config.target.out_dir) / "outbox",
        report_index=index if index.exists() else None,
    )

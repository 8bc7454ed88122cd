"""`lookout deploy`: register the hourly, nightly and backfill deployments of the project in
the current directory with a Prefect API, on a process work pool.

Prefect is imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli.common import fail, prefect_api_url
from lookout.cli.console import console

__all__ = ["deploy"]


def deploy(
    pool: Annotated[str, typer.Option("--pool", help="process work pool (made if missing)")] = (
        "lookout"
    ),
    profiles: Annotated[Path, typer.Option("--profiles", help="profiles.yml (WHERE)")] = Path(
        "profiles.yml"
    ),
    monitors: Annotated[Path, typer.Option("--monitors", help="monitors.yml (WHAT)")] = Path(
        "monitors.yml"
    ),
    target: Annotated[
        str | None, typer.Option("--target", help="profile target the runs use")
    ] = None,
) -> None:
    """Register the hourly and nightly schedules and the backfill deployment of this project
    with the Prefect API at PREFECT_API_URL; a worker (`prefect worker start --pool P`) on a
    machine with Lookout installed then runs them in this directory."""
    api = prefect_api_url()  # or a temporary server, gone when this command ends
    from lookout.config.loader import load_config
    from lookout.errors import ConfigError, LookoutError

    profiles, monitors = profiles.resolve(), monitors.resolve()
    try:
        load_config(profiles, monitors, target=target)  # a broken config fails here, located
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    project = Path.cwd().resolve()
    try:
        made_pool = _ensure_pool(pool)
        ids = _register(profiles, monitors, target, project, pool)
    except LookoutError as exc:
        raise fail(str(exc), 1) from None
    if made_pool:
        console.print(f"created work pool {escape(pool)} (process)", highlight=False)
    _report(ids, api, pool, project)


def _ensure_pool(name: str) -> bool:
    """Make the process work pool unless it exists; True when it was made."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    from lookout.errors import LookoutError

    with get_client(sync_client=True) as client:
        try:
            found = client.read_work_pool(name)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(
                WorkPoolCreate(name=name, type="process", base_job_template=template)
            )
            return True
    if found.type != "process":
        raise LookoutError(
            f"work pool {name!r} is of type {found.type!r}; `lookout deploy` needs a process "
            "pool (choose another with --pool)"
        )
    return False


def _register(
    profiles: Path, monitors: Path, target: str | None, project: Path, pool: str
) -> list[tuple[str, str]]:
    from prefect import deploy as prefect_deploy

    from lookout.flows.deployments import build_deployments

    made = build_deployments(profiles, monitors, target, project_dir=project)
    ids = prefect_deploy(
        *made,
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    return [(f"{d.flow_name}/{d.name}", str(i)) for d, i in zip(made, ids, strict=True)]


def _report(ids: list[tuple[str, str]], api: str, pool: str, project: Path) -> None:
    from rich.table import Table

    table = Table("deployment", "id", title=f"Deployed to {api}", title_justify="left")
    for name, deployment_id in ids:
        table.add_row(escape(name), deployment_id)
    console.print(table)
    console.print(
        f"runs start in {escape(str(project))}. Start a worker where Lookout is installed:\n"
        f"  PREFECT_API_URL={escape(api)} prefect worker start --pool {escape(pool)}\n"
        "a backfill: the Prefect UI's Run form of lookout-backfill/backfill, or "
        "`prefect deployment run lookout-backfill/backfill -p start=... -p end=...`",
        highlight=False,
        soft_wrap=True,
    )

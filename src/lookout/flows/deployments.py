"""The hourly, nightly and backfill deployments, as `lookout serve` and `lookout deploy` make
them: one definition of the schedules, limits and parameters for both.

`lookout deploy` registers them with module-path entry points (`lookout.flows.entrypoints.*`)
and the project's directory as the process worker's `working_dir`, so they run from any
project where Lookout is installed, not only from a clone of the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["HOURLY_CRON", "NIGHTLY_CRON", "build_deployments"]

HOURLY_CRON = "20 * * * *"  # minute 20: the windows' 15-minute grace has passed (UTC: no DST gap)
NIGHTLY_CRON = "40 2 * * *"


def build_deployments(
    profiles: Path,
    monitors: Path,
    target: str | None,
    *,
    project_dir: Path | None = None,
) -> list[Any]:
    """RunnerDeployments for the three flows. With `project_dir` (deploy to a work pool): module
    entry points, runs start in that directory, and the backfill form reads its monitors.yml;
    without (serve in this process): the flow objects of this process."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from lookout.flows.backfill import build_backfill_flow, monitor_names
    from lookout.flows.hourly import hourly
    from lookout.flows.nightly import nightly

    params = {"profiles_path": str(profiles), "monitors_path": str(monitors), "target": target}
    extra: dict[str, Any] = {}
    if project_dir is not None:
        extra = {
            "entrypoint_type": EntrypointType.MODULE_PATH,
            "job_variables": {
                "working_dir": str(project_dir),
                "env": {"LOOKOUT_MONITORS": str(monitors)},
            },
        }
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy="ENQUEUE")
    backfill = build_backfill_flow(monitor_names(monitors))
    made = [
        flow_.to_deployment(
            name,
            schedules=[Cron(cron, timezone="UTC")],
            parameters=params,
            concurrency_limit=one_at_a_time,
            tags=["lookout"],
            **extra,
        )
        for flow_, name, cron in (
            (hourly, "hourly", HOURLY_CRON),
            (nightly, "nightly", NIGHTLY_CRON),
        )
    ]
    made.append(backfill.to_deployment("backfill", parameters=params, tags=["lookout"], **extra))
    if project_dir is not None:
        for deployment, attribute in zip(made, ("hourly", "nightly", "backfill"), strict=True):
            deployment.entrypoint = f"lookout.flows.entrypoints.{attribute}"
    return made

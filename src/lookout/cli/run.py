"""`lookout run` (the hourly flow once, in this process), `lookout serve` (the schedules in
this process) and `lookout automations` (Prefect notifications on failed or late runs).
Prefect is imported only when one of them runs."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from lookout.cli.common import (
    chosen_monitors,
    fail,
    load,
    prefect_api_url,
    quiet_prefect,
    temporary_api_failed,
)
from lookout.cli.console import console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, TargetOpt, VerboseOpt
from lookout.errors import ConfigError, LookoutError

__all__ = ["automations", "run", "serve"]


def run(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
    monitor: Annotated[list[str] | None, typer.Option(help="only these monitors")] = None,
    as_of: Annotated[
        datetime | None, typer.Option(help="process windows complete at this UTC time")
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the hourly flow once: every complete window since each monitor's watermark."""
    from datetime import UTC

    from lookout.windows import check_as_of

    if as_of is not None:
        try:
            as_of = check_as_of(as_of, datetime.now(UTC))
        except ValueError as exc:
            raise fail(f"--as-of: {exc}", 2) from None
    config = load(profiles, monitors, target)
    chosen_monitors(config, monitor)
    quiet_prefect(verbose)
    from lookout.cli.summary import run_summary_line, run_summary_table
    from lookout.flows.hourly import hourly

    try:
        summary = hourly(
            as_of=as_of,
            monitors=monitor,
            profiles_path=str(profiles),
            monitors_path=str(monitors),
            target=target,
        )
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    except LookoutError as exc:
        raise fail(str(exc)) from None
    except RuntimeError as exc:
        said = temporary_api_failed(exc)
        if said is None:
            raise
        raise fail(said) from None
    console.print(run_summary_table(summary["results"], "lookout run", console.width))
    line = run_summary_line(summary["results"], summary["delivery"])
    console.print(line, highlight=False, soft_wrap=True)
    for said in summary.get("catch_up", ()):  # why a first run's alerts sent nothing
        console.print(said, highlight=False, soft_wrap=True, markup=False)


def serve(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Run the hourly and nightly schedules and the backfill deployment in this process (Prefect
    `serve`, no work pool): for small setups. Needs a Prefect API (PREFECT_API_URL)."""
    prefect_api_url()  # without one, Prefect would serve on a temporary server no one can reach
    from prefect import serve as prefect_serve

    load(profiles, monitors, target)  # a broken config fails here, with its line and column
    from lookout.flows.deployments import build_deployments

    prefect_serve(*build_deployments(profiles.resolve(), monitors.resolve(), target))


def automations(
    slack_webhook_env: Annotated[
        str | None,
        typer.Option(help="env var holding a Slack incoming-webhook URL (saved as a block)"),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(help="an existing Prefect notification block, <type slug>/<name>"),
    ] = None,
) -> None:
    """Create or update the Prefect automations that notify when a Lookout flow run fails,
    crashes or is late (needs a Prefect API: PREFECT_API_URL)."""
    prefect_api_url("automations")  # or they would be made on a temporary server, then lost
    from lookout.flows.automations import block_id, deploy_automations, save_slack_webhook

    if (slack_webhook_env is None) == (block is None):
        raise fail("give exactly one of --slack-webhook-env or --block", 2)
    if slack_webhook_env is not None:
        url = os.environ.get(slack_webhook_env, "")
        if not url.startswith("https://"):
            raise fail(f"${slack_webhook_env} must hold an https:// webhook URL", 2)
        target = save_slack_webhook(url)
    else:
        target = block_id(block)  # type: ignore[arg-type]
    for line in deploy_automations(target):
        console.print(line)

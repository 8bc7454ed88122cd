"""Deployment entry point (see deployments/prefect.yaml): the backfill flow, with the monitors
of this project's monitors.yml (or $LOOKOUT_MONITORS) as the run form's dropdown."""

import os

from lookout.flows.backfill import build_backfill_flow, monitor_names

backfill = build_backfill_flow(monitor_names(os.environ.get("LOOKOUT_MONITORS", "monitors.yml")))

__all__ = ["backfill"]

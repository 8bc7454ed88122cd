"""Deployment entry point (see deployments/prefect.yaml): the backfill flow, with the monitors
of this project's monitors.yml (or $LOOKOUT_MONITORS) as the run form's dropdown. The flow
lives in the package (`lookout.flows.entrypoints`), which `lookout deploy` registers directly."""

from lookout.flows.entrypoints import backfill

__all__ = ["backfill"]

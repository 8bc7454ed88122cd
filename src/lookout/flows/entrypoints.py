"""The deployments' entry points, importable wherever Lookout is installed.

`lookout deploy` registers `lookout.flows.entrypoints.hourly` (a module path, not a file), so a
worker runs the flows of the installed package from the project's directory: no copy of the
Lookout repository's `flows/` is needed. The backfill flow is built when this module is
imported, with the monitors of `$LOOKOUT_MONITORS` (set per deployment by `lookout deploy`) or
of `./monitors.yml` as its run form's dropdown.
"""

import os

from lookout.flows.backfill import build_backfill_flow, monitor_names
from lookout.flows.hourly import hourly
from lookout.flows.nightly import nightly

__all__ = ["backfill", "hourly", "nightly"]

backfill = build_backfill_flow(monitor_names(os.environ.get("LOOKOUT_MONITORS", "monitors.yml")))

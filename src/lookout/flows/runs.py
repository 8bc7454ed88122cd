"""What the hourly, nightly and backfill flows do alike: load the config and choose the
monitors, open the run's context (through `open_context`, disposed at the end), and wrap up
(deliver, refresh the report index, publish the run's artifacts)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from lookout.config.loader import LookoutConfig, load_config
from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.flows.artifacts import publish_run_artifacts
from lookout.flows.tasks import deliver_task, limited_context, reports_task
from lookout.pipeline import Context
from lookout.runtime.context import open_context

__all__ = ["chosen_monitors", "flow_config", "flow_context", "wrap_up"]


def chosen_monitors(monitors: list[Monitor], names: list[str] | None, path: str) -> list[Monitor]:
    """`names` (default: all) as configured monitors; an unknown name is an error."""
    known = {m.name for m in monitors}
    unknown = sorted(set(names or ()) - known)
    if unknown:
        raise LookoutError(f"unknown monitor(s): {', '.join(unknown)} (see {path})")
    return [m for m in monitors if not names or m.name in names]


def flow_config(
    profiles_path: str, monitors_path: str, target: str | None, names: list[str] | None
) -> tuple[LookoutConfig, list[Monitor]]:
    """The flow's config and the monitors it runs (`names`, default: all)."""
    config = load_config(Path(profiles_path), Path(monitors_path), target=target)
    return config, chosen_monitors(config.monitors.monitors, names, monitors_path)


@contextmanager
def flow_context(config: LookoutConfig) -> Iterator[Context]:
    """The run's pipeline context over `open_context` (judge requests rate-limited when the
    target says so); every connection is closed when the block ends."""
    with open_context(config=config) as opened:
        ctx = limited_context(Context.from_runtime(opened))
        try:
            yield ctx
        finally:
            ctx.close()


def wrap_up(
    ctx: Context,
    kind: str,
    monitors: list[Monitor],
    as_of: datetime,
    results: Sequence[Any],
    failures: list[str],
    extra: list[str] | None = None,
) -> dict[str, int]:
    """Deliver what is queued (finished days' digests first), refresh the report index and
    publish the run's artifacts; a failed refresh is added to `failures`."""
    delivery = deliver_task(ctx)
    pages = reports_task(ctx, monitors, as_of, return_state=True)
    if not pages.is_completed():
        failures.append("report index (refresh failed)")
    publish_run_artifacts(ctx, kind, as_of, results, failures, delivery, extra or ())
    return delivery

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
from lookout.errors import UnknownMonitorError
from lookout.flows.artifacts import publish_run_artifacts
from lookout.flows.tasks import deliver_task, limited_context, reports_task
from lookout.pipeline import Context
from lookout.runtime.context import open_context

__all__ = ["flow_config", "flow_context", "wrap_up"]


def flow_config(
    profiles_path: str, monitors_path: str, target: str | None, names: list[str] | None
) -> tuple[LookoutConfig, list[Monitor]]:
    """The flow's config and the monitors it runs (`names`, default: all)."""
    config = load_config(Path(profiles_path), Path(monitors_path), target=target)
    try:
        return config, config.monitors.chosen(names)
    except UnknownMonitorError as exc:
        raise UnknownMonitorError(f"{exc} in {monitors_path}") from None


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
    delivery = deliver_task(ctx, as_of)
    pages = reports_task(ctx, monitors, as_of, return_state=True)
    if not pages.is_completed():
        failures.append("report index (refresh failed)")
    publish_run_artifacts(ctx, kind, as_of, results, failures, delivery, extra or ())
    return delivery

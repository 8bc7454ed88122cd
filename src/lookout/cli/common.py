"""What every command module shares: the one-line error exit, loading the config, choosing
monitors, the context of a command (`open_context` with the CLI's exits) and the telemetry
switches set before Prefect is imported."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from lookout.cli.console import err_console
from lookout.errors import ConfigError, LookoutError, UnknownMonitorError

if TYPE_CHECKING:
    from lookout.config.models import LookoutConfig
    from lookout.runtime.context import RuntimeContext

__all__ = [
    "SaidByLookout",
    "chosen_monitors",
    "command_context",
    "fail",
    "load",
    "one_monitor",
    "period",
    "prefect_api_url",
    "quiet_prefect",
    "telemetry_off",
    "temporary_api_failed",
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` (one line, escaped) on stderr; the Exit to raise with `code`."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load(
    profiles: Path, monitors: Path, target: str | None, *, drivers: bool = True
) -> LookoutConfig:
    """The config, or exit 2 with its problems; with `drivers`, a missing database driver is
    one line (exit 2) too."""
    from lookout.config.loader import load_config

    try:
        config = load_config(profiles, monitors, target=target)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if drivers:
        _check_drivers(config)
    return config


def _check_drivers(config: LookoutConfig) -> None:
    """A missing database driver stops the command here, in one line naming the pip extra."""
    from lookout.drivers import MissingDriverError, require_driver

    try:
        require_driver(config.target.warehouse.url.get_secret_value(), "warehouse")
        require_driver(config.target.store.url.get_secret_value(), "store")
    except MissingDriverError as exc:
        raise fail(str(exc), 2) from None


@contextmanager
def command_context(config: LookoutConfig, *, must_exist: bool = True) -> Iterator[RuntimeContext]:
    """`open_context` for a command. Read-only commands (`must_exist`) open the store up
    front, one that exists: a missing SQLite file is one line, exit 2, not a new empty store.
    What was opened is disposed when the command is done."""
    from lookout.runtime.context import open_context

    with open_context(config=config, existing_store=must_exist) as ctx:
        if must_exist:
            try:
                ctx.store  # noqa: B018 (open it now: a missing store fails before any work)
            except LookoutError as exc:
                raise fail(str(exc), 2) from None
        yield ctx


def chosen_monitors(config: LookoutConfig, names: list[str] | None) -> list[Any]:
    """The monitors named (all when none is), in config order; an unknown name exits 2."""
    try:
        return config.monitors.chosen(names)
    except UnknownMonitorError as exc:
        raise fail(str(exc), 2) from None


def one_monitor(config: LookoutConfig, name: str | None) -> Any:
    """The monitor named; without a name, the only one (exit 2 naming them when several)."""
    if name is not None:
        return chosen_monitors(config, [name])[0]
    monitors = config.monitors.monitors
    if len(monitors) != 1:
        names = ", ".join(m.name for m in monitors)
        raise fail(f"several monitors ({names}): choose one with --monitor", 2)
    return monitors[0]


def period(
    since: datetime | None, until: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    """[since, until) in UTC (until: now; since: `default` before until); exit 2 when empty."""
    from datetime import UTC

    from lookout.windows import as_utc

    end = as_utc(until) if until is not None else datetime.now(UTC)
    start = as_utc(since) if since is not None else end - default
    if start >= end:
        raise fail(f"--since ({start:%Y-%m-%d %H:%M}) must be before --until", 2)
    return start, end


NO_PREFECT_API = (
    "PREFECT_API_URL is not set: {what} need a Prefect server that stays up. Start one "
    "(`prefect server start`) and `export PREFECT_API_URL=http://127.0.0.1:4200/api`, or "
    "`prefect config set PREFECT_API_URL=...`"
)


def prefect_api_url(what: str = "deployments") -> str:
    """The Prefect API a command that registers or serves deployments talks to (the
    environment's or the Prefect profile's PREFECT_API_URL), or exit 2 saying how to set one:
    without it Prefect quietly starts a temporary server that is gone when the command ends,
    with the deployments in it, and that no other shell or worker can reach."""
    telemetry_off()
    from prefect.settings import get_current_settings

    api = get_current_settings().api.url
    if not api:
        raise fail(NO_PREFECT_API.format(what=what), 2)
    return api


def telemetry_off() -> None:
    """Before Prefect is imported: no telemetry, and, without PREFECT_API_URL, longer than
    Prefect's default for its temporary local API to start (a busy machine, or another
    command starting one: a trial's backfill, which set only the telemetry, died there)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def quiet_prefect(verbose: bool) -> None:
    """Before Prefect is imported: telemetry off and, unless `verbose`, only its warnings (no
    line per task run, no temporary-server hint); the command prints one summary instead."""
    telemetry_off()
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        for name in ("prefect.flow_runs", "prefect.task_runs"):
            run_logger = logging.getLogger(name)
            if not any(isinstance(f, SaidByLookout) for f in run_logger.filters):
                run_logger.addFilter(SaidByLookout())


def temporary_api_failed(exc: BaseException) -> str | None:
    """The one line for Prefect's temporary local API failing to start (None: another
    error). Two commands started at the same moment without `PREFECT_API_URL` each start one
    on the same database, and one dies with a traceback (a trial's two backfills)."""
    text = str(exc)
    if not isinstance(exc, RuntimeError) or "ephemeral Prefect API server" not in text:
        return None
    return (
        f"{text.rstrip('.')}: Prefect's temporary local API did not start (another Lookout "
        "command starting one at the same moment, or a busy machine). Run the commands one "
        "after the other, or start one Prefect server (`prefect server start`) and set "
        "PREFECT_API_URL for every command; PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS "
        "(Lookout's default 90) waits longer"
    )


class SaidByLookout(logging.Filter):
    """Prefect's flow and task run lines that repeat what Lookout says once, left out of a
    quiet command: a traceback of one of Lookout's own errors (its message is the whole
    story; `lookout.pipeline` logs it, the command's last line says it again) and each run's
    "Finished in state" line. An unexpected exception keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, LookoutError):
            return False
        return not str(record.msg).startswith("Finished in state")

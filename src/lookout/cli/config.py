"""`lookout validate-config`: every problem of profiles.yml and monitors.yml at once, then the
drivers (and with --check-warehouse, each monitor's mapping against the live tables)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lookout.cli.console import console, err_console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, TargetOpt
from lookout.errors import ConfigError, LookoutError

if TYPE_CHECKING:
    from lookout.config.loader import LookoutConfig

__all__ = ["validate_config"]


def validate_config(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
    check_warehouse: Annotated[
        bool, typer.Option(help="also check every mapped column against the live tables")
    ] = False,
) -> None:
    """Check profiles.yml and monitors.yml: every problem at once, each with file, line,
    column and key; then the databases' drivers (and with --check-warehouse, the tables)."""
    from lookout.config.loader import load_config
    from lookout.drivers import MissingDriverError, require_driver

    try:
        config = load_config(profiles, monitors, target=target)
    except ConfigError as exc:
        for issue in exc.issues:
            err_console.print(str(issue), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    problems = []
    for key in ("warehouse", "store"):
        try:
            require_driver(getattr(config.target, key).url.get_secret_value(), key)
        except MissingDriverError as exc:
            problems.append(f"{profiles}: outputs.{config.target_name}.{key}.url: {exc}")
    warnings: list[str] = []
    if check_warehouse and not problems:
        found, warnings = _warehouse_problems(config)
        problems += [located(problem, monitors) for problem in found]
        warnings = [located(warning, monitors) for warning in warnings]
    for warning in warnings:  # logged values (JSON keys): printed as text, never as markup
        err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    if problems:
        for problem in problems:
            err_console.print(problem, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2)
    names = ", ".join(m.name for m in config.monitors.monitors)
    rules = sum(len(m.rules) for m in config.monitors.monitors)
    checked = ", columns checked against the tables" if check_warehouse else ""
    console.print(
        f"[green]ok[/]: target {escape(config.target_name)}: warehouse "
        f"{escape(config.target.warehouse.display_url)}, store "
        f"{escape(config.target.store.display_url)}; {len(config.monitors.monitors)} "
        f"monitor(s) ({escape(names)}), {rules} rule(s){checked}",
        highlight=False,
        soft_wrap=True,
    )


def _warehouse_problems(config: LookoutConfig) -> tuple[list[str], list[str]]:
    """Every monitor's mapping against the live tables (all of them, not the first failure),
    and warnings about what the rows hold (a JSON path no row has, a `where` that keeps none
    of the last day's rows, 100% errors, a unit off by a factor)."""
    from datetime import UTC, datetime

    from lookout.runtime.context import open_context
    from lookout.services.config_probe import implausible_rows
    from lookout.sources.json_probe import unmatched_json_fields

    problems, warnings = [], []
    now = datetime.now(UTC)
    with open_context(config=config) as ctx:
        for index, monitor in enumerate(config.monitors.monitors):
            where = f"monitors[{index}]"
            try:
                ctx.warehouse.check_monitor(monitor, index)
                warnings += unmatched_json_fields(ctx.warehouse, monitor.source, where)
            except LookoutError as exc:
                problems += str(exc).splitlines()
                continue
            try:  # what the rows read as only warns: a probe that fails says so, no more
                warnings += implausible_rows(ctx.warehouse, monitor, where, now)
            except LookoutError as exc:
                warnings.append(f"monitors.yml: {where}.source: the newest rows not read: {exc}")
    return problems, warnings


_SAID_OF_MONITORS = re.compile(r"monitors\.yml: (monitors(?:\[\d+\]|\.\w+)+): ")


def located(said: str, monitors: Path) -> str:
    """`monitors.yml: monitors[0].source.where: ...` (what the warehouse checks say) as
    `m1.yml:12:7: monitors[0].source.where: ...`: the file given, the key's line and column
    (its nearest written ancestor's)."""
    match = _SAID_OF_MONITORS.match(said)
    if match is None:
        return said
    from lookout.config.loader import locate_key

    line, column = locate_key(monitors, match.group(1))
    where = str(monitors) if line is None else f"{monitors}:{line}:{column}"
    return f"{where}: {match.group(1)}: {said[match.end() :]}"

"""Options every command takes (`--profiles`, `--monitors`, `--target`), declared once, and how
a group passes them down to its commands."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "SHARED_OPTIONS",
    "MonitorsOpt",
    "ProfilesOpt",
    "SinceOpt",
    "TargetOpt",
    "UntilOpt",
    "VerboseOpt",
    "finite",
    "pass_down",
]

ProfilesOpt = Annotated[Path, typer.Option("--profiles", help="profiles.yml (WHERE)")]
MonitorsOpt = Annotated[Path, typer.Option("--monitors", help="monitors.yml (WHAT)")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="profile target to use")]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="show Prefect's per-flow and per-task log lines")
]
SinceOpt = Annotated[datetime | None, typer.Option(help="period start, UTC (default: 7 days)")]
UntilOpt = Annotated[datetime | None, typer.Option(help="period end, UTC (default: now)")]

# Options every command takes, before or after its name; given to a group (`lookout` or
# `lookout alerts`), they become the defaults of its commands (the command's own option wins).
SHARED_OPTIONS = ("profiles", "monitors", "target", "verbose")


def pass_down(context: typer.Context) -> None:
    """The shared options given to this group, as defaults of every command below it."""
    given = {
        name: str(value) if isinstance(value, Path) else value
        for name, value in context.params.items()
        if name in SHARED_OPTIONS
        and getattr(context.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
    }
    if given:
        context.default_map = _defaults_below(context.command, given, context.default_map or {})


def _defaults_below(command: object, given: dict, existing: dict) -> dict:
    """click's `default_map` for the commands of `command`: `given` for each option a command
    has, nested for groups."""
    found = dict(existing)
    for name, sub in getattr(command, "commands", {}).items():
        entry = dict(found.get(name) or {})
        entry.update({k: v for k, v in given.items() if k in {p.name for p in sub.params}})
        found[name] = _defaults_below(sub, given, entry)
    return found


def finite(value: float | None) -> float | None:
    """Option callback: click's FLOAT (and FloatRange) accept "nan" and "inf"; refuse them."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value

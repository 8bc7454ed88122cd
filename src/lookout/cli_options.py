"""Options every command takes (`--profiles`, `--monitors`, `--target`), declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["MonitorsOpt", "ProfilesOpt", "TargetOpt"]

ProfilesOpt = Annotated[Path, typer.Option("--profiles", help="profiles.yml (WHERE)")]
MonitorsOpt = Annotated[Path, typer.Option("--monitors", help="monitors.yml (WHAT)")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="profile target to use")]

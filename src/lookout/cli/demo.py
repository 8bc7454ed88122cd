"""`lookout demo`: the one command that imports `lookout.demo` (an import-linter contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lookout.cli.common import fail
from lookout.cli.console import console
from lookout.errors import LookoutError

__all__ = ["demo"]


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where everything goes")] = Path(
        "lookout-demo"
    ),
    fresh: Annotated[bool, typer.Option(help="delete earlier demo results first")] = False,
) -> None:
    """Build a synthetic LLM-app warehouse with incidents, run it through Lookout, summarise."""
    from lookout.demo.report import print_demo_summary
    from lookout.demo.runner import run_demo

    with console.status("building the demo warehouse and running the hourly flow…"):
        try:
            outcome = run_demo(directory, fresh=fresh)
        except LookoutError as exc:
            raise fail(str(exc)) from None
    print_demo_summary(console, outcome)

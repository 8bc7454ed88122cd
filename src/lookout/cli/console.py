"""The consoles CLI modules print through.

A rich `Console` reads `COLUMNS` once, when it is made; one made at import keeps the width of
whatever environment imported the module first (a test runner, a wrapper script). These are
made anew on each use, so the width follows the terminal (or `COLUMNS`) of the moment the
command prints, as `--help` does.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

__all__ = ["FreshConsole", "console", "err_console"]


class FreshConsole:
    """Stands in for a `Console`: every attribute comes from a Console made at that moment."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(Console(stderr=self._stderr), name)


console = FreshConsole()
err_console = FreshConsole(stderr=True)

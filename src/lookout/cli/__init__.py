"""`lookout` command line (typer + rich): one module per command group; commands parse
arguments and print, the logic is in `lookout.services` and below.

`app` and `main` (the console script) come from `lookout.cli.app`.
"""

from lookout.cli.app import app, main

__all__ = ["app", "main"]

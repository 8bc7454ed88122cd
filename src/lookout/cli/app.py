"""The `lookout` typer app: the root callback, every command registered from its own module,
and `main`, which ends a Lookout error in one line instead of a traceback.

Command modules import only typer, rich and each other at import; everything heavy (pandas,
SQLAlchemy, Prefect) is imported inside the command that needs it, so `lookout --help` stays
fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli import (
    alerts,
    backfill,
    compare,
    config,
    deploy,
    history,
    init,
    reports,
    results,
    run,
)
from lookout.cli import demo as demo_command
from lookout.cli import eval as eval_command
from lookout.cli.console import err_console
from lookout.cli.options import TargetOpt, VerboseOpt, pass_down
from lookout.errors import LookoutError

__all__ = ["app", "main"]

app = typer.Typer(
    name="lookout",
    help="Watch ML and LLM systems in production: metrics per release, alerts to owners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    context: typer.Context,
    profiles: Annotated[
        Path | None, typer.Option("--profiles", help="profiles.yml (WHERE), for every command")
    ] = None,
    monitors: Annotated[
        Path | None, typer.Option("--monitors", help="monitors.yml (WHAT), for every command")
    ] = None,
    target: TargetOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    pass_down(context)


# In the order `lookout --help` lists them.
app.command("validate-config")(config.validate_config)
app.command()(run.run)
app.command()(run.serve)
app.command()(run.automations)
app.command()(compare.compare)
app.command()(compare.gate)
app.command()(demo_command.demo)

alerts_app = typer.Typer(help="Alerts: list them, silence them for a while.")
app.add_typer(alerts_app, name="alerts")
alerts_app.callback(invoke_without_command=True)(alerts.alerts)
alerts_app.command("silence")(alerts.alerts_silence)
alerts_app.command("ack")(alerts.alerts_ack)
alerts_app.command("silences")(alerts.alerts_silences)
alerts_app.command("unsilence")(alerts.alerts_unsilence)

app.command("eval")(eval_command.eval_file)

reports_app = typer.Typer(help="Drift reports: serve the folder, rebuild a day, clean up.")
app.add_typer(reports_app, name="reports")
reports_app.command("serve")(reports.reports_serve)
reports_app.command("build")(reports.reports_build)

app.command("init")(init.init)
alerts_app.command("history")(history.history)
alerts_app.command("stats")(history.stats)
app.command("backfill")(backfill.backfill)
app.command("releases")(results.releases)
app.command("results")(results.results)
app.command("deploy")(deploy.deploy)


def main() -> None:
    """The `lookout` console script: an error Lookout raises on purpose (a missing driver deep
    in a command, a store that cannot be read) ends the command with its one line, exit 1,
    never a traceback."""
    try:
        app()
    except LookoutError as exc:
        raise SystemExit(_print_error(str(exc), 1)) from None


def _print_error(message: str, code: int) -> int:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return code

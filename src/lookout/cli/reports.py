"""`lookout reports serve` (the reports folder on 127.0.0.1) and `lookout reports build` (a
day's drift reports rebuilt from the whole day's rows, old ones cleaned, indexes refreshed)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli.common import chosen_monitors, command_context, fail, load
from lookout.cli.console import console, err_console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, TargetOpt

__all__ = ["reports_build", "reports_serve"]


def reports_serve(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="reports folder (default: <out_dir>/reports)")
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="port on 127.0.0.1 (0: any free port)")
    ] = 8765,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Serve the reports folder on 127.0.0.1 for local review (Ctrl-C stops)."""
    from lookout.reports.paths import REPORTS_DIR
    from lookout.reports.serve import make_server

    if directory is None:
        config = load(profiles, monitors, target)
        directory = Path(config.target.out_dir) / REPORTS_DIR
    if not directory.is_dir():
        raise fail(f"{directory}: no reports folder (run the hourly flow or `lookout demo`)")
    server = make_server(directory, port)
    host, bound = server.server_address[:2]
    console.print(f"serving {escape(str(directory))} at http://{host}:{bound}/", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def reports_build(
    day: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="UTC day (default: yesterday)")
    ] = None,
    monitor: Annotated[list[str] | None, typer.Option(help="only these monitors")] = None,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Rewrite a day's drift reports with the whole day's rows, clean old ones, refresh indexes."""
    from datetime import UTC, timedelta

    from lookout.reports.build import build_day_reports
    from lookout.reports.site import refresh_site

    config = load(profiles, monitors, target)
    now = datetime.now(UTC)
    the_day = day.date() if day is not None else (now - timedelta(days=1)).date()
    chosen = chosen_monitors(config, monitor)
    failed = 0
    with command_context(config, must_exist=False) as ctx:
        for item in chosen:
            if not item.drift.enabled:
                continue
            outcome = build_day_reports(ctx.warehouse, ctx.store, item, ctx.out_dir, the_day)
            failed += len(outcome.failed)
            for path in outcome.written:
                console.print(f"wrote {escape(path)}", highlight=False, soft_wrap=True)
            for problem in outcome.failed:
                err_console.print(f"failed {escape(problem)}", highlight=False, soft_wrap=True)
        pages = refresh_site(
            ctx.store, ctx.out_dir, chosen, now, config.monitors.alerting.stale_after
        )
    if pages:
        console.print(f"index: {escape(str(pages[-1]))}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)

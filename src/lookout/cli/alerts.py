"""`lookout alerts` (list), `alerts silence`, `alerts ack`, `alerts silences`, `alerts unsilence`.

Parses and prints; what they do is in `lookout.services.alerts`. The group passes the shared
options (`--profiles`, `--monitors`, `--target`, before or after the command) down as defaults.
`alerts history` and `alerts stats` are in `lookout.cli.history`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from lookout.cli.common import command_context, fail, load
from lookout.cli.console import console, err_console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, TargetOpt, pass_down

__all__ = ["alerts", "alerts_ack", "alerts_silence", "alerts_silences", "alerts_unsilence"]


def alerts(
    context: typer.Context,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
    state: Annotated[
        Literal["firing", "resolved", "all"],
        typer.Option(help="which alerts to list (`all`: every state, with a state column)"),
    ] = "firing",
) -> None:
    """List alerts from the results store (firing by default)."""
    pass_down(context)
    if context.invoked_subcommand is not None:
        return
    from lookout.cli.tables import print_alerts
    from lookout.services.alerts import list_alerts, owner_mentions, runbook_url

    config = load(profiles, monitors, target)
    with command_context(config) as ctx:
        rows = list_alerts(ctx.store, state)
    title = f"Alerts {'in every state' if state == 'all' else state}: {len(rows)}"
    sizes = {m.name: m.window.size for m in config.monitors.monitors}
    print_alerts(
        console,
        rows,
        title,
        lambda o: owner_mentions(config, o),
        lambda a: runbook_url(config, a),
        with_state=state == "all",
        window_size=sizes.get,
    )


def alerts_silence(
    match: Annotated[
        list[str], typer.Option("--match", help="label=glob, e.g. rule=error_rate (repeatable)")
    ],
    duration: Annotated[str, typer.Option("--for", help="how long, e.g. 30m, 4h, 2d")] = "4h",
    comment: Annotated[str, typer.Option(help="why (shown in `lookout alerts silences`)")] = "",
    by: Annotated[str, typer.Option(help="who")] = "",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Hold back the messages of matching alerts for a while (they still change state)."""
    from lookout.alerts.silences import parse_matchers
    from lookout.core.durations import parse_duration
    from lookout.services.alerts import silence, unknown_names

    try:
        matchers = parse_matchers(match)
        length = parse_duration(duration)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    config = load(profiles, monitors, target)
    typos = unknown_names(config, matchers)
    if typos:  # a silence that matches no configured name would hold back nothing, quietly
        raise fail("; ".join(typos), 2)
    # a silence may come before the first run: the store is made if missing
    with command_context(config, must_exist=False) as ctx:
        made = silence(ctx.store, matchers, datetime.now(UTC), length, by, comment)
    shown = ", ".join(f"{k}={v}" for k, v in matchers.items())
    console.print(
        f"silence {made.silence_id}: {escape(shown)} until {made.ends_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
        soft_wrap=True,
    )


def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="the alert's id (a prefix of its fingerprint)")],
    duration: Annotated[str, typer.Option("--for", help="how long, e.g. 4h")] = "4h",
    by: Annotated[str, typer.Option(help="who")] = "",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Acknowledge one firing alert: no reminders or messages for it for a while."""
    from lookout.core.durations import parse_duration
    from lookout.services.alerts import acknowledge

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    config = load(profiles, monitors, target)
    with command_context(config) as ctx:
        try:
            done = acknowledge(config, ctx.store, alert_id, datetime.now(UTC), length, by)
        except ValueError as exc:
            raise fail(str(exc), 1) from None
    for error in done.delivery_errors:
        err_console.print(f"PagerDuty: {escape(error)}", highlight=False, soft_wrap=True)
    alert = done.alert
    console.print(
        f"acknowledged {escape(alert.rule)} {escape(alert.release)} {escape(alert.cohort)} "
        f"until {done.silence.ends_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
        soft_wrap=True,
    )


def alerts_silences(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Active silences."""
    from rich.table import Table

    from lookout.services.alerts import active_silences

    config = load(profiles, monitors, target)
    with command_context(config) as ctx:
        active = active_silences(ctx.store, datetime.now(UTC))
    table = Table("id", "matchers", "until (UTC)", "by", "comment")
    for item in active:
        shown = ", ".join(f"{k}={v}" for k, v in item.matchers.items())
        table.add_row(
            item.silence_id,
            escape(shown),
            f"{item.ends_at:%Y-%m-%d %H:%M}",
            escape(item.created_by),
            escape(item.comment),
        )
    console.print(table)


def alerts_unsilence(
    silence_id: Annotated[str, typer.Argument(help="the silence's id")],
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """End a silence now."""
    from lookout.services.alerts import end_silence

    config = load(profiles, monitors, target)
    with command_context(config) as ctx:
        found = end_silence(ctx.store, silence_id, datetime.now(UTC))
    if not found:
        raise fail(f"no silence {silence_id}", 1)
    console.print(f"silence {escape(silence_id)} ended", highlight=False)

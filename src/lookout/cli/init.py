"""`lookout init`: propose a monitor for a table, show why, write monitors.yml (and profiles.yml).

The proposal is made in `lookout.services.init`; this module reads the table, shows the
proposal, asks, and writes the files.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli.common import fail
from lookout.cli.console import console
from lookout.core.durations import format_duration

__all__ = ["init"]


def init(
    table: Annotated[
        str,
        typer.Option(
            "--table", help='[SCHEMA.]TABLE to monitor (mixed case as spelled, or "Obs"."Log")'
        ),
    ],
    profiles: Annotated[
        Path, typer.Option("--profiles", help="profiles.yml: read if there, written if not")
    ] = Path("profiles.yml"),
    monitors: Annotated[Path, typer.Option("--monitors", help="monitors.yml to write")] = Path(
        "monitors.yml"
    ),
    target: Annotated[
        str | None, typer.Option("--target", help="profile target (written: default dev)")
    ] = None,
    warehouse_url: Annotated[
        str | None,
        typer.Option(
            "--warehouse-url",
            help="the warehouse when profiles.yml does not exist yet (or $LOOKOUT_WAREHOUSE_URL)",
        ),
    ] = None,
    monitor_name: Annotated[
        str | None, typer.Option("--monitor-name", help="default: the table's name")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="write without asking (scripts)")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="overwrite an existing monitors.yml")
    ] = False,
) -> None:
    """Propose a monitor for a table from its columns and a bounded sample of its newest day:
    the mapping, release, cohorts, window, rules, validation, drift and evaluators, each with
    its reason. Shows it, asks, then writes monitors.yml (and profiles.yml if missing)."""
    from lookout.model.record import check_identifier
    from lookout.services.init_lookup import split_table

    try:
        schema, name = split_table(table)
        if monitor_name is not None:
            check_identifier(monitor_name)
    except ValueError as exc:
        raise fail(f"--table/--monitor-name: {exc}", 2) from None
    interactive = _interactive()
    if monitors.exists() and not force and (yes or not interactive):
        raise fail(
            f"{monitors} exists: pass --force to overwrite it, or --monitors to write another file",
            2,
        )
    url, url_from_env = _warehouse(profiles, target, warehouse_url)
    proposal, read = _propose(url, name, schema, monitor_name)
    _show(proposal, read)
    if proposal.missing:
        raise fail(
            f"no column for {', '.join(proposal.missing)} (required): map it through a view "
            "and run init on the view",
            2,
        )
    if not yes:
        if not interactive:
            raise fail(
                "not written: stdin is not a terminal; pass --yes to write without asking", 2
            )
        question = f"Write {monitors}" + (" (it exists: overwrite)" if monitors.exists() else "")
        if not typer.confirm(question + "?", default=True):
            raise typer.Exit(1)
    _write(proposal, read, monitors, profiles, target, url, url_from_env)


def _interactive() -> bool:
    """A person at a terminal can answer the question."""
    return sys.stdin.isatty()


def _warehouse(profiles: Path, target: str | None, given: str | None) -> tuple[str, bool]:
    """The warehouse URL, and whether profiles.yml should read it from the environment."""
    from lookout.config.loader import load_profiles
    from lookout.errors import ConfigError

    if profiles.exists():
        if given is not None:
            raise fail(
                f"{profiles} exists and names the warehouse: drop --warehouse-url, or pass "
                "--profiles to write a new one",
                2,
            )
        try:
            chosen = load_profiles(profiles, target)
        except ConfigError as exc:
            raise fail(str(exc).splitlines()[0], 2) from None
        return chosen.warehouse.url.get_secret_value(), False
    if given is not None:
        return given, False
    from_env = os.environ.get("LOOKOUT_WAREHOUSE_URL")
    if from_env:
        return from_env, True
    raise fail(
        f"no {profiles}: pass --warehouse-url (or set LOOKOUT_WAREHOUSE_URL) to write one", 2
    )


def _propose(url: str, table: str, schema: str | None, monitor: str | None):
    from lookout.services.init import propose
    from lookout.services.init_table import InitError, read_table

    try:
        read = read_table(url, table, schema)
    except InitError as exc:
        raise fail(str(exc), 2) from None
    proposal = propose(
        read.columns,
        read.sample,
        read.traffic,
        table=table,
        schema=schema,
        monitor=monitor,
        now=datetime.now(UTC),
        votes=read.votes,
    )
    return proposal, read


def _show(proposal, read) -> None:
    from rich.table import Table

    traffic = proposal.traffic
    where = f"{proposal.schema}.{proposal.table}" if proposal.schema else proposal.table
    rate = "unknown" if traffic.rows_per_hour is None else f"~{traffic.rows_per_hour:,.1f}/hour"
    if traffic.rows_estimate is None:
        total = "rows unknown (no count without a full scan)"
    else:
        total = f"{'' if traffic.rows_exact else '~'}{traffic.rows_estimate:,} rows"
    console.print(
        f"{escape(where)} in {escape(read.display_url)}: {total}, {rate} over "
        f"{traffic.over}; read {traffic.timestamps_read:,} event times and "
        f"{proposal.sample_rows:,} rows of the newest day ({escape(traffic.method)})",
        highlight=False,
        soft_wrap=True,
    )
    table = Table("column", "type", "role", "why", title="Proposed mapping", title_justify="left")
    for role in proposal.roles:
        table.add_row(
            escape(role.column), escape(role.sql_type), escape(role.role), escape(role.reason)
        )
    console.print(table)
    sizing = proposal.sizing
    console.print(
        f"release: {', '.join(proposal.release) or 'default'}; cohorts: "
        f"{escape(', '.join(proposal.cohorts)) or 'none'}; window {format_duration(sizing.window)} "
        f"(~{sizing.rows_per_window:,.0f} rows each)",
        highlight=False,
        soft_wrap=True,
    )
    rules = Table(
        "rule", "fires when", "split by", "why", title="Starter rules", title_justify="left"
    )
    for rule in proposal.rules:
        pooled = f" (pools up to {format_duration(rule.max_over)})" if rule.max_over else ""
        rules.add_row(
            escape(rule.name),
            escape(f"{rule.metric} {rule.op} {rule.threshold:g}{pooled}"),
            escape(", ".join(rule.split_by)),
            escape(rule.comment),
        )
    console.print(rules)
    for note in proposal.notes:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if proposal.status_warning is not None:
        console.print(
            f"[bold yellow]warning:[/] {escape(proposal.status_warning)}",
            highlight=False,
            soft_wrap=True,
        )


def _write(proposal, read, monitors: Path, profiles: Path, target, url, url_from_env) -> None:
    """Both files checked by the config loader before they replace anything."""
    from lookout.config.loader import load_monitors
    from lookout.errors import ConfigError
    from lookout.services.init_yaml import WAREHOUSE_ENV, render_monitors, render_profiles
    from lookout.urls import url_secrets

    text = render_monitors(proposal, datetime.now(UTC))
    try:
        _replace_checked(monitors, text, load_monitors)
    except ConfigError as exc:  # a bug of init: say so, write nothing
        raise fail(f"the proposal does not load (please report): {exc}", 1) from None
    console.print(f"wrote {escape(str(monitors))}", highlight=False)
    if proposal.status_warning is not None:
        console.print(
            f"[bold yellow]before running:[/] set ok_statuses in {escape(str(monitors))} "
            f"(which values of {escape(proposal.columns['status'])} mean ok: see the warning)",
            highlight=False,
            soft_wrap=True,
        )
    if profiles.exists():
        return
    has_password = bool(url_secrets(url))  # in the user part or the query (?password=)
    env_url = url_from_env or has_password
    notes = []
    if has_password and not url_from_env:
        notes.append(f"the URL has a password: export {WAREHOUSE_ENV} with it before running")
    body = render_profiles(
        target=target or "dev",
        warehouse=url,
        directory=profiles.parent,
        env_url=env_url,
        notes=notes,
    )
    profiles.parent.mkdir(parents=True, exist_ok=True)
    profiles.write_text(body)
    console.print(f"wrote {escape(str(profiles))}", highlight=False)
    if env_url:
        console.print(
            f"profiles.yml reads the warehouse from ${WAREHOUSE_ENV}: export it "
            "(the password stays out of the file)",
            highlight=False,
        )
    console.print(
        "next: lookout validate-config --check-warehouse, then lookout run", highlight=False
    )


def _replace_checked(path: Path, text: str, load) -> None:
    """Write `text` beside `path`, load it, then move it over `path` (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".yml", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        load(Path(temp))
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)

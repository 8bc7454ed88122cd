"""`lookout releases` and `lookout results`: what the results store holds, per release.

Tables fit the terminal (80 columns when piped): numbers are never wrapped or cut; names too
long for what is left are shortened in the middle (`gpt-4o-m…support-v8`), so the version at
the end stays readable. `--format json|csv` prints every field, unshortened, for scripts.
The queries are in `lookout.services.results`, the layout in `lookout.cli.tables`; this module
only parses and prints.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from lookout.cli.common import chosen_monitors, command_context, fail, load
from lookout.cli.console import console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, TargetOpt
from lookout.cli.tables import Column, print_table

__all__ = ["releases", "results"]


Format = Literal["table", "json", "csv"]

MonitorOpt = Annotated[
    str | None, typer.Option("--monitor", help="one monitor (default: every monitor)")
]
FormatOpt = Annotated[
    Format, typer.Option("--format", help="table (fits the terminal), json or csv (every field)")
]


def _emit(
    fmt: Format,
    records: list[dict[str, Any]],
    render: Callable[[], None],
) -> None:
    """json/csv: every field of `records` to stdout as is; table: `render()`."""
    if fmt == "json":
        typer.echo(json.dumps(records, indent=2, allow_nan=False))
    elif fmt == "csv":
        keys: list[str] = []
        for record in records:
            keys += [k for k in record if k not in keys]
        writer = csv.DictWriter(sys.stdout, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    else:
        render()


# -- commands --------------------------------------------------------------------------------


def releases(
    monitor: MonitorOpt = None,
    fmt: FormatOpt = "table",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Releases with stored results, per monitor: first and last seen, share of the
    monitor's records, firing alerts. Names here are what `compare --baseline` takes (a
    unique prefix is enough)."""
    from lookout.services.results import release_rows

    config = load(profiles, monitors, target, drivers=False)
    chosen = chosen_monitors(config, [monitor] if monitor is not None else None)
    with command_context(config) as ctx:
        found = {m.name: release_rows(ctx.store, m.name) for m in chosen}

    def render() -> None:
        for name, rows in found.items():
            console.print(
                f"[bold]{escape(name)}[/]: {len(rows)} release(s)", highlight=False, soft_wrap=True
            )
            if not rows:
                continue
            columns = [
                Column("release", name=True),
                Column("first seen (UTC)"),
                Column("last seen (UTC)"),
                Column("traffic"),
                Column("records"),
                Column("alerts"),
            ]
            cells = [
                [
                    r.release,
                    f"{r.first_seen:%Y-%m-%d %H:%M}",
                    f"{r.last_seen:%Y-%m-%d %H:%M}",
                    "-" if r.traffic_share is None else f"{r.traffic_share:.1%}",
                    f"{r.records:,}",
                    str(r.open_alerts),
                ]
                for r in rows
            ]
            print_table(console, columns, cells)

    _emit(fmt, [r.as_dict() for rows in found.values() for r in rows], render)


def results(
    monitor: MonitorOpt = None,
    release: Annotated[
        list[str] | None,
        typer.Option("--release", help="release name or unique prefix (repeatable)"),
    ] = None,
    cohort: Annotated[
        list[str] | None,
        typer.Option(
            "--cohort",
            help="`*` (whole release, the default), a cohort column (each value), or "
            "column=value (repeatable)",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="windows starting from, UTC (default: the first)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="windows starting before, UTC (default: now)")
    ] = None,
    fmt: FormatOpt = "table",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Per-release numbers over a period, from the stored results (no warehouse read):
    records, error rate, latency p50/p95/p99, tokens, cost. Quantiles come from merged
    sketches (within 0.5% of a value at that rank)."""
    from lookout.cli.backfill import parse_moment
    from lookout.services.results import release_rows, resolve_release, result_rows

    try:
        start = None if since is None else parse_moment("--since", since)
        end = None if until is None else parse_moment("--until", until)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    if start is not None and end is not None and end <= start:
        raise fail(f"--until ({end:%Y-%m-%d %H:%M}) must be after --since", 2)
    config = load(profiles, monitors, target, drivers=False)
    chosen = chosen_monitors(config, [monitor] if monitor is not None else None)
    cohorts = cohort or ["*"]
    _check_cohorts(chosen, cohorts)
    rows = []
    with command_context(config) as ctx:
        store = ctx.store
        for item in chosen:
            names = None
            if release:
                known = [r.release for r in release_rows(store, item.name)]
                try:
                    names = [resolve_release(known, given, item.name) for given in release]
                except ValueError as exc:
                    if len(chosen) > 1 and not any(k.startswith(tuple(release)) for k in known):
                        continue  # another monitor's release
                    raise fail(str(exc), 2) from None
            rows += result_rows(
                store,
                item.name,
                item.window.size,
                since=start,
                until=end,
                releases=names,
                cohorts=cohorts,
            )
    if release and not rows and len(chosen) > 1:
        raise fail(f"no monitor has stored results for release {', '.join(release)}", 2)
    _emit(fmt, [r.as_dict() for r in rows], lambda: _results_table(rows, cohorts))


def _results_table(rows: list, cohorts: list[str]) -> None:
    if not rows:
        console.print("no stored results in this period", highlight=False)
        return
    with_cohort = cohorts != ["*"]
    for name in dict.fromkeys(r.monitor for r in rows):
        mine = [r for r in rows if r.monitor == name]
        span = (
            f"{min(r.since for r in mine):%Y-%m-%d %H:%M}–"
            f"{max(r.until for r in mine):%Y-%m-%d %H:%M}"
        )
        console.print(f"[bold]{escape(name)}[/]: {span} UTC", highlight=False)
        columns = [Column("release", name=True)]
        header, cohort_cell = _cohort_column(mine)
        columns += [Column(header, name=True)] if with_cohort else []
        columns += [Column(h) for h in ("n", "errors", "p50", "p95", "p99", "tokens", "cost")]
        cells = []
        for r in mine:
            m = r.metrics
            tokens = [m.get("prompt_tokens_mean"), m.get("completion_tokens_mean")]
            known = [t for t in tokens if t is not None]
            cells.append(
                [
                    r.release,
                    *([cohort_cell(r.cohort)] if with_cohort else []),
                    f"{r.n:,}",
                    _number(m.get("error_rate"), "{:.2%}"),
                    _number(m.get("latency_p50_ms"), "{:,.0f}"),
                    _number(m.get("latency_p95_ms"), "{:,.0f}"),
                    _number(m.get("latency_p99_ms"), "{:,.0f}"),
                    _number(sum(known) if known else None, "{:,.0f}"),
                    _cost(r.totals.get("cost_usd")),
                ]
            )
        print_table(console, columns, cells)
        console.print(
            f"latency p50-p99 in ms; tokens: mean per record ({tokens_words(mine)}); "
            "cost: total USD",
            style="dim",
            highlight=False,
        )


def tokens_words(rows: list) -> str:
    """What the tokens column adds up: `in + out`, or the one side the rows have (a prompt
    tokens field mapped to a JSON path no row holds read as `in + out` before)."""
    sides = [
        side
        for side, metric in (("in", "prompt_tokens_mean"), ("out", "completion_tokens_mean"))
        if any(r.metrics.get(metric) is not None for r in rows)
    ]
    if len(sides) == 1:
        return f"{sides[0]} only: no {'out' if sides == ['in'] else 'in'} tokens stored"
    return "in + out"


def _cohort_column(rows: list) -> tuple[str, Callable[[str], str]]:
    """One cohort column shown: its name as the header and only values in the cells
    (`*` is `(all)`); several: `cohort` and whole labels (`region=eu`)."""
    dimensions = {r.cohort.partition("=")[0] for r in rows if r.cohort != "*"}
    if len(dimensions) == 1:
        return dimensions.pop(), lambda c: "(all)" if c == "*" else c.partition("=")[2]
    return "cohort", lambda c: c


def _number(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _cost(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if value >= 100 else f"{value:.4f}"


# -- shared ------------------------------------------------------------------------------------


def _check_cohorts(chosen: list, cohorts: list[str]) -> None:
    """Each --cohort names `*` or a cohort column of a chosen monitor (column=value too)."""
    known = {c for m in chosen for c in m.source.cohorts}
    unknown = [c for c in cohorts if c != "*" and c.partition("=")[0] not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise fail(
            f"--cohort: unknown {', '.join(map(repr, unknown))} (cohort columns: {listed})", 2
        )

"""`lookout alerts history` and `lookout alerts stats`: episodes from the stored alert history.

`lookout.cli.app` registers the commands on its `alerts` group, which passes the shared
options (`--profiles`, `--monitors`, `--target`, before or after the command) down as
defaults. Logic is in `lookout.store.history`; this module parses and prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from lookout.cli.common import command_context, fail, load
from lookout.cli.console import console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, TargetOpt
from lookout.core.durations import format_span

__all__ = ["history", "parse_since", "stats"]


SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="a duration back from now (7d, 12h) or a UTC date/time"),
]
FormatOpt = Annotated[Literal["table", "json"], typer.Option("--format", help="table or json")]


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """`7d` -> now minus seven days; `2026-11-02` or `2026-11-02T06:00` -> that UTC time."""
    if value is None:
        return None
    from lookout.core.durations import parse_duration

    try:
        back = parse_duration(value)
    except ValueError:
        pass
    else:
        return now - back  # type: ignore[operator]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since: expected a duration (7d, 12h) or a UTC date/time, got {value!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@contextmanager
def _store(profiles: Path, monitors: Path, target: str | None) -> Iterator[Any]:
    """The results store the config names; one that exists (history is read-only)."""
    config = load(profiles, monitors, target, drivers=False)
    with command_context(config) as ctx:
        yield ctx.store


def _since(value: str | None) -> datetime | None:
    try:
        return parse_since(value, datetime.now(UTC))
    except ValueError as exc:
        raise fail(str(exc), 2) from None


def _span(value: timedelta | None) -> str:
    return "-" if value is None else format_span(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def history(
    monitor: Annotated[str | None, typer.Option("--monitor", help="only this monitor")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="only this rule")] = None,
    cohort: Annotated[
        str | None, typer.Option("--cohort", help="only this cohort (region=eu, * overall)")
    ] = None,
    since: SinceOpt = None,
    output: FormatOpt = "table",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Alert episodes (open..resolve), oldest first: when each started breaching, opened,
    resolved (or went stale), how bad it got, and whether anyone was paged."""
    start = _since(since)
    with _store(profiles, monitors, target) as store:
        found = store.history.episodes(monitor=monitor, rule=rule, cohort=cohort, since=start)
    if output == "json":
        console.print_json(json.dumps([_episode_json(e) for e in found]))
        return
    table = Table(
        "id",
        "sev",
        "monitor · rule",
        "release · cohort",
        "first breach",
        "opened",
        "ended",
        "detect",
        "lasted",
        "peak",
        "paged",
        title=f"Alert episodes: {len(found)}",
        title_justify="left",
        caption="first breach, opened, ended: the start (UTC) of the first breaching window, "
        "of the window that opened the alert and of the one that ended it; detect: from the "
        "first breach to the end of the opening window (when it could be known)",
        caption_justify="left",
    )
    from lookout.notify.builder import format_value

    for episode in found:
        ended = (
            f"{episode.closed_window:%Y-%m-%d %H:%M} {episode.ended_by}"
            if episode.closed_window
            else "firing"
        )
        table.add_row(
            episode.fingerprint[:8],
            episode.severity,
            escape(f"{episode.monitor} · {episode.rule}"),
            escape(f"{episode.release} · {episode.cohort}"),
            f"{episode.first_breach:%Y-%m-%d %H:%M}",
            f"{episode.opened_window:%Y-%m-%d %H:%M}" + (" (reopen)" if episode.reopen else ""),
            ended,
            _span(episode.time_to_detect),
            _span(episode.time_to_resolve),
            escape(f"{format_value(episode.metric, episode.peak)} (n={episode.n:,})"),
            "yes" if episode.notified else "no",
        )
    console.print(table)


def _episode_json(episode: Any) -> dict[str, Any]:
    return {
        "fingerprint": episode.fingerprint,
        "monitor": episode.monitor,
        "rule": episode.rule,
        "release": episode.release,
        "cohort": episode.cohort,
        "metric": episode.metric,
        "severity": episode.severity,
        "first_breach": _iso(episode.first_breach),  # window starts...
        "opened_window_start": _iso(episode.opened_window),
        "closed_window_start": _iso(episode.closed_window),
        "opened": _iso(episode.opened),  # ...and window ends: when it could be known
        "closed": _iso(episode.closed),
        "ended_by": episode.ended_by,
        "reopen": episode.reopen,
        "peak": episode.peak,
        "n": episode.n,
        "reference": episode.reference,
        "paged": episode.notified,
        "time_to_detect_s": episode.time_to_detect.total_seconds(),
        "time_to_resolve_s": (
            None if episode.time_to_resolve is None else episode.time_to_resolve.total_seconds()
        ),
        "events": [
            {
                "event": e.event,
                "window_start": _iso(e.window_start),
                "window_end": _iso(e.window_end),
                "value": e.value,
                "n": e.n,
                "severity": e.severity,
                "reference": e.reference,
                "at": _iso(e.at),
                "paged": e.notified,
                "note": e.note,
            }
            for e in episode.events
        ],
    }


def stats(
    monitor: Annotated[str | None, typer.Option("--monitor", help="only this monitor")] = None,
    since: SinceOpt = None,
    output: FormatOpt = "table",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Per rule: episodes, time to detect (first breaching window to the window that opened
    it), time to resolve (opening window to resolving window), pages sent."""
    start = _since(since)
    with _store(profiles, monitors, target) as store:
        found = store.history.stats(monitor=monitor, since=start)
    if output == "json":
        rows = [
            {
                "monitor": s.monitor,
                "rule": s.rule,
                "episodes": s.episodes,
                "firing": s.firing,
                "stale": s.stale,
                "detect_median_s": _seconds(s.detect_median),
                "detect_max_s": _seconds(s.detect_max),
                "resolve_median_s": _seconds(s.resolve_median),
                "resolve_max_s": _seconds(s.resolve_max),
                "pages": s.pages,
            }
            for s in found
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table(
        "monitor · rule",
        "episodes",
        "firing",
        "stale",
        "detect (median / max)",
        "resolve (median / max)",
        "pages sent",
        title=f"Alert stats by rule{'' if start is None else f' since {start:%Y-%m-%d %H:%M} UTC'}",
        title_justify="left",
    )
    for s in found:
        table.add_row(
            escape(f"{s.monitor} · {s.rule}"),
            str(s.episodes),
            str(s.firing),
            str(s.stale),
            f"{_span(s.detect_median)} / {_span(s.detect_max)}",
            f"{_span(s.resolve_median)} / {_span(s.resolve_max)}",
            str(s.pages),
        )
    console.print(table)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()

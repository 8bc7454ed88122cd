"""Terminal tables that fit: numbers whole, names shortened in the middle.

At 80 columns (what a pipe gets) a table of several numbers leaves little room for release
names such as `gpt-4o-mini-2024-07-18@support-v8`. Number columns keep their whole width and
are never wrapped or cut; name columns share the rest, each line shortened in the middle
(`gpt-4o-mi…support-v8`) so the version at the end stays readable. When even the shortest
names do not fit, lines run long rather than numbers being cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = [
    "Column",
    "fit_table",
    "print_alerts",
    "print_table",
    "shorten_middle",
    "shorten_pair",
]

ELLIPSIS = "…"
MIN_NAME = 8  # a name column never gets narrower than this (the table may then run long)


def shorten_middle(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut in the middle: `gpt-4o-m…support-v8`."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    tail = width // 2  # the end (a version) gets the odd character
    head = width - 1 - tail
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def shorten_pair(text: str, width: int) -> str:
    """`release · cohort` in `width`: the release shortened in the middle, the cohort kept
    whole while it leaves the release a few characters (`gpt-4o…support-v8 · region=eu`)."""
    left, sep, right = text.partition(" · ")
    room = width - len(sep) - len(right)
    if not sep or room < MIN_NAME:
        return shorten_middle(text, width)
    return shorten_middle(left, room) + sep + right


@dataclass(frozen=True)
class Column:
    header: str
    name: bool = False  # a name (shortened to fit) rather than a number (never cut)
    shorten: Callable[[str, int], str] = shorten_middle  # how a name's lines are shortened


def _widest(texts: Sequence[str]) -> int:
    return max((len(line) for text in texts for line in text.split("\n")), default=0)


GAP = 2  # between two columns: one space of padding and the (blank) divider


def fit_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int
) -> tuple[Table, int]:
    """A borderless table, and its width: at most `width` when it can be. Number columns are
    as wide as their widest cell and never cut; name columns share what is left, each line
    of a cell shortened in the middle to fit. Cells are plain text (escaped here)."""
    natural = [_widest([c.header, *(r[i] for r in rows)]) for i, c in enumerate(columns)]
    names = [i for i, c in enumerate(columns) if c.name]
    left = width - sum(w for i, w in enumerate(natural) if i not in names)
    left -= GAP * (len(columns) - 1)
    limits: dict[int, int] = {}
    for position, i in enumerate(sorted(names, key=lambda k: natural[k])):
        share = left // (len(names) - position)  # a narrow name gives its spare width away
        limits[i] = min(natural[i], max(MIN_NAME, share))
        left -= limits[i]
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    for i, column in enumerate(columns):
        if column.name:
            header = "\n".join(shorten_middle(h, limits[i]) for h in column.header.split("\n"))
            table.add_column(escape(header), no_wrap=True, width=limits[i])
        else:
            table.add_column(escape(column.header), justify="right", no_wrap=True, width=natural[i])
    for row in rows:
        cells = [
            "\n".join(columns[i].shorten(line, limits[i]) for line in v.split("\n"))
            if i in limits
            else v
            for i, v in enumerate(row)
        ]
        table.add_row(*(escape(cell) for cell in cells))
    used = sum(limits.get(i, w) for i, w in enumerate(natural)) + GAP * (len(columns) - 1)
    return table, used


def print_table(out: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """`fit_table` at the console's width; wider only when even the shortest names do not
    fit (then lines run long instead of numbers being cut)."""
    table, used = fit_table(columns, rows, out.width)
    if used <= out.width:
        out.print(table)
        return
    wide = Console(
        file=out.file, width=used, color_system=out.color_system, force_terminal=out.is_terminal
    )
    wide.print(table)


def _value_against_limit(alert: Any, fmt: Callable[[str, float], str]) -> str:
    """`13.85% > 5.00%` while the value breaches; `1.37% (fires > 5.00%)` once it does not (a
    resolved alert, or a firing one held by `keep_firing_for`), which must not read as a
    breach."""
    from lookout.alerts.rules import past_threshold

    value, limit = fmt(alert.metric, alert.value), fmt(alert.metric, alert.threshold)
    if past_threshold(alert.op, alert.value, alert.threshold):
        return f"{value} {alert.op} {limit}"
    return f"{value} (fires {alert.op} {limit})"


def _pooled(alert: Any, window_size: Callable[[str], timedelta | None]) -> str:
    """` over 7 windows` and their period (`11-23 10:00–17:00`) when the value was pooled. A
    firing or pending alert's value is of its last window; a resolved or cleared one may have
    moved on without a value (stale), so only where the pooled period starts is sure."""
    start = alert.pooled_from
    if start is None or start >= alert.last_window_start:
        return ""
    size = window_size(alert.monitor)
    if size is None or alert.state not in ("firing", "pending"):
        return f" pooled\nfrom {start:%m-%d %H:%M}"
    end = alert.last_window_start + size
    shown = f"{end:%H:%M}" if end - start < timedelta(days=1) else f"{end:%m-%d %H:%M}"
    return f" over {round((end - start) / size)} windows\n{start:%m-%d %H:%M}–{shown}"


def print_alerts(
    out: Console,
    alerts: Sequence[Any],
    title: str,
    owner: Callable[[str], str],
    runbook: Callable[[Any], str],
    *,
    with_state: bool = False,
    window_size: Callable[[str], timedelta | None] = lambda monitor: None,
) -> None:
    """The alerts list: one row per alert (what, value, since) fitted to the terminal, then
    each alert's owner with mentions and its whole runbook link (never cut). `with_state`: a
    column saying whether each alert fires, waits (`pending`: breached, not yet sent), was
    resolved or cleared before it ever fired (`inactive`). A value pooled over several windows
    says over which (`window_size`: of each monitor's windows)."""
    from lookout.notify.builder import format_value

    out.print(title, highlight=False, markup=False)
    if not alerts:
        return
    columns = [
        Column("id"),
        Column("sev"),
        Column("monitor · rule\nrelease · cohort", name=True, shorten=shorten_pair),
        Column("value"),
        Column("since (UTC)"),
        Column("owner", name=True),
    ]
    if with_state:
        columns.insert(2, Column("state"))
    rows = [
        [
            a.fingerprint[:8],
            a.severity,
            *([a.state] if with_state else []),
            f"{a.monitor} · {a.rule}\n{a.release} · {a.cohort}",
            f"{_value_against_limit(a, format_value)}\nn={a.n:,}{_pooled(a, window_size)}",
            f"{a.first_window_start:%Y-%m-%d}\n{a.first_window_start:%H:%M}",
            a.owner,
        ]
        for a in alerts
    ]
    print_table(out, columns, rows)
    for a in alerts:  # whole names, mentions and URLs, never cut by the table's width
        named = f"{a.monitor} · {a.rule} · {a.release} · {a.cohort}"
        out.print(
            f"{a.fingerprint[:8]} {escape(named)}: {escape(owner(a.owner))}, "
            f"runbook {escape(runbook(a))}",
            soft_wrap=True,
            highlight=False,
        )

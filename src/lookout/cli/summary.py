"""The rich table a CLI run ends with: one line per monitor, numbers never wrapped.

Pure presentation over `RunResult`s (no I/O), so `run`, `backfill` and the demo print the
same summary.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["run_summary_line", "run_summary_table", "shorten_middle"]

_COLUMNS = (
    ("windows", lambda rs: len(rs)),
    ("rows", lambda rs: sum(r.rows for r in rs)),
    ("quarantined", lambda rs: sum(r.quarantined for r in rs)),
    ("failed\nchecks", lambda rs: sum(r.failed_expectations for r in rs)),
    ("drifted", lambda rs: sum(len(r.drifted) for r in rs)),
    ("judged", lambda rs: sum(r.judged for r in rs)),
    ("alerts\nopened", lambda rs: sum(len(r.alerts_opened) for r in rs)),
    ("alerts\nresolved", lambda rs: sum(len(r.alerts_resolved) for r in rs)),
)


def shorten_middle(text: str, width: int) -> str:
    """`support_b…_eu_west`: long names keep their start and end (where they differ)."""
    if len(text) <= width or width < 5:
        return text
    head = (width - 1 + 1) // 2
    return f"{text[:head]}…{text[len(text) - (width - 1 - head) :]}"


def run_summary_line(results: Iterable[Any], delivery: Mapping[str, int] | None = None) -> str:
    """The totals in one line (printed under the table; scripts may grep it)."""
    results = list(results)
    line = (
        f"{len(results):,} window(s), {sum(r.rows for r in results):,} rows, "
        f"{sum(r.failed_expectations for r in results):,} failed check(s) "
        f"({sum(r.errored_expectations for r in results):,} errored), "
        f"{sum(len(r.alerts_opened) for r in results):,} alert(s) opened"
    )
    if delivery is not None:
        line += f", {delivery.get('sent', 0):,} message(s) delivered"
        if delivery.get("failed"):
            line += f", {delivery['failed']:,} failed (kept in the outbox)"
        if delivery.get("held"):
            # P2 openings go out in their day's digest, once the day is over
            line += f", {delivery['held']:,} held for the day's P2 digest"
    return line


def run_summary_table(results: Iterable[Any], title: str, width: int = 80) -> Table:
    """Per monitor: windows, rows, quarantined rows, failed checks, drifted columns, new
    judgments, alerts opened and resolved; a total line when there are several monitors.

    Numbers are never wrapped nor cut: the monitor's name gives way (shortened in the middle)
    when `width` is tight, and below that the table turns (one line per measure)."""
    by_monitor: dict[str, list[Any]] = {}
    for result in results:
        by_monitor.setdefault(result.monitor, []).append(result)
    rows = list(by_monitor.items())
    if len(rows) > 1:
        rows.append(("total", [r for _, items in rows for r in items]))
    cells = [[f"{count(items):,}" for _, count in _COLUMNS] for _, items in rows]
    names = [name for name, _ in rows] or ["(no window was due)"]
    cells = cells or [["0" for _ in _COLUMNS]]
    wide = _wide(names, cells, title, max(len(n) for n in names))
    spare = width - _width(wide)
    if spare >= 0:
        return wide
    room = max(len(n) for n in names) + spare
    if room >= 8:
        return _wide([shorten_middle(n, room) for n in names], cells, title, room)
    return _tall(names, cells, title, width)


def _table(title: str) -> Table:
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )


def _wide(names: list[str], cells: list[list[str]], title: str, room: int) -> Table:
    table = _table(title)
    table.add_column("monitor", no_wrap=True, min_width=min(room, 7))
    for header, _ in _COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for name, row in zip(names, cells, strict=True):
        table.add_row(escape(name), *row)
    return table


def _tall(names: list[str], cells: list[list[str]], title: str, width: int) -> Table:
    """One line per measure, one column per monitor (names shortened to fit)."""
    table = _table(title)
    table.add_column("", no_wrap=True)
    room = max(6, (width - 12) // max(1, len(names)) - 2)
    for name in names:
        table.add_column(escape(shorten_middle(name, room)), justify="right", no_wrap=True)
    for index, (header, _) in enumerate(_COLUMNS):
        table.add_row(header.replace("\n", " "), *(row[index] for row in cells))
    return table


def _width(table: Table) -> int:
    """How wide `table` renders when nothing constrains it."""
    probe = Console(width=10_000, file=io.StringIO(), color_system=None)
    probe.print(table)
    return max(len(line) for line in probe.file.getvalue().splitlines()[1:])  # type: ignore[attr-defined]

"""The rich table a CLI run ends with: one line per monitor, numbers never wrapped.

Pure presentation over `RunResult`s (no I/O), so `run`, `backfill` and the demo print the
same summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table

__all__ = ["run_summary_table"]

_COLUMNS = (
    ("windows", lambda rs: len(rs)),
    ("rows", lambda rs: sum(r.rows for r in rs)),
    ("quarantined", lambda rs: sum(r.quarantined for r in rs)),
    ("failed checks", lambda rs: sum(r.failed_expectations for r in rs)),
    ("drifted", lambda rs: sum(len(r.drifted) for r in rs)),
    ("judged", lambda rs: sum(r.judged for r in rs)),
    ("alerts opened", lambda rs: sum(len(r.alerts_opened) for r in rs)),
    ("resolved", lambda rs: sum(len(r.alerts_resolved) for r in rs)),
)


def run_summary_table(
    results: Iterable[Any], title: str, delivery: Mapping[str, int] | None = None
) -> Table:
    """Per monitor: windows, rows, quarantined rows, failed checks, drifted columns, new
    judgments, alerts opened and resolved; a total line when there are several monitors."""
    by_monitor: dict[str, list[Any]] = {}
    for result in results:
        by_monitor.setdefault(result.monitor, []).append(result)
    caption = None
    if delivery is not None:
        caption = f"{delivery.get('sent', 0):,} message(s) delivered"
        if delivery.get("failed"):
            caption += f", {delivery['failed']:,} failed (kept in the outbox)"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("monitor", overflow="ellipsis", min_width=8)
    for name, _ in _COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    rows = [(name, items) for name, items in by_monitor.items()]
    if len(rows) > 1:
        rows.append(("total", [r for _, items in rows for r in items]))
    for name, items in rows:
        table.add_row(escape(name), *(f"{count(items):,}" for _, count in _COLUMNS))
    if not rows:
        table.add_row("(no window was due)", *("0" for _ in _COLUMNS))
    return table

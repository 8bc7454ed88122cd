"""Rich tables for `lookout compare` and `lookout gate` (presentation only)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from lookout.compare.gate import GateOutcome, Unchecked
from lookout.compare.releases import Comparison
from lookout.notify.builder import format_value

__all__ = ["comparison_table", "gate_table"]

_STYLE = {
    "worse": "bold red",
    "better": "bold green",
    "changed": "bold yellow",
    "not enough data": "dim",
}


def comparison_table(comparison: Comparison, *, all_lines: bool = False) -> Table:
    """Significant lines (or every line) with both values, difference, interval and verdict."""
    table = Table(
        title=f"{comparison.monitor}: {comparison.candidate} vs {comparison.baseline}",
        caption=f"{comparison.correction}-corrected, alpha {comparison.alpha}",
    )
    for column in ("metric", "cohort", "baseline", "candidate", "difference (95%)", "p", "n"):
        table.add_column(column, overflow="fold")
    table.add_column("verdict")
    for line in comparison.lines:
        if not all_lines and line.verdict in ("no significant change", "not enough data"):
            continue
        d = line.diff
        cells = [Text(line.metric), Text(line.cohort)]
        if d is None:
            cells += [Text("-")] * 4
        else:
            cells += [
                Text(format_value(line.metric, d.baseline)),
                Text(format_value(line.metric, d.candidate)),
                Text(f"{d.diff:+.4g} ({d.ci_low:+.4g} to {d.ci_high:+.4g})"),
                Text(f"{line.adjusted_p:.2g}"),
            ]
        cells += [
            Text(f"{line.baseline_n:,} / {line.candidate_n:,}"),
            Text(line.verdict, style=_STYLE.get(line.verdict, "")),
        ]
        table.add_row(*cells)
    return table


def gate_table(outcomes: list[GateOutcome], unchecked: Sequence[Unchecked] = ()) -> Table:
    """The gate's lines that did not pass: failed, skipped, and what it could not check."""
    table = Table(title="gate")
    for column in ("status", "metric", "cohort", "why"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        if outcome.status == "passed":
            continue
        style = "bold red" if outcome.status == "failed" else "dim"
        table.add_row(
            Text(outcome.status, style=style),
            Text(outcome.line.metric),
            Text(outcome.line.cohort),
            Text(outcome.reason),
        )
    for gap in unchecked:
        table.add_row(
            Text("unchecked", style="bold red"),
            Text(gap.condition.metric),
            Text(gap.cohort or "any"),
            Text("no data in either release over the period"),
        )
    return table

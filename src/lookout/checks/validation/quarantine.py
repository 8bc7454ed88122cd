"""The records a window quarantines outside the GX suite: those that arrived without a usable
event time (`unplaceable_ts`), and those with a value that is not a number in a numeric field
(`not_a_number:<field>`, reported as failed critical outcomes too).
"""

from __future__ import annotations

from lookout.checks.ports import ValidationQueries
from lookout.checks.validation.runner import EXAMPLES
from lookout.config.models import Monitor
from lookout.model.aggregates import release_labels
from lookout.model.expectations import ExpectationOutcome
from lookout.model.record import (
    NOT_A_NUMBER,
    NUMERIC_FIELDS,
    is_missing,
    not_a_number_reason,
    parse_numbers,
)
from lookout.windows import Window

__all__ = [
    "UNPLACEABLE_TS",
    "not_a_number_outcomes",
    "not_a_number_records",
    "unplaceable_records",
]

# The quarantine reason of a record that arrived without a usable event time (see
# `Warehouse.unplaceable_rows`): no window would ever read it otherwise.
UNPLACEABLE_TS = "unplaceable_ts"


def unplaceable_records(
    warehouse: ValidationQueries, monitor: Monitor, window: Window
) -> list[tuple[str, str]]:
    """(record id, release) of the records that arrived in the window without a usable event
    time: quarantined here, the one place they can be counted. A missing id gets a stand-in
    numbered in arrival order (stable, so a re-run stores the same rows)."""
    fields = ["record_id", *monitor.source.release]
    frame = warehouse.unplaceable_rows(monitor, window, fields)
    if frame.empty:
        return []
    labels = release_labels(frame, monitor.source.release)
    out = []
    nulls = 0
    for value, release in zip(frame["record_id"], labels, strict=True):
        if is_missing(value):
            nulls += 1
            value = f"(null record_id, unplaceable #{nulls})"
        out.append((str(value), str(release)))
    return out


def not_a_number_records(
    warehouse: ValidationQueries, monitor: Monitor, window: Window
) -> list[tuple[str | None, str, tuple[str, ...]]]:
    """(record id or None, release, fields) of each record of the window with a value that is
    not a number in a numeric field, judged by `parse_numbers` (the rule the metrics use), in
    record id order."""
    frame = warehouse.not_a_number_suspects(monitor, window, ["record_id", *monitor.source.release])
    if frame.empty:
        return []
    numeric = [f for f in NUMERIC_FIELDS if f in frame]
    bad = {f: parse_numbers(frame[f])[1] for f in numeric}
    labels = release_labels(frame, monitor.source.release)
    out = []
    for i, (value, release) in enumerate(zip(frame["record_id"], labels, strict=True)):
        fields = tuple(f for f in numeric if bad[f][i])
        if fields:
            out.append((None if is_missing(value) else str(value), str(release), fields))
    return out


def not_a_number_outcomes(
    found: list[tuple[str | None, str, tuple[str, ...]]],
    rows_by_release: dict[str, int],
    path: str,
) -> list[ExpectationOutcome]:
    """One failed critical outcome per release and field that held such values, with their
    count, share and up to five example ids, like a failed critical expectation."""
    ids: dict[tuple[str, str], list[str]] = {}
    for record_id, release, fields in found:
        for name in fields:
            ids.setdefault((release, name), []).append(record_id or "(null record_id)")
    out = []
    for (release, name), hits in sorted(ids.items()):
        rows = rows_by_release.get(release) or len(hits)
        out.append(
            ExpectationOutcome(
                name=not_a_number_reason(name),
                kind=NOT_A_NUMBER,
                column=name,
                severity="critical",
                release=release,
                status="failed",
                element_count=rows,
                unexpected_count=len(hits),
                unexpected_percent=100.0 * len(hits) / rows,
                observed=None,
                examples=tuple(hits[:EXAMPLES]),
                path=path,
            )
        )
    return out

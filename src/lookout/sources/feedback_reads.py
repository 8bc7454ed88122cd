"""The votes given in a window (`source.feedback_table`), each under the release and cohorts
of the record it rates. Two reads, no join in SQL: the window's votes (bounded by their own
time), then the records they name, by id (`IN`, through the records' id index, in chunks),
matched in pandas. A join would compare two columns each engine may refuse to compare (MySQL's
"illegal mix of collations", PostgreSQL's uuid = text), build the whole records table into a
hash table on ClickHouse, and count a vote once per row of a record logged twice."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor
from lookout.dialects import Dialect
from lookout.model.aggregates import as_labels, label_text
from lookout.sources.column_types import column_kind
from lookout.sources.tables import WarehouseTables
from lookout.windows import Window

__all__ = ["FeedbackReads", "id_lookup", "typed_ids"]

_KEY = "_lookout_rated"
_WHEN = "_lookout_rated_at"
_CHUNK = 1000  # ids an IN list binds at a time


class FeedbackReads(WarehouseTables):
    """Votes logged apart from the records they rate."""

    def feedback_votes(self, monitor: Monitor, window: Window) -> tuple[pd.DataFrame, int]:
        """The votes given in `window` that rate a record this monitor watches, one row each:
        the record's release fields and cohorts, and the vote as `feedback`; and how many
        votes were given in the window in all (the others name another service's record, one
        left out by `where`, or one never logged)."""
        source = monitor.source
        votes_source = source.votes_source()
        votes = self.table(votes_source)
        given = votes.c[votes_source.columns["ts"]]
        rated_by = self.capabilities.as_text(votes.c[votes_source.columns["record_id"]])
        window_votes = self.fetch_frame(
            sa.select(
                rated_by.label(_KEY), votes.c[votes_source.columns["feedback"]].label("feedback")
            ).where(
                self.time_compared(votes_source, "ts", given, ">=", window.start),
                self.time_compared(votes_source, "ts", given, "<", window.end),
                *self.kept_rows(votes, votes_source),  # only the votes of `where`
            )
        )
        names = list(dict.fromkeys([*source.release, *source.cohorts]))
        refs = {str(v) for v in window_votes[_KEY].dropna()}
        typed, rated = self._rated_records(monitor, refs, names)
        keys = window_votes[_KEY].map(lambda ref: label_text(typed[ref]) if ref in typed else None)
        matched = window_votes.assign(**{_KEY: keys}).merge(rated, on=_KEY, how="inner")
        return matched[[*names, "feedback"]], len(window_votes)

    def _rated_records(
        self, monitor: Monitor, refs: set[str], names: Sequence[str]
    ) -> tuple[dict[str, Any], pd.DataFrame]:
        """Each id the votes name (as text) -> the value it is looked up by; and the watched
        records they name (by their id, or their trace's): `_KEY` (the id as a label) and
        their release fields and cohorts, one row per id. A vote on a trace counts once,
        under its newest record: the answer the user saw comes last (a trial's votes landed on
        a query rewriter's step and paged its cohort about the answer model's slowdown)."""
        source = monitor.source
        records = self.table(source)
        rates = source.feedback_table.rates if source.feedback_table else "record_id"
        record_id, typed = id_lookup(refs, self.column(records, source, rates), self.capabilities)
        selected = [self.column(records, source, name).label(name) for name in names]
        selected.append(self.column(records, source, "ts").label(_WHEN))
        # the id read back as text: a NUMERIC(20, 0) id would come back as a float
        spelled = self.capabilities.as_text(record_id).label(_KEY)
        parts = [
            self.fetch_frame(
                sa.select(spelled, *selected).where(
                    record_id.in_(chunk), *self.kept_rows(records, source)
                )
            )
            for chunk in _chunks(sorted(set(typed.values()), key=str))
        ]
        if not parts:
            return typed, pd.DataFrame(columns=[_KEY, *names])
        found = pd.concat(parts, ignore_index=True)
        found[_KEY] = as_labels(found[_KEY])
        # the raw column sorts alike as a timestamp or an epoch number; a NULL time last
        newest_first = found.sort_values(_WHEN, ascending=False, na_position="last", kind="stable")
        return typed, newest_first.drop_duplicates(_KEY).drop(columns=_WHEN)


def id_lookup(
    refs: Iterable[str], column: sa.ColumnElement[Any], caps: Dialect
) -> tuple[sa.ColumnElement[Any], dict[str, Any]]:
    """The records' id column as an IN compares it, and each id the votes name (as text) ->
    the value bound for it: as the column stores ids (`typed_ids`), so its index serves the
    IN; both as text where the column's type takes no such value or the engine looks ids up
    as text (`Dialect.ids_as_text`)."""
    typed = None
    if not (caps.ids_as_text and column_kind(column.type) == "text"):
        typed = typed_ids(refs, column.type, caps.integer_limit(column.type))
    if typed is None:
        return caps.as_text(column), {str(t): str(t) for t in refs}
    return column, typed


_INTEGER = re.compile(r"\s*([+-]?\d+)(?:\.0*)?\s*", re.ASCII)


def typed_ids(refs: Iterable[str], type_: Any, limit: int | None = None) -> dict[str, Any] | None:
    """Each id (as text) -> the value the records' id column holds for it, so the column's
    index serves the IN: an integer for an integer column (`' 1000'`, `'01000'` and `'1000.0'`
    are 1000; a decimal for a `NUMERIC(p, 0)` one), a UUID for a UUID one (in any case, with
    or without hyphens). An id that cannot be one (`abc`, or beyond `limit`, for an integer
    column) is left out: it names no record. None: a column of another type, compared as
    text."""
    texts = {str(v) for v in refs}
    if isinstance(type_, sa.Uuid):
        return {t: u for t in texts if (u := _uuid(t.strip())) is not None}
    kind = column_kind(type_)
    whole = isinstance(type_, sa.Numeric) and getattr(type_, "scale", None) == 0
    if kind == "integer" or (whole and not isinstance(type_, sa.Float)):
        numbers = {t: int(m.group(1)) for t in texts if (m := _INTEGER.fullmatch(t))}
        kept = {t: n for t, n in numbers.items() if limit is None or abs(n) <= limit}
        # a decimal as a decimal: psycopg binds an int past 64 bits as a bigint, and fails
        return {t: Decimal(n) for t, n in kept.items()} if kind != "integer" else kept
    if kind in ("text", "unknown"):
        return {t: t for t in texts}
    return None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]

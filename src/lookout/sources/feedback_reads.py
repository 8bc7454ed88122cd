"""The votes given in a window (`source.feedback_table`), each under the release and cohorts
of the record it rates. Two reads, no join in SQL: the window's votes (bounded by their own
time), then the records they name, by id (`IN`, through the records' id index, in chunks),
matched in pandas. A join would compare two columns each engine may refuse to compare (MySQL's
"illegal mix of collations", PostgreSQL's uuid = text), build the whole records table into a
hash table on ClickHouse, and count a vote once per row of a record logged twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor
from lookout.model.aggregates import as_labels
from lookout.sources.column_types import column_kind
from lookout.sources.tables import WarehouseTables
from lookout.windows import Window

__all__ = ["FeedbackReads", "typed_ids"]

_KEY = "_lookout_rated"
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
                given >= self._bind_time(votes_source, "ts", window.start),
                given < self._bind_time(votes_source, "ts", window.end),
                *self.kept_rows(votes, votes_source),  # only the votes of `where`
            )
        )
        names = list(dict.fromkeys([*source.release, *source.cohorts]))
        rated = self._rated_records(monitor, window_votes[_KEY].dropna(), names)
        matched = window_votes.assign(**{_KEY: window_votes[_KEY].map(_canonical)}).merge(
            rated, on=_KEY, how="inner"
        )
        return matched[[*names, "feedback"]], len(window_votes)

    def _rated_records(
        self, monitor: Monitor, refs: pd.Series, names: Sequence[str]
    ) -> pd.DataFrame:
        """The watched records `refs` name (by their id, or their trace's, as text): `_KEY`
        (canonical id text) and their release fields and cohorts; one row per id (a vote on
        a trace counts once, under one of its records)."""
        source = monitor.source
        records = self.table(source)
        rates = source.feedback_table.rates if source.feedback_table else "record_id"
        record_id = self.column(records, source, rates)
        ids, compare = typed_ids(refs, record_id.type)
        if compare == "text":
            record_id = self.capabilities.as_text(record_id)
        selected = [self.column(records, source, name).label(name) for name in names]
        parts = [
            self.fetch_frame(
                sa.select(record_id.label(_KEY), *selected).where(
                    record_id.in_(chunk), *self.kept_rows(records, source)
                )
            )
            for chunk in _chunks(ids)
        ]
        if not parts:
            return pd.DataFrame(columns=[_KEY, *names])
        found = pd.concat(parts, ignore_index=True)
        found[_KEY] = as_labels(found[_KEY]).map(_canonical)
        return found.drop_duplicates(_KEY)


def typed_ids(refs: pd.Series, type_: Any) -> tuple[list[Any], str]:
    """The distinct ids of `refs` (text) as the records' id column holds them, so its index
    serves the `IN`; and "text" where they can only be compared as text (an id of a type the
    votes cannot be read as: both sides as text then)."""
    texts = sorted({str(v) for v in refs})
    kind = column_kind(type_)
    if isinstance(type_, sa.Uuid):
        return sorted({u for v in texts if (u := _uuid(v)) is not None}), "stored"
    if kind == "integer":
        return sorted({int(v) for v in texts if v.lstrip("-").isdigit()}), "stored"
    if kind in ("text", "unknown"):
        return texts, "stored"
    return texts, "text"


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _canonical(text: Any) -> Any:
    """An id as text, the same however either table spells it (a UUID in lower case)."""
    if not isinstance(text, str):
        return text
    value = _uuid(text) if len(text) in (32, 36, 38) else None
    return str(value) if value is not None else text


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]

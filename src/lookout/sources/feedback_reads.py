"""The votes given in a window (`source.feedback_table`), each under the release and cohorts
of the record it rates: one join in the warehouse, the votes (a few per hundred records) read
into pandas, where the ops stage counts them with the window's cohort cap."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.sources.column_types import column_kind
from lookout.sources.tables import WarehouseTables
from lookout.windows import Window

__all__ = ["FeedbackReads"]


class FeedbackReads(WarehouseTables):
    """Votes logged apart from the records they rate."""

    def feedback_votes(self, monitor: Monitor, window: Window) -> tuple[pd.DataFrame, int]:
        """The votes given in `window` that rate a record this monitor watches, one row each:
        the record's release fields and cohorts, and the vote as `feedback`; and how many
        votes were given in the window in all (the others name another service's record, one
        left out by `where`, or one never logged). An inner join, whose meaning every engine
        shares (ClickHouse's outer join fills a missing side with defaults, not NULLs)."""
        source = monitor.source
        votes_source = source.votes_source()
        records = self.table(source)
        votes = self.table(votes_source).alias("lookout_votes")  # the same table may hold both
        rated = self._same_key(self.column(records, source, "record_id"), votes_source, votes)
        given = votes.c[votes_source.columns["ts"]]
        in_window = (
            given >= self._bind_time(votes_source, "ts", window.start),
            given < self._bind_time(votes_source, "ts", window.end),
        )
        selected = [
            self.column(records, source, name).label(name)
            for name in dict.fromkeys([*source.release, *source.cohorts])
        ]
        query = (
            sa.select(*selected, votes.c[votes_source.columns["feedback"]].label("feedback"))
            .select_from(
                votes.join(records, sa.and_(rated[0] == rated[1], *self.kept_rows(records, source)))
            )
            .where(*in_window)
        )
        frame = self.fetch_frame(query)
        total = self.fetch_frame(sa.select(sa.func.count().label("n")).where(*in_window))
        return frame, int(total["n"].iloc[0])

    def _same_key(
        self, record_id: sa.ColumnElement[Any], votes_source: SourceConfig, votes: Any
    ) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """The records' id and the votes' reference to it, comparable: as stored when both
        columns hold the same kind of value (an index on the records' id still serves the
        join), else both as text (an integer id logged as text by the app, a UUID column
        against a text one, which PostgreSQL will not compare)."""
        rating = votes.c[votes_source.columns["record_id"]]
        mine, theirs = record_id.type, rating.type
        same = column_kind(mine) == column_kind(theirs) and isinstance(mine, sa.Uuid) == isinstance(
            theirs, sa.Uuid
        )
        if same:
            return record_id, rating
        as_text = self.capabilities.as_text
        return as_text(record_id), as_text(rating)

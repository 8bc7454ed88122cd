"""`lookout init`: user feedback logged in a table of its own (`source.feedback_table`).

Most applications log a vote apart from the request it rates (a `feedback` or `votes` table,
Langfuse's scores), so the table `init` profiles has no feedback column. This looks for one
in the same schema: a table named like votes, with a column named as a column of the records
that ends in `id` (`request_id` in both) or as the records' singular plus `_id` (`request_id`
naming `requests.id`), a column named like a vote (`rating`, `vote`, `thumbs`, `score`...) and
a time. It is proposed only when most of its newest votes name records of the table, asked of
the warehouse (the names alone would pair any two tables with an `id`). Two reads a candidate,
each bounded: a probe of `PROBE_VOTES` rows, then one `IN` over their record ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lookout.dialects import Dialect, dialect_for
from lookout.model.record import from_epoch
from lookout.services.init_columns import ColumnInfo, ColumnProfile, column_kind, profile_column
from lookout.services.init_lookup import catalog
from lookout.services.init_mapping import choose_time_column
from lookout.services.init_sample import frame_of, selected_columns
from lookout.sources.feedback_reads import typed_ids

__all__ = ["PROBE_VOTES", "VotesTable", "find_votes_table", "usable_votes", "with_votes_column"]

log = logging.getLogger("lookout.init")

PROBE_VOTES = 200  # newest votes read from a candidate table
MIN_MATCHED = 0.5  # share of their distinct record ids that must be records of the table
_VOTES_TABLE = re.compile(r"feedback|vote|rating|score|reaction|thumb", re.IGNORECASE)
_RECORD_WORDS = re.compile(
    r"req|message|msg|record|trace|generation|response|completion|observation|span|event|"
    r"interaction|call|turn|answer|log",
    re.IGNORECASE,
)
_VOTE_COLUMN = re.compile(
    r"^(rating|user_rating|vote|value|score|feedback|thumbs?|thumbs_up_down|reaction|"
    r"sentiment|helpful|is_helpful|liked|is_positive|label)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class VotesTable:
    """A table of votes found beside the records, and what its newest votes say."""

    table: str
    schema: str | None
    record_id: str  # its column naming the rated record
    rated: str  # the records' column it names (the proposal's record_id must be this one)
    value: str  # the vote
    value_info: ColumnInfo
    ts: str  # when the vote was given
    ts_unit: str | None  # its epoch unit, for an integer time
    values: pd.Series  # the newest votes' values
    matched: float  # share of their distinct record ids found among the records
    per_hour: float | None  # votes an hour over the newest ones (None: one instant)

    def profile(self) -> ColumnProfile:
        """The newest votes' figures, as a feedback column's (which values are negative)."""
        return profile_column(self.value_info, self.values)

    def config(self) -> dict[str, str]:
        """The `source.feedback_table` block (its schema is the records')."""
        block = {"table": self.table, "record_id": self.record_id, "value": self.value}
        block["ts"] = self.ts
        return {**block, "ts_unit": self.ts_unit} if self.ts_unit else block


def find_votes_table(engine: Engine, records: sa.Table, schema: str | None) -> VotesTable | None:
    """The first table or view of `schema` (by name) that holds votes on `records`' rows, or
    None. Each candidate is read on a connection of its own, and whatever goes wrong with one (no
    right to read it, a timeout, a time that is no time) leaves it out: finding votes is a
    bonus, never a reason for `init` to fail, nor for one table to hide the next (a failed
    statement aborts its PostgreSQL transaction)."""
    caps = dialect_for(engine)
    inspector = sa.inspect(engine)
    names = catalog(lambda: inspector.get_table_names(schema=schema), [])
    names += catalog(lambda: inspector.get_view_names(schema=schema), [])  # votes of a view
    for name in sorted({n for n in names if n != records.name and _VOTES_TABLE.search(n)}):
        try:
            with engine.connect() as conn:
                found = _candidate(conn, caps, name, schema, records)
        except Exception as exc:  # whatever it is, it only leaves this candidate out
            log.debug("init: table %s left out as votes: %s", name, type(exc).__name__)
            continue
        if found is not None:
            return found
    return None


def _candidate(
    conn: Connection, caps: Dialect, name: str, schema: str | None, records: sa.Table
) -> VotesTable | None:
    reflected = [
        {**c, "type": caps.column_type(c["type"])}
        for c in sa.inspect(conn).get_columns(name, schema=schema)
    ]
    infos = [ColumnInfo(c["name"], str(c["type"]), column_kind(c["type"])) for c in reflected]
    pair = _rated_pair([i.name for i in infos], records)
    value = next(
        (i for i in infos if _VOTE_COLUMN.match(i.name) and i.name != (pair or ("",))[0]), None
    )
    if pair is None or value is None:
        return None
    handle = sa.Table(
        name, sa.MetaData(), *(sa.Column(c["name"], c["type"]) for c in reflected), schema=schema
    )
    probe = frame_of(conn.execute(sa.select(*selected_columns(handle, infos)).limit(PROBE_VOTES)))
    ts, unit = choose_time_column([profile_column(i, probe[i.name]) for i in infos])
    if probe.empty or ts is None:
        return None
    given = handle.c[ts]
    newest = frame_of(  # ids as text: a BIGINT id with a NULL would come back as a float
        conn.execute(
            sa.select(
                caps.as_text(handle.c[pair[0]]).label("ref"),
                handle.c[value.name].label("vote"),
                given.label("at"),
            )
            .where(given.is_not(None))
            .order_by(given.desc())
            .limit(PROBE_VOTES)
        )
    )
    matched = _matched(conn, caps, records.c[pair[1]], newest["ref"])
    if matched < MIN_MATCHED:
        return None
    at = newest["at"]
    times = from_epoch(at, unit) if unit else pd.to_datetime(at, utc=True, errors="coerce")
    times = times.dropna()
    hours = (times.max() - times.min()).total_seconds() / 3600 if len(times) > 1 else 0.0
    per_hour = len(times) / hours if hours > 0 else None
    return VotesTable(
        name,
        schema,
        pair[0],
        pair[1],
        value.name,
        value,
        ts,
        unit,
        newest["vote"],
        matched,
        per_hour,
    )


def _rated_pair(columns: Sequence[str], records: sa.Table) -> tuple[str, str] | None:
    """(votes' column, records' column it names): the same name, ending in `id` and naming a
    request, message, trace... (`request_id` in both; a `user_id` or `tenant_id` both hold
    names who voted, not what), else the records' singular plus `_id` naming its `id`."""
    own = set(records.c.keys())
    for column in columns:
        if column in own and column.lower().endswith("id") and _RECORD_WORDS.search(column):
            return column, column
    singular = records.name.lower().removesuffix("s")
    for column in columns:
        if column.lower() == f"{singular}_id" and "id" in own:
            return column, "id"
    return None


def _matched(
    conn: Connection, caps: Dialect, rated: sa.ColumnElement[Any], refs: pd.Series
) -> float:
    """The share of the distinct record ids in `refs` (text) that are values of `rated`,
    compared as the records store them where the votes can be read so (the records' index
    serves the IN), else as text."""
    wanted = refs.dropna()
    if wanted.empty:
        return 0.0
    ids, compare = typed_ids(wanted, rated.type)
    if not ids:
        return 0.0
    column = caps.as_text(rated) if compare == "text" else rated
    found = conn.execute(
        sa.select(sa.func.count(sa.distinct(column))).where(column.in_(ids))
    ).scalar_one()
    return float(found) / wanted.nunique()


def usable_votes(
    votes: VotesTable | None, mapping: dict[str, str], notes: list[str]
) -> VotesTable | None:
    """The votes' table when the records have no feedback column of their own and the votes
    name the records' `record_id` (said in the notes either way)."""
    if votes is None or "feedback" in mapping:
        return None
    if mapping.get("record_id") != votes.rated:
        notes.append(
            f"feedback: table {votes.table} holds votes on column {votes.rated}, which is not "
            "the record_id: map it as record_id to count them (source.feedback_table)"
        )
        return None
    notes.append(
        f"feedback: the votes of table {votes.table} ({votes.value}), counted in the hour they "
        f"are given: {votes.matched:.0%} of the newest {len(votes.values)} name records here"
    )
    return votes


def with_votes_column(
    frame: pd.DataFrame, votes: VotesTable, rows_per_hour: float | None
) -> pd.DataFrame:
    """`frame` (the records' sample) with a `feedback` column holding the newest votes on as
    many of its rows as votes come an hour per record: what the feedback rule is sized on, as
    for a table that logs the vote on the record."""
    share = 1.0
    if votes.per_hour is not None and rows_per_hour:
        share = min(1.0, votes.per_hour / rows_per_hour)
    voted = min(len(frame), round(share * len(frame)))
    values = votes.values.dropna().to_numpy(dtype=object)
    column = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if voted and len(values):
        column.iloc[:voted] = [values[i % len(values)] for i in range(voted)]
    return frame.assign(feedback=column)

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
from dataclasses import dataclass, replace
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
from lookout.sources.feedback_reads import id_lookup

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
_KIND_COLUMN = re.compile(r"^(name|score_name|kind|type|feedback_type|key|feedback_key)$", re.I)
_USER_KIND = re.compile(r"feedback|user|thumb|vote|rating|like|helpful|reaction", re.IGNORECASE)
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
    kind: tuple[str, str] | None = None  # (column, value) of the votes in a table of scores
    rates: str = "record_id"  # the records' field it names: record_id, or trace_id

    def profile(self) -> ColumnProfile:
        """The newest votes' figures, as a feedback column's (which values are negative)."""
        return profile_column(self.value_info, self.values)

    def config(self) -> dict[str, object]:
        """The `source.feedback_table` block (its schema is the records')."""
        block: dict[str, object] = {"table": self.table, "record_id": self.record_id}
        block |= {"value": self.value, "ts": self.ts}
        if self.ts_unit:
            block["ts_unit"] = self.ts_unit
        if self.kind is not None:
            block["where"] = {self.kind[0]: self.kind[1]}
        return {**block, "rates": self.rates} if self.rates != "record_id" else block


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
    kind = _votes_kind(probe, infos)
    if kind is not None and kind[1] is None:
        return None  # scores of several kinds, none of them named like the users' votes
    given = handle.c[ts]
    only = [handle.c[kind[0]] == kind[1]] if kind is not None else []
    newest = frame_of(  # ids as text: a BIGINT id with a NULL would come back as a float
        conn.execute(
            sa.select(
                caps.as_text(handle.c[pair[0]]).label("ref"),
                handle.c[value.name].label("vote"),
                given.label("at"),
            )
            .where(given.is_not(None), *only)
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
        None if kind is None else (kind[0], str(kind[1])),
    )


def _votes_kind(probe: pd.DataFrame, infos: Sequence[ColumnInfo]) -> tuple[str, str | None] | None:
    """(column, value) of the users' votes in a table of scores of several kinds (Langfuse's
    `scores` by `name`, LangSmith's feedback by `key`): the one kind named like a vote; value
    None when no kind or several are; None for a table of one kind."""
    for info in infos:
        if info.kind != "text" or not _KIND_COLUMN.match(info.name):
            continue
        kinds = sorted({str(v) for v in probe[info.name].dropna()})
        if len(kinds) < 2:
            return None
        voted = [k for k in kinds if _USER_KIND.search(k)]
        return info.name, voted[0] if len(voted) == 1 else None
    return None


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
    wanted = {str(v) for v in refs.dropna()}
    if not wanted:
        return 0.0
    column, typed = id_lookup(wanted, rated, caps)
    ids = sorted(set(typed.values()), key=str)
    if not ids:
        return 0.0
    found = conn.execute(
        sa.select(sa.func.count(sa.distinct(column))).where(column.in_(ids))
    ).scalar_one()
    return float(found) / len(wanted)


def usable_votes(
    votes: VotesTable | None, mapping: dict[str, str], notes: list[str]
) -> VotesTable | None:
    """The votes' table when the records have no feedback column of their own and the votes
    name the records' `record_id` or `trace_id` (said in the notes either way)."""
    if votes is None or "feedback" in mapping:
        return None
    rates = next((f for f in ("record_id", "trace_id") if mapping.get(f) == votes.rated), None)
    if rates is None:  # Langfuse's scores name the trace: `rates: trace_id`
        notes.append(
            f"feedback: table {votes.table} holds votes on column {votes.rated}, which is "
            "neither the record_id nor the trace_id: map it as one to count them "
            "(source.feedback_table)"
        )
        return None
    notes.append(
        f"feedback: the votes of table {votes.table} ({votes.value}), counted in the hour they "
        f"are given: {votes.matched:.0%} of the newest {len(votes.values)} name records here"
    )
    return replace(votes, rates=rates)


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

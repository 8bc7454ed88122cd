"""monitors.yml: user feedback logged in a table of its own (`source.feedback_table`), each
vote naming the record it rates, as Langfuse's scores, LangSmith's feedback and most apps'
`feedback` tables do. Votes come minutes to days after the answer they rate, so a window
counts the votes given in it (by their own time), under the release and cohorts of the
records they rate: no vote is missed because its request's window was read before it came."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from lookout.config.models.base import Identifier, Model, values_as_lists
from lookout.config.validation import ColumnValue
from lookout.model.record import TimeUnit

__all__ = ["FeedbackTable", "mapping_problems"]


class FeedbackTable(Model):
    """Where the votes live, and which of their columns says what."""

    table: Identifier = Field(description="the table of votes (the records' own table works too)")
    schema_: Identifier | None = Field(
        default=None, alias="schema", description="its schema; null: the records' one"
    )
    record_id: Identifier = Field(
        description="its column naming the rated record: the value of the source's `record_id` "
        "(or of its `trace_id`, with `rates: trace_id`)"
    )
    rates: Literal["record_id", "trace_id"] = Field(
        default="record_id",
        description="what a vote names: a record (`record_id`), or a trace (`trace_id`: "
        "Langfuse's scores name the trace; a vote counts once, under the release and cohorts "
        "of one of the trace's records)",
    )
    value: Identifier = Field(
        description="its column holding the vote, matched with `source.negative_feedback`"
    )
    ts: Identifier = Field(
        description="its column saying when the vote was given: a window counts the votes "
        "given in it. A timestamp (in `source.timezone` when it has no zone), or a Unix epoch "
        "number with `ts_unit`"
    )
    ts_unit: TimeUnit | None = Field(
        default=None, description="epoch_s, epoch_ms or epoch_us when `ts` is an epoch number"
    )

    where: dict[Identifier, list[ColumnValue]] = Field(
        default={},
        description="only the votes with these values: a table of scores of several kinds "
        "(Langfuse's `scores` with `name: user-feedback` beside evaluator scores), "
        "`{name: user-feedback}`",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _values_as_lists = field_validator("where", mode="before")(values_as_lists)

    def source_fields(self) -> dict[str, object]:
        """The votes' table as the fields of a source of its own (`record_id`, `ts`,
        `feedback`): what the warehouse's table, time-bound and type helpers take."""
        fields: dict[str, object] = {
            "table": self.table,
            "columns": {"record_id": self.record_id, "ts": self.ts, "feedback": self.value},
            "units": {"ts": self.ts_unit} if self.ts_unit else {},
            "where": self.where,
        }
        return {**fields, "schema_": self.schema_} if self.schema_ else fields


def mapping_problems(
    table: FeedbackTable | None, columns: Mapping[str, str]
) -> list[tuple[tuple[str, ...], str]]:
    """(key path under `source`, why) for a votes' table that does not fit the records'
    mapping: feedback read from both, or votes on traces whose `trace_id` is not mapped."""
    if table is None:
        return []
    problems: list[tuple[tuple[str, ...], str]] = []
    if "feedback" in columns:
        why = "feedback is both mapped in columns and read from its own table: keep one"
        problems.append((("feedback_table",), why))
    if table.rates not in columns:
        why = f"the votes name a {table.rates}, which is not mapped in columns"
        problems.append((("feedback_table", "rates"), why))
    return problems

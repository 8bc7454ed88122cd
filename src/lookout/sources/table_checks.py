"""Whether a monitor's config fits its table as the warehouse holds it: every column it names
exists, with a type its role can use; durations, JSON values, a time zone and the votes' table
the engine can read as the config says. Every problem at once, each naming its key; raised as
`TableMismatchError`, which no retry fixes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.errors import LookoutError, SourceError, TableMismatchError
from lookout.model.json_path import split_json_path
from lookout.model.record import TIME_FIELDS
from lookout.sources.column_types import (
    column_kind,
    feedback_table_problems,
    role_problems,
    type_name,
)
from lookout.sources.tables import WarehouseTables

__all__ = ["TableChecks"]


def _named_columns(monitor: Monitor) -> list[tuple[str, str]]:
    """(key path, column) of every column the monitor's config names: mapped fields, the two
    times of computed durations, row filters, cohorts, release fields that are columns under
    their own name, drift features. Each must be a column of the table."""
    source = monitor.source
    named = [(f"source.columns.{f}", c) for f, c in source.columns.items()]
    for field, elapsed in source.durations.items():
        named += [(f"source.durations.{field}.start", elapsed.start)]
        named += [(f"source.durations.{field}.end", elapsed.end)]
    for key in ("where", "where_not"):
        named += [(f"source.{key}.{n}", source.columns.get(n, n)) for n in getattr(source, key)]
    named += [
        (f"source.cohorts[{i}]", source.columns.get(c, c)) for i, c in enumerate(source.cohorts)
    ]
    named += [
        (f"source.release[{i}]", n) for i, n in enumerate(source.release) if n not in source.columns
    ]
    features = monitor.drift.features
    for kind in ("numeric", "categorical"):
        named += [(f"drift.features.{kind}[{i}]", n) for i, n in enumerate(getattr(features, kind))]
    return named


def _zone_problems(source: SourceConfig, columns: dict[str, Any], where: str) -> list[str]:
    """`source.timezone` where no time column is a timestamp without a zone: a column with one
    and an epoch number are instants, which a zone cannot move (the config would say it does)."""
    if source.timezone is None:
        return []
    pairs = [(f, source.columns[f]) for f in TIME_FIELDS if f in source.columns]
    mapped = [c for _, c in pairs]
    naive = [
        c
        for f, c in pairs
        if c in columns
        and source.epoch_unit(f) is None
        and not getattr(columns[c], "timezone", False)
    ]
    if naive or any(c not in columns for c in mapped):  # a missing column is said elsewhere
        return []
    return [
        f"monitors.yml: {where}.source.timezone: {source.timezone!r} applies to timestamps "
        f"without a time zone, and {', '.join(map(repr, mapped))} have one or log epoch "
        "numbers (instants, which a zone does not move): remove the line"
    ]


class TableChecks(WarehouseTables):
    """`check_monitor`: the config against the reflected table."""

    def check_monitor(self, monitor: Monitor, index: int | None = None) -> None:
        """Every mapped, release, cohort and drift feature column exists and has a type its
        role can use, and configured values fit their columns; every problem at once, each
        naming its key."""
        columns = self.table_columns(monitor.source)
        where = f"monitors[{index}]" if index is not None else f"monitor {monitor.name}"
        known = ", ".join(sorted(columns))
        problems = [
            f"monitors.yml: {where}.{path}: column {column!r} is not in table "
            f"{monitor.source.table!r} (columns: {known})"
            for path, column in _named_columns(monitor)
            if column not in columns
        ]
        problems += self._duration_problems(monitor, columns, where)
        problems += self._json_problems(monitor.source, where)
        problems += _zone_problems(monitor.source, columns, where)
        problems += self._feedback_problems(monitor.source, where)
        problems += self._score_problems(monitor.source, columns, where)
        problems += role_problems(
            monitor, columns, where, text_times=self.capabilities.text_times
        )  # types vs roles
        if problems:
            raise TableMismatchError("\n".join(problems))

    def _score_problems(
        self, source: SourceConfig, columns: dict[str, Any], where: str
    ) -> list[str]:
        """`negative_feedback_below` compares numbers: the feedback (or the votes' value)
        column must hold them."""
        if source.negative_feedback_below is None:
            return []
        at = f"monitors.yml: {where}.source.negative_feedback_below"
        if source.feedback_table is not None:
            holder, column = source.votes_source(), source.feedback_table.value
            try:
                columns = self.table_columns(holder)
            except SourceError:
                return []  # said at feedback_table.table
        elif "feedback" in source.columns:
            column = source.columns["feedback"]
        else:
            return [f"{at}: no feedback column is mapped (columns.feedback or feedback_table)"]
        if column in columns and column_kind(columns[column]) not in ("integer", "number"):
            return [
                f"{at}: column {column!r} is {type_name(columns[column])}; a score compared "
                "with a number must be numeric (list the negative values in negative_feedback)"
            ]
        return []

    def _feedback_problems(self, source: SourceConfig, where: str) -> list[str]:
        """The votes' table (`source.feedback_table`) exists and has the columns it names,
        of types their roles can use."""
        table = source.feedback_table
        if table is None:
            return []
        at = f"monitors.yml: {where}.source.feedback_table"
        try:
            columns = self.table_columns(source.votes_source())
        except SourceError as exc:
            return [f"{at}.table: {exc}"]
        known = ", ".join(sorted(columns))
        problems = [
            f"{at}.{key}: column {column!r} is not in table {table.table!r} (columns: {known})"
            for key, column in (
                ("record_id", table.record_id),
                ("value", table.value),
                ("ts", table.ts),
                *((f"where.{name}", name) for name in table.where),
            )
            if column not in columns
        ]
        return problems + feedback_table_problems(
            source, columns, where, text_times=self.capabilities.text_times
        )

    def _duration_problems(
        self, monitor: Monitor, columns: dict[str, Any], where: str
    ) -> list[str]:
        """`source.durations` the engine cannot compute as the config says (a missing column
        is said with the others): an engine without a known way, or one time with a time zone
        and the other without (their difference would shift by the session's time zone)."""
        durations = monitor.source.durations
        if not durations:
            return []
        out = []
        try:
            self.capabilities.milliseconds_between(sa.column("a"), sa.column("b"))
            computable = True
        except NotImplementedError:
            computable = False
        for field, elapsed in durations.items():
            at = f"monitors.yml: {where}.source.durations.{field}"
            if not computable:
                out.append(
                    f"{at}: {self.capabilities.name} has no dialect module to compute a "
                    "duration in SQL; map a view that logs the milliseconds"
                )
            pair = (elapsed.start, elapsed.end)
            if any(c not in columns for c in pair):
                continue
            if len({bool(getattr(columns[c], "timezone", False)) for c in pair}) == 2:
                out.append(
                    f"{at}: {elapsed.start!r} and {elapsed.end!r} differ in time zone (one "
                    "has one, the other not): their difference would depend on the session's "
                    "time zone; use two columns of the same type"
                )
        return out

    def _path_problem(self, at: str, path: str) -> list[str]:
        """A path this engine's JSON functions cannot take (Snowflake: an index from the
        end; MariaDB before 10.9: `[last]`), said before a window's query fails on it."""
        keys = split_json_path(path)[1]
        try:
            self.capabilities.json_text(sa.column("a"), keys)
        except NotImplementedError as exc:
            return [f"{at}: {exc}"]
        if not any(isinstance(k, int) and k < 0 for k in keys):
            return []
        if self._reads_index_from_end():
            return []
        return [
            f"{at}: this {self.capabilities.name} server cannot read an index from the end "
            "(MySQL 8.0.2+ and MariaDB 10.9+ can): count from 0, or map a view that has the "
            "value as a column"
        ]

    def _reads_index_from_end(self) -> bool:
        """Whether the server reads an index from the end, tried once per warehouse on a
        literal `{"a": [1, 2]}` (one row, no table read): every run checks its monitors, and
        the server does not change under a running process."""
        known: bool | None = getattr(self, "_index_from_end", None)
        if known is not None:
            return known
        probe = self.capabilities.json_text(sa.literal('{"a": [1, 2]}', sa.String), ("a", -1))
        try:
            read = self.fetch_frame(sa.select(probe.label("last")))["last"].iloc[0]
        except (LookoutError, sa.exc.SQLAlchemyError):
            # the path refused, or the server unreachable: a plain query tells them apart (a
            # lost connection raises here: the run's transient failure, not a config to fix,
            # and nothing is remembered)
            self.fetch_frame(sa.select(sa.literal(1).label("one")))
            read = None
        self._index_from_end = str(read) == "2"
        return self._index_from_end

    def _json_problems(self, source: SourceConfig, where: str) -> list[str]:
        """`source.json_fields` this table and engine cannot read: a name that is a column
        already (which would it mean?), a JSON column that is missing or of another type, an
        engine without a known way to extract a value in SQL."""
        if not source.json_fields:
            return []
        reflected = self.reflected_columns(source)
        try:
            self.capabilities.json_text(sa.column("a"), ("k",))
            readable = True
        except NotImplementedError:
            readable = False
        out = []
        for name, path in source.json_fields.items():
            at = f"monitors.yml: {where}.source.json_fields.{name}"
            document = split_json_path(path)[0]  # `retrieved_docs[0].doc_id` too
            if not readable:
                out.append(
                    f"{at}: {self.capabilities.name} has no dialect module to read a value "
                    "inside JSON in SQL; map a view that has it as a column"
                )
            else:
                out += self._path_problem(at, path)
            if name in reflected:
                out.append(
                    f"{at}: {name!r} is a column of table {source.table!r}: give the JSON "
                    "value another name, or map the column itself"
                )
            if document not in reflected:
                known = ", ".join(sorted(reflected))
                out.append(
                    f"{at}: column {document!r} is not in table {source.table!r} (columns: {known})"
                )
            elif column_kind(reflected[document]) not in (
                "json",
                "text",
                "unknown",
            ) and not (
                self.capabilities.reads_map(reflected[document])
                and isinstance((split_json_path(path)[1] or (0,))[0], str)  # by a key
            ):
                stored = type_name(reflected[document])
                why = "a value is read from a JSON or text column (or a ClickHouse Map)"
                out.append(f"{at}: column {document!r} is {stored}; {why}")
        return out

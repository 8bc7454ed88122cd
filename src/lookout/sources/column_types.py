"""Column types against the roles monitors.yml gives them, and configured values typed for them.

A status column may be integer, boolean or text; a latency numeric (or text, parsed per
record; only numeric when `source.units` gives it a unit); event times timestamps; a numeric
drift feature of a numeric type (SQL aggregates it).
`role_problems` checks every mapped, release and cohort column's reflected type, and every
configured status, feedback and `in_set` value against the column it is compared with, and
names the monitors.yml key of each problem, all in one pass
(`validate-config --check-warehouse`, and every run before it reads). `typed_values` gives the
stages configured values in the column's type, so SQL compares integers with integers
(PostgreSQL refuses `integer <> character varying`) and pandas keys them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from lookout.core.values import ConfiguredValue, ValueKind, coerce_all, describe, value_key
from lookout.model.record import FIELD_UNIT, NUMERIC_FIELDS, TEXT_FIELDS, UNIT_WORDS

if TYPE_CHECKING:
    from lookout.config.models import Monitor, SourceConfig

__all__ = [
    "ColumnKind",
    "column_kind",
    "role_problems",
    "sql_matches",
    "type_name",
    "typed_values",
    "value_kind",
]

ColumnKind = Literal[
    "integer", "boolean", "number", "text", "datetime", "json", "binary", "other", "unknown"
]

_TIMES = frozenset({"ts", "ingested_at"})
_SCALARS: frozenset[ColumnKind] = frozenset(
    {"integer", "boolean", "number", "text", "datetime", "other", "unknown"}
)
# role -> the column kinds it accepts ("unknown": an untyped SQLite column, not judged)
_ROLE_KINDS: dict[str, frozenset[ColumnKind]] = {
    "time": frozenset({"datetime", "unknown"}),
    "numeric": frozenset({"integer", "number", "text", "unknown"}),
    "number": frozenset({"integer", "number", "unknown"}),
    "status": frozenset({"integer", "boolean", "text", "unknown"}),
    "feedback": frozenset({"integer", "boolean", "number", "text", "unknown"}),
    "flag": frozenset({"boolean", "integer", "unknown"}),
    "long text": frozenset({"text", "json", "unknown"}),
    "scalar": _SCALARS,
}
_ROLE_WORDS = {
    "time": "a timestamp",
    "numeric": "a number (or text holding numbers)",
    "number": "a numeric type (integer, decimal or float; list labels and flags as categorical)",
    "status": "integer, boolean or text",
    "feedback": "integer, boolean, a number or text",
    "flag": "boolean or integer (0/1)",
    "long text": "text or JSON",
    "scalar": "a single value (not JSON, an array or bytes)",
}


def column_kind(type_: Any) -> ColumnKind:
    """What a reflected SQLAlchemy type holds, as the roles see it."""
    if isinstance(type_, sa.Boolean):
        return "boolean"
    if isinstance(type_, sa.Integer):
        return "integer"
    if isinstance(type_, sa.Numeric):  # Float and decimals
        return "number"
    if isinstance(type_, sa.DateTime | sa.Date):
        return "datetime"
    if isinstance(type_, sa.String | sa.Uuid):
        return "text"
    if isinstance(type_, sa.JSON):
        return "json"
    if isinstance(type_, sa.LargeBinary | sa.ARRAY):
        return "binary" if isinstance(type_, sa.LargeBinary) else "other"
    if isinstance(type_, sa.types.NullType):
        return "unknown"
    return "other"


def value_kind(type_: Any) -> ValueKind | None:
    """How configured values are typed for a column (None: compare as they are)."""
    kind = column_kind(type_)
    return kind if kind in ("integer", "boolean", "number", "text") else None  # type: ignore[return-value]


def _role(field: str) -> str:
    if field in _TIMES:
        return "time"
    if field in NUMERIC_FIELDS:
        return "numeric"
    if field in ("status", "feedback"):
        return field
    if field == "is_fallback":
        return "flag"
    if field in TEXT_FIELDS:
        return "long text"
    return "scalar"


def type_name(type_: Any) -> str:
    """A reflected type as its SQL (`DOUBLE`, `VARCHAR(20)`), for messages."""
    try:
        return str(type_.compile())
    except Exception:
        return type(type_).__name__


def typed_values(
    source: SourceConfig, columns: Mapping[str, Any], field: str, values: Sequence[ConfiguredValue]
) -> tuple[ConfiguredValue, ...]:
    """`values` in the type of `field`'s column (those that cannot be one are left out: they
    match nothing; `role_problems` reports them)."""
    column = source.columns.get(field, field)
    kind = value_kind(columns[column]) if column in columns else None
    if kind is None:
        return tuple(values)
    return tuple(coerce_all(values, kind)[0])


def role_problems(
    monitor: Monitor, columns: Mapping[str, Any], where: str, *, text_times: bool = False
) -> list[str]:
    """Every column whose type does not fit its role, and every configured value that cannot
    be a value of the column it is compared with, as `monitors.yml: <key path>: ...` lines.
    Columns missing from the table are reported elsewhere (`Warehouse.check_monitor`). Where the
    engine keeps times as text (`Dialect.text_times`: SQLite), a text time column is fine.
    """
    return [
        *_type_problems(monitor, columns, where, text_times),
        *_value_problems(monitor, columns, where),
    ]


def _type_problems(
    monitor: Monitor, columns: Mapping[str, Any], where: str, text_times: bool
) -> list[str]:
    """Columns whose type does not fit the role a key gives them."""
    source = monitor.source
    problems: list[str] = []

    def check(path: str, column: str, role: str) -> None:
        problem = _role_problem(source, columns, (where, path), column, role, text_times)
        if problem is not None:
            problems.append(problem)

    for field, column in source.columns.items():
        path = f"{where}.source.units.{field}"
        if source.epoch_unit(field) is not None:  # the unit says what the column holds
            if column in columns:
                problems += _epoch_problem(path, column, columns[column])
            continue
        check(f"source.columns.{field}", column, _role(field))
        if field in source.units and column in columns:
            problems += _unit_problem(path, column, columns[column], FIELD_UNIT[field])
    for field, elapsed in source.durations.items():
        check(f"source.durations.{field}.start", elapsed.start, "time")
        check(f"source.durations.{field}.end", elapsed.end, "time")
    for key, names in (("release", source.release), ("cohorts", source.cohorts)):
        for position, name in enumerate(names):
            if name not in source.columns:
                check(f"source.{key}[{position}]", name, "scalar")
    features = monitor.drift.features
    for position, name in enumerate(features.numeric):
        check(f"drift.features.numeric[{position}]", name, "number")
    for position, name in enumerate(features.categorical):
        check(f"drift.features.categorical[{position}]", name, "scalar")
    return problems


def _role_problem(
    source: SourceConfig,
    columns: Mapping[str, Any],
    key: tuple[str, str],
    column: str,
    role: str,
    text_times: bool,
) -> str | None:
    """What is wrong with `column` in `role` (at `where.path` of `key`); None when it fits."""
    if column not in columns:
        return None
    at, path = ".".join(key), key[1]
    kind = column_kind(columns[column])
    inside = source.json_path(column)
    if inside is not None and (role == "time" or kind not in _ROLE_KINDS[role]):
        return (
            f"monitors.yml: {at}: {column!r} is a value inside JSON column {inside[0]!r}, read "
            f"as text; this role needs {_ROLE_WORDS[role]}: map a column of the table instead"
        )
    if role == "time" and kind == "text" and text_times:
        return None
    if kind in _ROLE_KINDS[role]:
        return None
    hint = _time_hint(source, path, column, kind) if role == "time" else ""
    return (
        f"monitors.yml: {at}: column {column!r} is {type_name(columns[column])}; this role "
        f"needs {_ROLE_WORDS[role]}{hint}"
    )


def _value_problems(monitor: Monitor, columns: Mapping[str, Any], where: str) -> list[str]:
    """Configured values (statuses, feedback, filters, `in_set`) that cannot be a value of the
    column they are compared with."""
    source = monitor.source
    explicit = source.model_fields_set
    checked: list[tuple[str, str, Sequence[ConfiguredValue], bool]] = []
    if "status" in source.columns:
        # an error column (`null_status: ok`) need not hold the default ok words: NULL is ok
        if not (source.null_status == "ok" and "ok_statuses" not in explicit):
            default = "ok_statuses" not in explicit
            checked.append(("source.ok_statuses", "status", source.ok_statuses, default))
        checked.append(("source.fallback_statuses", "status", source.fallback_statuses, False))
        for name, values in source.status_rates.items():
            checked.append((f"source.status_rates.{name}", "status", values, False))
        statuses = monitor.validation.statuses
        if statuses and not monitor.validation.expectations:
            checked.append(("validation.statuses", "status", statuses, False))
    if "feedback" in source.columns:  # the default words and -1 fit no boolean column
        default = "negative_feedback" not in explicit
        checked.append(("source.negative_feedback", "feedback", source.negative_feedback, default))
    for key in ("where", "where_not"):
        for name, kept in getattr(source, key).items():
            checked.append((f"source.{key}.{name}", name, kept, False))
    for position, spec in enumerate(monitor.validation.expectations):
        if spec.kind == "in_set":
            path = f"validation.expectations[{position}].values"
            checked.append((path, spec.column, spec.values, False))
    return [
        problem
        for path, field, configured, default in checked
        for problem in _values_problem(
            source, columns, f"{where}.{path}", field, configured, default
        )
    ]


def _values_problem(
    source: SourceConfig,
    columns: Mapping[str, Any],
    at: str,
    field: str,
    configured: Sequence[ConfiguredValue],
    default: bool,
) -> list[str]:
    """The values of `configured` (at key path `at`) that cannot be values of `field`'s
    column, and a line when none can (so nothing would ever match)."""
    column = source.columns.get(field, field)
    if column not in columns or not configured:
        return []
    kind = value_kind(columns[column])
    if kind is None:
        return []
    positions = [i for i, v in enumerate(configured) if v is not None]  # `null`: NULL rows
    if not positions:
        return []
    values = [configured[i] for i in positions]
    typed, bad = coerce_all(values, kind)
    problems = [] if default else [f"monitors.yml: {at}[{positions[i]}]: {why}" for i, why in bad]
    if not typed:  # every value refused: nothing would ever match
        shown = ", ".join(describe(v) for v in values)
        problems.append(
            f"monitors.yml: {at}: none of {shown}{' (the default)' if default else ''} can be a "
            f"value of {kind} column {column!r}; list its values (e.g. {_example(kind, field)})"
        )
    return problems


def _unit_problem(path: str, column: str, type_: Any, read_in: str) -> list[str]:
    """A unit is applied in SQL (`column * 1000`, `column / 1000000`): the column must be of a
    numeric type (text holding numbers is parsed per record, after SQL, so it cannot be
    converted there)."""
    if column_kind(type_) in ("integer", "number"):
        return []
    return [
        f"monitors.yml: {path}: column {column!r} is {type_name(type_)}; a unit is applied "
        f"in SQL, to a column of a numeric type (integer, decimal or float): log the values "
        f"in {UNIT_WORDS[read_in]}, or map a view that casts the column"
    ]


def feedback_table_problems(
    records: SourceConfig, columns: Mapping[str, Any], where: str, *, text_times: bool = False
) -> list[str]:
    """What does not fit in the votes' table (`source.feedback_table`, whose `columns` these
    are): its time column (a timestamp, or numbers with `ts_unit`), and the negative values
    that cannot be votes of its value column. Missing columns are reported by the caller."""
    table = records.feedback_table
    if table is None:
        return []
    votes = records.votes_source()
    at = f"{where}.source.feedback_table"
    problems: list[str] = []
    if table.ts in columns:
        if table.ts_unit is not None:
            problems += _epoch_problem(f"{at}.ts_unit", table.ts, columns[table.ts])
        elif (kind := column_kind(columns[table.ts])) != "datetime" and not (
            kind == "text" and text_times
        ):
            hint = (
                " (or, for a Unix epoch number, `ts_unit: epoch_ms`)"
                if kind
                in (
                    "integer",
                    "number",
                )
                else ""
            )
            problems.append(
                f"monitors.yml: {at}.ts: column {table.ts!r} is "
                f"{type_name(columns[table.ts])}; the time a vote was given needs a "
                f"timestamp{hint}"
            )
    for name, kept in table.where.items():
        problems += _values_problem(votes, columns, f"{at}.where.{name}", name, kept, False)
    default = "negative_feedback" not in records.model_fields_set
    problems += _values_problem(
        votes,
        columns,
        f"{where}.source.negative_feedback",
        "feedback",
        records.negative_feedback,
        default,
    )
    return problems


def _time_hint(source: SourceConfig, path: str, column: str, kind: ColumnKind) -> str:
    """What to do about a time column that holds no timestamp: give an epoch number its unit;
    cast text in a view (compared as text, `'2026-11-02T10:00:00Z' >= '2026-11-02 10:00'`
    would cut windows by spelling; the view says where the cast happens, and a large table
    wants a stored generated column with an index instead)."""
    if kind != "text":
        return _epoch_hint(path, kind)
    return (
        f" (text compares as text, not as time: map a view that casts it, e.g. CREATE VIEW "
        f"{source.table}_typed AS SELECT *, CAST({column} AS TIMESTAMP) AS {column}_ts FROM "
        f"{source.table}, then table: {source.table}_typed and the field: {column}_ts)"
    )


def _epoch_hint(path: str, kind: ColumnKind) -> str:
    """What to set when a time field's column holds numbers: its epoch unit."""
    if kind not in ("integer", "number") or not path.startswith("source.columns."):
        return ""  # two times of a computed duration are timestamps
    field = path.rsplit(".", 1)[-1]
    return (
        f" (or, for a Unix epoch number, its unit: `units: {{{field}: epoch_ms}}`, or "
        "epoch_s, epoch_us)"
    )


def _epoch_problem(path: str, column: str, type_: Any) -> list[str]:
    """An epoch unit is for a column of numbers, compared with integer bounds in SQL: a
    timestamp column needs none, text cannot be compared as numbers."""
    kind = column_kind(type_)
    if kind in ("integer", "number", "unknown"):
        return []
    if kind == "datetime":
        why = "it holds timestamps already: remove the field from units"
    else:
        why = "an epoch unit reads a column of numbers (integer, decimal or float)"
    return [f"monitors.yml: {path}: column {column!r} is {type_name(type_)}; {why}"]


def _example(kind: ValueKind, field: str) -> str:
    if field == "status":
        return {"integer": "[200, 201]", "boolean": "[true]"}.get(kind, '["ok"]')
    return {"integer": "[-1]", "boolean": "[false]"}.get(kind, '["thumbs_down"]')


def sql_matches(
    column: sa.ColumnElement[Any],
    type_: Any,
    values: Sequence[ConfiguredValue],
    *,
    fold_case: bool = False,
    as_text: Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]] | None = None,
) -> sa.ColumnElement[bool]:
    """`column IN (values)` with the values typed for the column (integers for an integer
    column, booleans for a boolean one), as `lookout.core.values.matches` compares them in
    pandas; text compared without case when `fold_case`. Values that cannot be of the
    column's type match nothing. `as_text` is the engine's cast to text (`Dialect.as_text`)."""
    kind = value_kind(type_)
    typed = list(coerce_all(values, kind)[0]) if kind is not None else list(values)
    if kind is None:  # an untyped column (SQLite): compare as text, as value_key does
        column = as_text(column) if as_text is not None else sa.cast(column, sa.String)
        typed = [value_key(v) for v in typed]
    if not typed:
        return sa.false()
    if kind in (None, "text") and fold_case:
        return sa.func.lower(column).in_([str(v).lower() for v in typed])
    return column.in_(typed)

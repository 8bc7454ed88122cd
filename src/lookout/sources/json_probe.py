"""Whether each `source.json_fields` path names anything in the table's rows.

A key spelled otherwise than the logs write it (`usage.prompt_tokens` where they write
`usage.prompt`) reads NULL for every record: no type check sees it, runs succeed, and the
field vanishes from every metric (a user's prompt tokens did, and `lookout results` showed the
completion tokens as "in + out"). `validate-config --check-warehouse` reads the path on up to
`PROBE_ROWS` rows whose JSON column is set, through the same SQL as a window read, and warns
when none holds it, with the keys the rows do hold where the path stopped matching.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lookout.errors import SourceError, database_error
from lookout.model.json_path import JsonStep, json_path_text
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.config.models import SourceConfig
    from lookout.sources.warehouse import Warehouse

__all__ = ["PROBE_ROWS", "unmatched_json_fields"]

PROBE_ROWS = 1_000  # rows with the JSON column set that a path is read on
# read from the newest week first (a key the logger began to write lately is in those rows,
# not in a table's first pages); from any rows when that week holds none
RECENT = timedelta(days=7)
_SHOWN_DOCUMENTS = 50  # documents parsed here to list the keys they hold
_SHOWN_KEYS = 12


def unmatched_json_fields(warehouse: Warehouse, source: SourceConfig, where: str) -> list[str]:
    """A warning per json field that is NULL in every sampled row whose JSON column is set
    (none: the path is found, or no row has the column set)."""
    warnings = []
    table = warehouse.table(source)
    now = datetime.now(UTC)
    recent = warehouse.in_window(table, source, Window(now - RECENT, now + RECENT))
    for name in source.json_fields:
        document, keys = source.json_path(name) or ("", ())
        column = table.c[document]
        value = warehouse.stored_column(table, source, name)
        at = f"monitors.yml: {where}.source.json_fields.{name}"
        rows, found = _count(warehouse, value, column, recent, at)
        if not rows:
            rows, found = _count(warehouse, value, column, sa.true(), at)
        if not rows or found:
            continue
        documents = _documents(warehouse, column)
        dotted = _one_dotted_key(document, keys, documents)
        hint = f"; one key with dots is written quoted: {dotted}" if dotted else ""
        warnings.append(
            f"monitors.yml: {where}.source.json_fields.{name}: "
            f"{json_path_text(document, keys)!r} is NULL in all {rows:,} rows read whose "
            f"{document!r} is set: check the keys' spelling{_held_keys(document, keys, documents)}"
            f"{hint}"
        )
    return warnings


def _count(
    warehouse: Warehouse,
    value: sa.ColumnElement[Any],
    column: sa.ColumnElement[Any],
    condition: Any,
    at: str,
) -> tuple[int, int]:
    """(rows read with the JSON column set, of those how many hold the path)."""
    sample = (
        sa.select(value.label("value"))
        .where(column.is_not(None), condition)
        .limit(PROBE_ROWS)
        .subquery()
    )
    query = sa.select(sa.func.count(), sa.func.count(sample.c.value)).select_from(sample)
    try:
        with warehouse.engine.connect() as conn:
            rows, found = conn.execute(query).one()
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, f"{at}: cannot be read", SourceError) from None
    return int(rows), int(found)


def _documents(warehouse: Warehouse, column: sa.ColumnElement[Any]) -> list[Any]:
    """Up to `_SHOWN_DOCUMENTS` values of the JSON column, parsed (text that is no JSON is
    left out)."""
    query = sa.select(sa.cast(column, sa.Text)).where(column.is_not(None)).limit(_SHOWN_DOCUMENTS)
    try:
        with warehouse.engine.connect() as conn:
            texts = [text for text in conn.execute(query).scalars() if isinstance(text, str)]
    except sa.exc.SQLAlchemyError:  # the keys are a hint: without them the warning stands
        return []
    documents = []
    for text in texts:
        try:
            documents.append(json.loads(text))
        except ValueError:
            continue
    return documents


def _held_keys(document: str, keys: tuple[JsonStep, ...], documents: list[Any]) -> str:
    """`; at 'Meta.usage' the rows hold: completion, prompt`: the keys of the deepest object
    the path still reaches in the rows (none when the documents are not JSON objects)."""
    for depth in range(len(keys) - 1, -1, -1):
        held: Counter[str] = Counter()
        for parsed in documents:
            node = _walk(parsed, keys[:depth])
            if isinstance(node, dict):
                held.update(str(key) for key in node)
        if held:
            shown = ", ".join(sorted(key for key, _ in held.most_common(_SHOWN_KEYS)))
            at = json_path_text(document, keys[:depth])
            return f"; at {at!r} the rows hold: {shown}"
    return ""


def _one_dotted_key(document: str, keys: tuple[JsonStep, ...], documents: list[Any]) -> str:
    """`Attributes."app.tenant"` when the rows hold `app.tenant` as one key where the path
    reads `app` then `tenant` (OpenTelemetry attributes); "" otherwise."""
    for depth in range(len(keys) - 1):
        rest = keys[depth:]
        if not all(isinstance(key, str) for key in rest):
            continue
        joined = ".".join(str(key) for key in rest)
        for parsed in documents:
            node = _walk(parsed, keys[:depth]) if depth else parsed
            if isinstance(node, dict) and joined in node:
                return json_path_text(document, (*keys[:depth], joined))
    return ""


def _walk(node: Any, keys: tuple[JsonStep, ...]) -> Any:
    """The value at `keys` inside a parsed document; None where the path stops matching."""
    for key in keys:
        if isinstance(key, int):
            inside = isinstance(node, list) and -len(node) <= key < len(node)
            node = node[key] if inside else None  # an index from the end counts back
        else:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node

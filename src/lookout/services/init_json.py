"""Values inside a JSON metadata column, for `lookout init` (pure): virtual columns.

Langfuse's and LiteLLM's `metadata`, OpenTelemetry's `attributes` and Helicone's `properties`
keep the tenant, the plan, the feature, the environment and the prompt version inside one JSON
object per row. `expand_json` finds such columns in the sample (objects on nearly every row,
mostly scalar values, no chat message, a name that does not say text) and adds each scalar
key that enough rows hold, and each scalar key of an object one level down (`account.plan`),
as a column of its own, its values as the warehouse's extraction reads them (text: `true`,
`5`; a JSON null is missing). A key with dots in a flat object (OpenTelemetry's and
OpenInference's `gen_ai.request.model`, `session.id`) is one key: its path quotes it
(`attributes."gen_ai.request.model"`) and its column name is a plain word
(`gen_ai_request_model`), which the release, cohort and status names know. The rest of init
judges them as it judges table columns (cohorts, release fields, the production filter,
statuses); the proposal writes `source.json_fields` for the ones it uses, and the JSON
column's role names its keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from lookout.model.json_path import QUOTED_KEY_PATTERN, json_path_text, split_json_path
from lookout.model.record import IDENTIFIER_PATTERN, TEXT_FIELDS, canonical_name
from lookout.services.init_columns import ColumnInfo, profile_column
from lookout.services.init_mapping import ColumnRole
from lookout.services.init_names import NAMES, normalized_name, says_text
from lookout.services.init_payloads import json_object, payload_text, texts_at

__all__ = ["Expansion", "JsonDocument", "expand_json"]

OBJECT_SHARE = 0.95  # of a column's non-null values that must be JSON objects
KEY_SHARE = 0.2  # of the sampled rows on which a key must hold a scalar
SCALAR_SHARE = 0.5  # of an object's top-level values that are scalars (metadata, not a payload)
MESSAGE_SHARE = 0.2  # of the objects shaped like an LLM message above which it is none
MIN_DOCUMENTS = 10  # non-null values a column needs for a verdict
MAX_KEYS = 40  # keys expanded per column, the most frequent first (OTel attributes hold many)
SHOWN_KEYS = 8  # keys named in the column's role
_NOT_A_WORD = re.compile(r"[^A-Za-z0-9_]")  # `.`, `-`, `:`, `/` in a key: `_` in its name
_Keys = tuple[str, ...]  # the keys from a JSON column's top object down to a value
# Keys of an LLM request, response or message: {"role", "content"}, {"messages": [...]}.
_MESSAGE_LISTS = ("messages", "choices", "candidates", "contents", "parts")
# Keys that only hold others (LangSmith's `extra.metadata`): no part of a value's name.
_CONTAINERS = frozenset(
    {"metadata", "meta", "attributes", "attrs", "properties", "props", "tags", "labels",
     "custom", "custom_metadata", "extra"}
)  # fmt: skip


@dataclass(frozen=True)
class JsonDocument:
    """A JSON column expanded: its keys that became virtual columns, by their paths."""

    column: str
    sql_type: str
    keys: tuple[str, ...]  # `tenant`, `account.plan`, `"gen_ai.request.model"`: under `column`


@dataclass(frozen=True)
class Expansion:
    """The table's columns with each JSON metadata column replaced by its keys."""

    columns: tuple[ColumnInfo, ...]  # the other columns in table order, then the virtual ones
    sample: pd.DataFrame  # the sample with a column per virtual column
    fields: dict[str, str] = field(default_factory=dict)  # virtual column -> json_fields path
    documents: tuple[JsonDocument, ...] = ()
    table: tuple[ColumnInfo, ...] = ()  # every column of the table, in its order

    def used(self, names: Iterable[str]) -> dict[str, str]:
        """`json_fields` for the virtual columns among `names`, in expansion order."""
        wanted = set(names)
        return {name: path for name, path in self.fields.items() if name in wanted}

    def roles(self, roles: Sequence[ColumnRole], names: Iterable[str]) -> tuple[ColumnRole, ...]:
        """Every table column's role in table order: a JSON column says which keys it holds,
        followed by the virtual columns the proposal uses (`names`); the others are left out."""
        used = self.used(names)
        by_column = {role.column: role for role in roles}
        documents = {d.column: d for d in self.documents}
        out: list[ColumnRole] = []
        for info in self.table:
            document = documents.get(info.name)
            if document is None:
                out.append(by_column[info.name])
                continue
            mine = [n for n, path in used.items() if split_json_path(path)[0] == info.name]
            out.append(_document_role(document, bool(mine)))
            out += [by_column[name] for name in mine]
        return tuple(out)


def _document_role(document: JsonDocument, used: bool) -> ColumnRole:
    shown = ", ".join(document.keys[:SHOWN_KEYS]) + (
        "..." if len(document.keys) > SHOWN_KEYS else ""
    )
    if not document.keys:
        why = f"JSON object: no scalar key on {KEY_SHARE:.0%} of the sampled rows (json_fields)"
    elif used:
        why = f"JSON object: keys {shown} (json_fields)"
    else:
        why = f"JSON object: keys {shown} (json_fields): none used; name one to use it"
    return ColumnRole(document.column, document.sql_type, "json_fields" if used else "-", why)


def expand_json(columns: Sequence[ColumnInfo], sample: pd.DataFrame) -> Expansion:
    """The columns and sample with each JSON metadata column's frequent scalar keys as
    virtual columns (`ColumnInfo.path` set), and the JSON column itself left out."""
    taken = {c.name.lower() for c in columns}
    kept: list[ColumnInfo] = []
    virtual: list[ColumnInfo] = []
    added: dict[str, pd.Series] = {}
    documents: list[JsonDocument] = []
    for info in columns:
        objects = _objects(info, sample)
        payload = _payload(info, sample) if objects is None else None
        if payload is not None:  # a raw request or response: its prompt or answer
            steps, role = payload
            name = _name(info.name, (role,), taken)
            path = json_path_text(info.name, steps)
            if name is not None:
                taken.add(name.lower())
                virtual.append(ColumnInfo(name, f"JSON {path}", "text", path=path))
                added[name] = texts_at(sample[info.name], steps).set_axis(sample.index)
                documents.append(
                    JsonDocument(info.name, info.sql_type, (path[len(info.name) :].lstrip("."),))
                )
                continue
        if objects is None:
            kept.append(info)
            continue
        keys = []
        for steps, values in _key_values(objects).items():
            name = _name(info.name, steps, taken)
            path = json_path_text(info.name, steps)
            column = ColumnInfo(name or "", f"JSON {path}", "text", path=path)
            profile = profile_column(column, values)
            if name is None or profile.is_time:
                continue  # a time cannot be read as one
            if profile.is_long_text and not _names_text(steps):
                continue  # long text is no label, unless named as the prompt or answer
            taken.add(name.lower())
            virtual.append(column)
            added[name] = values.set_axis(sample.index)
            keys.append(path.removeprefix(f"{info.name}."))
        documents.append(JsonDocument(info.name, info.sql_type, tuple(keys)))
    if not documents:
        return Expansion(tuple(columns), sample, table=tuple(columns))
    frame = pd.concat([sample, pd.DataFrame(added, index=sample.index)], axis=1)
    fields = {c.name: c.path for c in virtual if c.path is not None}
    return Expansion((*kept, *virtual), frame, fields, tuple(documents), tuple(columns))


def _payload(info: ColumnInfo, sample: pd.DataFrame) -> tuple[tuple[Any, ...], str] | None:
    """(path, role) of the text inside a column of raw requests or responses (`init_payloads`)."""
    if info.kind not in ("text", "other") or not info.mappable or info.name not in sample:
        return None
    return payload_text(sample[info.name].to_numpy(dtype=object))


def _names_text(keys: tuple[str, ...]) -> bool:
    """Keys named as a record's text (OpenTelemetry's `gen_ai.completion`, OpenInference's
    `output.value`, `answer`): long text there is the prompt, the answer or the context."""
    field = canonical_name(".".join(keys)) or canonical_name(normalized_name(keys[-1]))
    if field in TEXT_FIELDS:
        return True
    last = normalized_name(keys[-1])
    return any(last in NAMES[f] for f in ("input", "output", "context"))


def _name(column: str, keys: tuple[str, ...], taken: set[str]) -> str | None:
    """The keys as a column name (`account.plan` -> `account_plan`, `gen_ai.request.model` ->
    `gen_ai_request_model`; under a key that only holds them, `metadata.tenant` -> `tenant`,
    so the names init knows place it), or `<column>_<name>` when a table column or another
    virtual column has that name; None when neither is free."""
    if len(keys) > 1 and normalized_name(keys[0]) in _CONTAINERS:
        keys = keys[1:]
    base = _NOT_A_WORD.sub("_", "_".join(keys))
    for name in (base, f"{column}_{base}"):
        if IDENTIFIER_PATTERN.match(name) and name.lower() not in taken:
            return name
    return None


def _objects(info: ColumnInfo, sample: pd.DataFrame) -> list[dict[str, Any] | None] | None:
    """Per sampled row, the JSON object a metadata column holds (None: NULL or not one);
    None when the column is not one."""
    if info.kind not in ("text", "other") or not info.mappable or info.name not in sample:
        return None
    if says_text(normalized_name(info.name)) is not None:  # `input`, `response_body`: content
        return None
    values = sample[info.name]
    present = int(values.notna().sum())
    if present < MIN_DOCUMENTS:
        return None
    objects = [json_object(v, numbers_as_text=True) for v in values.to_numpy(dtype=object)]
    found = [o for o in objects if o is not None]
    if len(found) < OBJECT_SHARE * present or not _metadata_like(found):
        return None
    return objects


def _metadata_like(objects: Sequence[dict[str, Any]]) -> bool:
    """Mostly scalar values (an object's own, or those of a key that only holds others:
    LangSmith's `extra` is `{"metadata": {...}}`), and few objects shaped like an LLM message
    or payload, at the top or one level down (`{"request": {"messages": [...]}}`)."""
    messages = sum(
        1
        for o in objects
        if _message_like(o) or any(isinstance(v, dict) and _message_like(v) for v in o.values())
    )
    values = [
        inner
        for o in objects
        for key, v in o.items()
        for inner in (
            v.values()
            if isinstance(v, dict) and v and normalized_name(key) in _CONTAINERS
            else (v,)
        )
    ]
    scalars = sum(1 for v in values if v is None or _text(v) is not None)
    return messages <= MESSAGE_SHARE * len(objects) and scalars >= SCALAR_SHARE * len(values)


def _message_like(o: dict[str, Any]) -> bool:
    """An LLM message (`role` and `content`) or a request or response holding a list of them."""
    return ("role" in o and ("content" in o or "parts" in o)) or any(
        isinstance(o.get(k), list) for k in _MESSAGE_LISTS
    )


def _text(value: Any) -> str | None:
    """A scalar as the warehouse's JSON extraction reads it (None: an object or an array)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def _key_values(objects: Sequence[dict[str, Any] | None]) -> dict[_Keys, pd.Series]:
    """Keys -> their text per row (None where missing or null), for the scalar keys (and
    the scalar keys of objects one level down) held by `KEY_SHARE` of the rows; keys that hold
    arrays or objects on more than a few rows, or that json_fields cannot name, are skipped."""
    found: dict[_Keys, dict[int, str]] = {}
    other: dict[_Keys, int] = {}  # keys -> rows on which they hold an array or deeper object
    for row, obj in enumerate(objects):
        for key, value in (obj or {}).items():
            if isinstance(value, dict):
                for inner, deeper in value.items():
                    _put(found, other, (key, inner), row, deeper)
            else:
                _put(found, other, (key,), row, value)
    rows = len(objects)
    kept = [
        path
        for path, texts in found.items()
        if len(texts) >= max(1, KEY_SHARE * rows)
        and other.get(path, 0) <= (1 - OBJECT_SHARE) * (len(texts) + other.get(path, 0))
        and all(isinstance(k, str) and QUOTED_KEY_PATTERN.match(k) for k in path)
    ]
    kept.sort(key=lambda path: -len(found[path]))  # stable: first seen first among equals
    return {
        path: pd.Series([found[path].get(row) for row in range(rows)], dtype=object)
        for path in kept[:MAX_KEYS]
    }


def _put(
    found: dict[_Keys, dict[int, str]], other: dict[_Keys, int], path: _Keys, row: int, value: Any
) -> None:
    if value is None:
        return
    text = _text(value)
    if text is None:
        other[path] = other.get(path, 0) + 1
    else:
        found.setdefault(path, {})[row] = text

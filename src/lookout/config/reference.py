"""The config reference as markdown, generated from the pydantic models so it cannot drift.

Pure: model classes in, text out. Every field becomes a row (key path as written in YAML, type,
default, description) and every nested mapping a section of its own, in declaration order, so
the same code always gives the same page. A type the renderer cannot name is an error naming
the key path: a new kind of key is described on purpose, never shown as a blank cell.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, SecretStr
from pydantic.fields import FieldInfo

from lookout.config.models import check_email_address
from lookout.model.record import check_identifier

__all__ = ["ConfigFile", "Row", "Section", "key_cell", "render_reference", "sections"]

# Validators that make a string a kind of its own in the reference.
_NAMED_STRINGS: dict[Callable[..., Any], str] = {
    check_identifier: "identifier",
    check_email_address: "email address",
}
_SIMPLE: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    SecretStr: "secret",
    timedelta: "duration",
    datetime: "timestamp",
    Any: "any value",
}
_PLURAL = {
    "string": "strings",
    "integer": "integers",
    "number": "numbers",
    "identifier": "identifiers",
    "email address": "email addresses",
}
_REQUIRED = "required"
_OR_NULL = ", or `null`"


@dataclass(frozen=True)
class ConfigFile:
    """One file the reference documents: its name, root model and a paragraph about it."""

    name: str
    slug: str  # anchor prefix, unique per file
    root: type[BaseModel]
    intro: str


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class Section:
    """One mapping of the file: where it sits, the model behind it, and its keys."""

    key: str  # key path of the mapping itself ("" for the file's top level)
    kind: str | None  # the discriminator value, for one member of a tagged union
    model: type[BaseModel]
    anchor: str
    rows: tuple[Row, ...]

    @property
    def title(self) -> str:
        where = f"`{self.key}`" if self.key else "top level"
        return f"{where} with `kind: {self.kind}`" if self.kind else where


@dataclass(frozen=True)
class _Child:
    key: str
    model: type[BaseModel]
    kind: str | None = None


def anchor(slug: str, key: str, kind: str | None = None) -> str:
    """A stable HTML id for a section (`monitors-rules-reference`)."""
    text = "-".join(part for part in (slug, key, kind) if part)
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")


def sections(root: type[BaseModel], slug: str) -> list[Section]:
    """Every mapping under `root`, depth first in declaration order."""
    out: list[Section] = []
    _walk(_Child("", root), slug, (), out)
    return out


def _walk(
    node: _Child, slug: str, ancestors: tuple[type[BaseModel], ...], out: list[Section]
) -> None:
    if node.model in ancestors:
        raise TypeError(f"{node.key}: {node.model.__name__} contains itself")
    rows: list[Row] = []
    children: list[_Child] = []
    for name, field in node.model.model_fields.items():
        key = f"{node.key}.{field.alias or name}" if node.key else (field.alias or name)
        found = _children(field.annotation, key)
        rows.append(
            Row(
                key=key,
                type=_field_type(field, key, slug),
                default=_default(field),
                description=_description(field, name, node, found),
            )
        )
        children += found
    where = anchor(slug, node.key, node.kind)
    out.append(Section(node.key, node.kind, node.model, where, tuple(rows)))
    for child in children:
        _walk(child, slug, (*ancestors, node.model), out)


def _children(annotation: Any, key: str) -> list[_Child]:
    """The mappings a field holds, with the key path each sits at."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *meta = typing.get_args(annotation)
        discriminator = next(
            (m.discriminator for m in meta if isinstance(m, FieldInfo) and m.discriminator), None
        )
        if isinstance(discriminator, str):
            return [
                _Child(key, member, _tag(member, discriminator))
                for member in typing.get_args(inner)
            ]
        return _children(inner, key)
    if _is_model(annotation):
        return [_Child(key, annotation)]
    if origin in (typing.Union, types.UnionType):
        return [child for arg in typing.get_args(annotation) for child in _children(arg, key)]
    if origin is list:
        return _children(typing.get_args(annotation)[0], f"{key}[]")
    if origin is dict:
        return _children(typing.get_args(annotation)[1], f"{key}.<name>")
    return []


def _tag(model: type[BaseModel], discriminator: str) -> str:
    values = typing.get_args(model.model_fields[discriminator].annotation)
    if len(values) != 1:
        raise TypeError(f"{model.__name__}.{discriminator}: expected one Literal value")
    return str(values[0])


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# --------------------------------------------------------------------------- cells


def _field_type(field: FieldInfo, key: str, slug: str) -> str:
    text = _type(field.annotation, key, slug)
    named = _named_string(field.metadata)
    if named and text.startswith("string"):
        text = named + text.removeprefix("string")
    limits = _limits(field.metadata, "items" if text.startswith("list") else "characters")
    if not limits:
        return text
    nullable = text.removesuffix(_OR_NULL)  # bounds belong to the value, not to the null
    return f"{nullable} ({limits}){_OR_NULL if nullable != text else ''}"


def _type(annotation: Any, key: str, slug: str) -> str:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *meta = typing.get_args(annotation)
        discriminator = next(
            (m.discriminator for m in meta if isinstance(m, FieldInfo) and m.discriminator), None
        )
        if isinstance(discriminator, str):
            kinds = [_tag(m, discriminator) for m in typing.get_args(inner)]
            links = ", ".join(f"[`{k}`](#{anchor(slug, key, k)})" for k in kinds)
            return f"mapping by `{discriminator}`: {links}"
        text = _type(inner, key, slug)
        named = _named_string(meta)
        if named and text == "string":
            text = named
        limits = _limits(meta, "characters" if text == "string" else "items")
        return f"{text} ({limits})" if limits else text
    if annotation is type(None):
        return "null"
    if origin is Literal:
        values = [f"`{_yaml(v)}`" for v in typing.get_args(annotation)]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        parts = [_type(a, key, slug) for a in args if a is not type(None)]
        text = " or ".join(dict.fromkeys(parts))
        return f"{text}{_OR_NULL}" if type(None) in args else text
    if origin is list:
        item = _type(typing.get_args(annotation)[0], f"{key}[]", slug)
        return f"list of {_PLURAL[item]}" if item in _PLURAL else f"list, each: {item}"
    if origin is dict:
        value = _type(typing.get_args(annotation)[1], f"{key}.<name>", slug)
        return f"map of name to {value}"
    if _is_model(annotation):
        return f"[mapping](#{anchor(slug, key)})"
    if annotation in _SIMPLE:
        return _SIMPLE[annotation]
    raise TypeError(f"{key}: the config reference has no words for the type {annotation!r}")


def _named_string(meta: Sequence[Any]) -> str | None:
    for item in meta:
        if isinstance(item, AfterValidator | BeforeValidator) and item.func in _NAMED_STRINGS:
            return _NAMED_STRINGS[item.func]
    return None


def _limits(meta: Sequence[Any], units: str) -> str:
    """Bounds and patterns as short words (`>= 0`, `at least 1 items`, `matching ^S...`)."""
    words: list[str] = []
    for item in meta:
        if isinstance(item, FieldInfo):
            words.append(_limits(item.metadata, units))
        elif isinstance(item, annotated_types.Ge):
            words.append(f">= {item.ge:g}")
        elif isinstance(item, annotated_types.Gt):
            words.append(f"> {item.gt:g}")
        elif isinstance(item, annotated_types.Le):
            words.append(f"<= {item.le:g}")
        elif isinstance(item, annotated_types.Lt):
            words.append(f"< {item.lt:g}")
        elif isinstance(item, annotated_types.MinLen):
            words.append(f"at least {_count(item.min_length, units)}")
        elif isinstance(item, annotated_types.MaxLen):
            words.append(f"at most {_count(item.max_length, units)}")
        elif getattr(item, "pattern", None):
            words.append(f"matching `{item.pattern}`")
    return ", ".join(w for w in words if w)


def _count(n: int, units: str) -> str:
    return f"{n} {units.removesuffix('s') if n == 1 else units}"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return _REQUIRED
    value = field.get_default(call_default_factory=True)
    return f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    """A value as it would be written in the YAML file (flow style, one line)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, BaseModel):
        return _yaml(value.model_dump(exclude_defaults=True, by_alias=True))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(k)}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, str):
        return _scalar(value)
    return repr(value)


_NEEDS_QUOTES = re.compile(r"^[\s\-?:,\[\]{}#&*!|>'\"%@`]|: | #")


def _scalar(text: str) -> str:
    """Bare when YAML reads it back as the same string; double-quoted otherwise."""
    try:
        bare = yaml.safe_load(text) == text and not _NEEDS_QUOTES.search(text)
    except yaml.YAMLError:
        bare = False
    return text if bare else json.dumps(text)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _description(field: FieldInfo, name: str, node: _Child, found: list[_Child]) -> str:
    """The field's own description; a nested mapping's may come from its model's docstring;
    a tag of a tagged union says what it selects."""
    text = field.description or ""
    if not text and node.kind is not None and name == _discriminator_of(node):
        text = f"`{node.kind}` selects this kind"
    if not text and len({child.model for child in found}) == 1:
        text = _summary(found[0].model)
    return _cell(text)


def _discriminator_of(node: _Child) -> str | None:
    for name, field in node.model.model_fields.items():
        if typing.get_origin(field.annotation) is Literal and typing.get_args(field.annotation) == (
            node.kind,
        ):
            return name
    return None


def _summary(model: type[BaseModel]) -> str:
    """The first paragraph of a model's own docstring (not one inherited from pydantic)."""
    doc = model.__dict__.get("__doc__")
    return inspect.cleandoc(doc).split("\n\n")[0] if doc else ""


def _cell(text: str) -> str:
    """One table cell of prose: one line; outside code spans, `<name>` stays text (not an HTML
    tag) and `*` is no emphasis; `|` never ends the cell."""
    parts = " ".join(text.split()).split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")
    return "`".join(parts).replace("|", "\\|")


# --------------------------------------------------------------------------- page


def key_cell(key: str) -> str:
    """A key path as code that may wrap after a dot, never inside a name (`<wbr>`)."""
    text = key.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<code>" + text.replace(".", ".<wbr>") + "</code>"


def render_reference(title: str, intro: str, files: Sequence[ConfigFile]) -> str:
    """The whole page: a section per mapping of each file, a table row per key."""
    lines = [f"# {title}", "", intro.strip(), ""]
    for file in files:
        lines += [f"## {file.name} {{#{file.slug}}}", "", file.intro.strip(), ""]
        for section in sections(file.root, file.slug):
            doc = section.model.__dict__.get("__doc__")
            if section.key:  # the top level's table sits under the file's own heading
                lines += [f"### {section.title} {{#{section.anchor}}}", ""]
                if doc:
                    lines += [_cell(inspect.cleandoc(doc)), ""]
            lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
            lines += [
                f"| {key_cell(row.key)} | {row.type} | {row.default} | {row.description} |"
                for row in section.rows
            ]
            lines.append("")
    return "\n".join(lines)

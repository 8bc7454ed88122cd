"""Where a table that is not there might be: the one line an error adds so a typo or a wrong
schema is fixed at once (`lookout init --table`, `source.table` in monitors.yml).

It names the tables of the schema asked for (or of the default one), the schemas when the one
asked for does not exist, names that differ only in case or by a typo, and the schemas that do
hold a table of that name, with the fix the caller words (`pass --table s.t`, `set
source.schema: s`). Only the catalog is read (SQLAlchemy's inspector), at most `MAX_SCHEMAS`
schemas, and a catalog the engine cannot read is left out, never an error of its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from lookout.dialects import Dialect

__all__ = ["MAX_LISTED", "MAX_SCHEMAS", "catalog", "close_names", "lookup_schema", "where_instead"]

MAX_SCHEMAS = 200  # schemas searched for a table of the name asked for
MAX_LISTED = 20  # names listed in the error
T = TypeVar("T")


def catalog(call: Callable[[], T], default: T) -> T:
    """A catalog read, or `default` where the engine cannot answer it."""
    try:
        return call()
    except (sa.exc.SQLAlchemyError, NotImplementedError):
        return default


def lookup_schema(inspector: Any, caps: Dialect, schema: str | None) -> str | None:
    """The schema a table named without one is looked up in: none (the engine's own search),
    or the default one where the catalog without a schema spans every schema (DuckDB), since
    a query without one reads the default schema only."""
    if schema is not None or not caps.catalog_spans_schemas:
        return schema
    return catalog(lambda: inspector.default_schema_name, None)


def where_instead(
    inspector: Any,
    caps: Dialect,
    table: str,
    schema: str | None,
    fix: Callable[[str, str], str],
    *,
    no_schema_fix: str,
) -> str:
    """What is there instead of `schema.table`, and `fix(schema, name)` for a schema that holds
    a table of that name (`no_schema_fix`: what to do when the URL names no schema)."""
    word = caps.schema_word
    schemas = catalog(inspector.get_schema_names, [])
    users = [s for s in schemas if s.lower() not in caps.system_schemas][:MAX_SCHEMAS]
    if caps.catalog_spans_schemas:  # DuckDB names them `<database>.<schema>`: set the schema
        users = list(dict.fromkeys(s.rpartition(".")[2] for s in users))
        schemas = users
    default = catalog(lambda: inspector.default_schema_name, None)
    home = schema or default
    if schema is not None and schemas and schema not in schemas:
        close = close_names(schema, users)
        said = f"there is no {word} {schema!r}{close}; {word}s: {_listing(users)}"
    elif home is None and schemas:  # MySQL/MariaDB: a URL without a database
        said = f"the URL names no {word} ({no_schema_fix}); {word}s: {_listing(users)}"
    else:
        names = _relations(inspector, lookup_schema(inspector, caps, schema))
        label = f"{word} {home}" if schema or not home else f"the default {word} ({home})"
        held = f"holds {_listing(names)}" if names else "holds no tables"
        said = f"{label} {held}{close_names(table, names)}"
    found = [(s, name) for s in users if s != home for name in _named(inspector, s, table)]
    if found:
        places = ", ".join(f"{word} {s}" for s, _ in found[:MAX_LISTED])
        first, name = found[0]
        said += f"; a table {table!r} is in {places}: {fix(first, name)}"
    return said


def _relations(inspector: Any, schema: str | None) -> list[str]:
    """The tables and views of a schema (None: the default one)."""
    tables = catalog(lambda: inspector.get_table_names(schema=schema), [])
    views = catalog(lambda: inspector.get_view_names(schema=schema), [])
    return sorted(set(tables) | set(views))


def _named(inspector: Any, schema: str, table: str) -> list[str]:
    """The tables of `schema` named `table`, or named so but for case."""
    names = _relations(inspector, schema)
    if table in names:
        return [table]
    return [name for name in names if name.lower() == table.lower()][:1]


def close_names(name: str, names: Sequence[str]) -> str:
    """` (did you mean x, y?)`: the names that differ only in case or look like a typo."""
    same = [n for n in names if n.lower() == name.lower() and n != name]
    similar = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    close = same + [n for n in similar if n not in same and n != name]
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _listing(names: Sequence[str]) -> str:
    if not names:
        return "none"
    more = len(names) - MAX_LISTED
    return ", ".join(names[:MAX_LISTED]) + (f", … ({more} more)" if more > 0 else "")

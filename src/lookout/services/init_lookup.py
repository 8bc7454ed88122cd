"""Which table `lookout init` reads: `--table` as [SCHEMA.]TABLE, and the one line that says
where to look when the table is not there.

Names are taken as the catalog spells them and quoted by SQLAlchemy, never pasted into SQL:
`Obs.AgentLog` is the table created as "Obs"."AgentLog", and the psql spelling
`"Obs"."AgentLog"` reads the same. On MySQL and MariaDB a schema is a database.

When the table is not found the error names what is there instead: the tables of the schema
asked for (or of the default one), the schemas when the one asked for does not exist, names
that differ only in case or by a typo, and the schemas that do hold a table of that name (with
the `--table` value that reads it). Only the catalog is read (SQLAlchemy's inspector), at most
`MAX_SCHEMAS` schemas.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from lookout.dialects import Dialect
from lookout.model.record import check_identifier
from lookout.services.init_engine import InitError

__all__ = ["MAX_LISTED", "MAX_SCHEMAS", "catalog", "not_found", "split_table"]

MAX_SCHEMAS = 200  # schemas searched for a table of the name asked for
MAX_LISTED = 20  # names listed in the error
_PART = re.compile(r'"([^"]*)"|([^."]*)')
T = TypeVar("T")


def split_table(text: str) -> tuple[str | None, str]:
    """`--table` as (schema or None, table): `table`, `schema.table`, or either part in double
    quotes as psql writes mixed case. ValueError (one line) for anything else."""
    parts: list[str] = []
    rest = text.strip()
    while True:
        match = _PART.match(rest)
        assert match is not None  # the pattern matches the empty string
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
        rest = rest[match.end() :]
        if not rest.startswith(".") or len(parts) > 2:
            break
        rest = rest[1:]
    if rest or len(parts) > 2 or not all(parts):
        raise ValueError(
            f"{text!r} is not a plain SQL identifier, nor SCHEMA.TABLE of two "
            '(either may be double-quoted: "Obs"."AgentLog")'
        )
    for part in parts:
        check_identifier(part)
    return (parts[0] if len(parts) == 2 else None), parts[-1]


def catalog(call: Callable[[], T], default: T) -> T:
    """A catalog read, or `default` where the engine cannot answer it."""
    try:
        return call()
    except (sa.exc.SQLAlchemyError, NotImplementedError):
        return default


def not_found(
    inspector: Any, caps: Dialect, table: str, schema: str | None, display: str
) -> InitError:
    """The error for a table that is not there: what is there instead, and where a table of
    that name is."""
    where = f"{schema}.{table}" if schema else table
    word = caps.schema_word
    schemas = catalog(inspector.get_schema_names, [])
    users = [s for s in schemas if s.lower() not in caps.system_schemas][:MAX_SCHEMAS]
    default = catalog(lambda: inspector.default_schema_name, None)
    home = schema or default
    if schema is not None and schemas and schema not in schemas:
        said = f"there is no {word} {schema!r}{_close(schema, users)}; {word}s: {_listing(users)}"
    elif home is None and schemas:  # MySQL/MariaDB: a URL without a database
        said = (
            f"the URL names no {word} (name one there, or pass --table {word.upper()}.{table}); "
            f"{word}s: {_listing(users)}"
        )
    else:
        names = _relations(inspector, schema)
        label = f"{word} {home}" if schema or not home else f"the default {word} ({home})"
        held = f"holds {_listing(names)}" if names else "holds no tables"
        said = f"{label} {held}{_close(table, names)}"
    found = [(s, name) for s in users if s != home for name in _named(inspector, s, table)]
    if found:
        places = ", ".join(f"{word} {s}" for s, _ in found[:MAX_LISTED])
        first, name = found[0]
        said += f"; a table {table!r} is in {places}: pass --table {first}.{name}"
    return InitError(f"table {where!r} not found in warehouse {display}: {said}")


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


def _close(name: str, names: Sequence[str]) -> str:
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

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

import re
from typing import Any

from lookout.dialects import Dialect
from lookout.model.record import check_identifier
from lookout.services.init_engine import InitError
from lookout.sources.catalog_hints import catalog, where_instead

__all__ = ["catalog", "not_found", "split_table"]

_PART = re.compile(r'"([^"]*)"|([^."]*)')


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


def not_found(
    inspector: Any, caps: Dialect, table: str, schema: str | None, display: str
) -> InitError:
    """The error for a table that is not there: what is there instead, and where a table of
    that name is (`lookout.sources.catalog_hints`)."""
    where = f"{schema}.{table}" if schema else table
    word = caps.schema_word
    said = where_instead(
        inspector,
        caps,
        table,
        schema,
        lambda s, name: f"pass --table {s}.{name}",
        no_schema_fix=f"name one there, or pass --table {word.upper()}.{table}",
    )
    return InitError(f"table {where!r} not found in warehouse {display}: {said}")

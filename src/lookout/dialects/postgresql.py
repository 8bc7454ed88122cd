"""PostgreSQL: ordered-set `percentile_cont`, page sampling, session settings in libpq options.

Pushdown is off by default: `percentile_cont` is single-threaded there, and reading the needed
columns into pandas measured faster (see benchmarks/RESULTS.md). GX runs in SQL through a
narrow TEMP table per batch. `lock_timeout`, `statement_timeout` and read-only
(`default_transaction_read_only`) go in the startup `options` of every connection, so GX's
own engine gets them too.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL
from sqlalchemy.sql.functions import Function

from lookout.dialects.base import (
    ConnectSettings,
    Dialect,
    first_line,
    milliseconds,
    running,
    seconds,
)
from lookout.model.json_path import JsonStep

__all__ = ["PostgreSQL"]

_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi"})
# Static SQL (no input in it): drop this session's GX temp tables.
_DROP_GX_TEMP_TABLES = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'gx\\_temp\\_%'
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', r.relname);
  END LOOP;
END $$;
"""


class PostgreSQL(Dialect):
    names = ("postgresql",)
    drift_in_sql = True
    quantiles = "aggregate"
    validation_pushdown_default = True
    not_in_sql: ClassVar[frozenset[str] | None] = frozenset({"json_parses"})
    gx_temp_tables = True
    drop_gx_temp_tables: ClassVar[str | None] = _DROP_GX_TEMP_TABLES
    decimal_infinity = True
    system_schemas: ClassVar[frozenset[str]] = frozenset(
        {"information_schema", "pg_catalog", "pg_toast"}
    )
    sample_unit: ClassVar[Literal["pages", "rows"] | None] = "pages"

    def integer_limit(self, type_: Any) -> int | None:
        """PostgreSQL refuses `int_column IN (3000000000)` ("integer out of range"); a
        `NUMERIC(p, 0)` holds p digits."""
        if isinstance(type_, sa.SmallInteger):
            return 2**15 - 1
        if isinstance(type_, sa.Integer):
            return 2**63 - 1 if isinstance(type_, sa.BigInteger) else 2**31 - 1
        precision = getattr(type_, "precision", None)
        return 10**precision - 1 if precision else None

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        return sa.extract("epoch", end - start) * 1000  # an interval's seconds, fractions kept

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        # cast to jsonb, so json, jsonb and text columns all work; an index is its digits ('0'
        # is the first element of an array: a key is never digits alone)
        path = [sa.literal(str(k), sa.Text) for k in keys]
        value = Function("jsonb_extract_path_text", sa.cast(document, JSONB), *path, type_=sa.Text)
        if isinstance(document.type, sa.JSON):
            return value  # json and jsonb hold JSON by construction
        # text: a value that is no JSON object or array ('' where nothing was logged, 'n/a')
        # or one cut short (a log shipper's line limit) reads as NULL instead of failing every
        # query of the window (CASE is evaluated row by row): it must start and end like one
        # and hold as many closing braces and brackets as opening ones (a cut right after a
        # nested `}`). `IS JSON` (PostgreSQL 16) is not there before; other malformed JSON
        # still fails, and a valid document whose strings hold unbalanced braces reads NULL
        text = sa.cast(document, sa.Text)

        def count(character: str) -> sa.ColumnElement[Any]:
            return sa.func.length(text) - sa.func.length(sa.func.replace(text, character, ""))

        looks_like_json = sa.and_(
            text.regexp_match(r"^\s*[{[]"),
            text.regexp_match(r"[]}]\s*$"),
            count("{") == count("}"),
            count("[") == count("]"),
        )
        return sa.case((looks_like_json, value))

    def period_sample(self, table: sa.Table, percent: float) -> Any | None:
        return sa.tablesample(table, sa.func.system(percent), name="sampled")

    def table_sample(self, table: sa.Table, fraction: float, seed: int) -> Any:
        amount = sa.literal(round(fraction * 100, 6), sa.Float)
        return sa.tablesample(table, sa.func.system(amount), seed=sa.literal_column(str(seed)))

    def table_size(self, conn: sa.Connection, table: sa.Table) -> float:
        """Pages, from the catalog (no scan)."""
        prep = conn.dialect.identifier_preparer
        regclass = sa.func.to_regclass(prep.format_table(table))
        size = conn.scalar(sa.select(sa.func.pg_relation_size(regclass)))
        block = conn.scalar(sa.select(sa.func.current_setting("block_size")))
        return float(size or 0) / float(block or 8192)

    def connect_arguments(self, url: URL, settings: ConnectSettings) -> tuple[URL, dict[str, Any]]:
        options = []
        if settings.lock_timeout is not None:
            options.append(f"-c lock_timeout={milliseconds(settings.lock_timeout)}")
        if settings.statement_timeout is not None:
            options.append(f"-c statement_timeout={milliseconds(settings.statement_timeout)}")
        if settings.read_only:
            options.append("-c default_transaction_read_only=on")
        if not options:
            return url, {}
        if url.get_driver_name() not in _LIBPQ_DRIVERS:
            raise ValueError(
                "lock_timeout, statement_timeout and read_only need a libpq driver "
                f"(postgresql+psycopg://), not {url.drivername}; set them to null "
                "(read_only: false) to use another driver"
            )
        given = url.query.get("options")
        if given:  # the URL's own options come first; ours are added to them
            options.insert(0, given if isinstance(given, str) else " ".join(given))
        return url, {"options": " ".join(options)}

    def timeout_message(self, exc: BaseException, settings: ConnectSettings) -> str | None:
        orig = getattr(exc, "orig", None) or exc
        first = first_line(exc)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        context = getattr(getattr(orig, "diag", None), "context", None)
        where = f" ({' '.join(context.split())})" if context else ""
        key = settings.key
        if sqlstate == "55P03":
            return (
                f"{first}: gave up after waiting {seconds(settings.lock_timeout)} "
                f"({key}.lock_timeout) for a lock another session holds{where}{running(exc)}. "
                "Check pg_stat_activity and pg_locks for a long or idle-in-transaction session "
                f"holding it (or a manual LOCK); raise {key}.lock_timeout in profiles.yml only "
                "if such waits are expected"
            )
        if sqlstate == "57014" and "statement timeout" in first:
            return (
                f"{first}: the statement ran longer than {seconds(settings.statement_timeout)} "
                f"({key}.statement_timeout){running(exc)}. Check the database's load and "
                f"pg_stat_activity; raise {key}.statement_timeout in profiles.yml if it is "
                "expected"
            )
        return None

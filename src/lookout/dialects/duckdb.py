"""DuckDB: parallel `percentile_cont` (pushdown measured 15x faster at 1M rows), vector
sampling, Arrow fetches. Read-only opens the file with `read_only=True`, so several processes
read one file at once; no lock waits (a conflicting open fails at once), no statement timeout.
GX has no regex on DuckDB."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.sql.functions import Function

from lookout.dialects.base import ConnectSettings, Dialect, file_database
from lookout.model.json_path import JsonStep, sql_json_path

__all__ = ["DuckDB"]


class DuckDB(Dialect):
    names = ("duckdb",)
    drift_in_sql = True
    quantiles = "aggregate"
    metrics_pushdown_default = True
    validation_pushdown_default = True
    not_in_sql: ClassVar[frozenset[str] | None] = frozenset({"json_parses", "regex"})
    sample_unit: ClassVar[Literal["pages", "rows"] | None] = "rows"
    catalog_spans_schemas = True
    system_schemas: ClassVar[frozenset[str]] = frozenset(
        {"information_schema", "pg_catalog", "system.information_schema", "system.main",
         "system.pg_catalog", "temp.main"}
    )  # fmt: skip

    def reflected(
        self, inspector: Any, table: str, schema: str | None, columns: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """duckdb_engine reflects TIMESTAMPTZ as a TIMESTAMP without a zone: a zone of the
        config (`source.timezone`) then passed the check and moved every window by its offset
        (a trial's 09:00 window stored 10:00's rows), and bounds bound naive were read in the
        session's zone (a laptop's Europe/Berlin). The catalog says which columns have one."""
        query = sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :table "
            "AND table_schema = coalesce(:schema, current_schema()) "
            "AND data_type = 'TIMESTAMP WITH TIME ZONE'"
        )
        bind = inspector.bind
        try:
            if isinstance(bind, sa.Engine):
                with bind.connect() as conn:
                    zoned = set(conn.execute(query, {"table": table, "schema": schema}).scalars())
            else:
                zoned = set(bind.execute(query, {"table": table, "schema": schema}).scalars())
        except sa.exc.SQLAlchemyError:
            return columns
        return [
            {**c, "type": sa.TIMESTAMP(timezone=True)} if c["name"] in zoned else c for c in columns
        ]

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        # microseconds are exact; epoch_ms() would drop the fraction of a millisecond
        return Function("date_diff", "microsecond", start, end) / 1000.0

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        # a JSON pointer (`/account/plan`, `/gen_ai.request.model`): a dot is a plain
        # character there, a `/` inside a key is written `~1` (RFC 6901; keys hold no `~`);
        # an index is its digits (`/choices/0/text`)
        pointer = "".join("/" + str(k).replace("/", "~1") for k in keys)
        if any(isinstance(k, int) and k < 0 for k in keys):  # a pointer counts from 0 only
            pointer = sql_json_path(keys)  # `$."messages"[#-1]."content"`
        value = Function(
            "json_extract_string", document, sa.literal(pointer, sa.String), type_=sa.String
        )
        # a document that is not JSON ('' where nothing was logged) reads as NULL instead of
        # failing every query of the window
        return sa.case((Function("json_valid", document, type_=sa.Boolean), value))

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.strlen(text)  # bytes; DuckDB's octet_length takes BLOB only

    def table_sample(self, table: sa.Table, fraction: float, seed: int) -> Any:
        percent = round(fraction * 100, 6)
        amount = sa.literal_column(f"{percent:.6f}%")  # a bare number would read as rows
        return sa.tablesample(table, sa.func.system(amount), seed=sa.literal_column(str(seed)))

    def connect_arguments(self, url: URL, settings: ConnectSettings) -> tuple[URL, dict[str, Any]]:
        if settings.read_only and file_database(url):
            return url, {"read_only": True}
        return url, {}

    def fetch_frame(self, conn: sa.Connection, query: sa.Select[Any]) -> pd.DataFrame:
        """Straight to Arrow (several times faster than row-wise DBAPI fetches)."""
        # render_postcompile: expanding parameters (`IN` lists) become one marker per value
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        if compiled.positiontup:
            args: Any = [params[name] for name in compiled.positiontup]
        else:
            args = params
        raw = conn.connection.driver_connection
        # duckdb_engine wraps the connection and its cursors share it; DuckDB 2 refuses work
        # on a connection with an unfinished result (pool pre-ping leaves one): a real cursor.
        duck = getattr(raw, "_ConnectionWrapper__c", raw)
        cursor = duck.cursor()
        try:
            relation = cursor.sql(str(compiled), params=args)
            return relation.to_arrow_table().to_pandas()
        finally:
            cursor.close()

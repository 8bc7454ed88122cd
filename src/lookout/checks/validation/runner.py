"""Run expectations with Great Expectations on one batch and turn GX results into plain data.

A batch is one release of one window: a DataFrame (pandas path) or a SQL query asset that the
warehouse evaluates (pushdown). The GX context is ephemeral: no files, no telemetry, no network.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy.engine import make_url

from lookout.connections import (
    WAREHOUSE_DEFAULTS,
    ConnectSettings,
    engine_arguments,
    timeout_message,
)
from lookout.dialects import dialect_for
from lookout.errors import CheckError
from lookout.model.expectations import ExpectationOutcome, Status
from lookout.model.record import is_missing

__all__ = ["BatchResult", "ExpectationOutcome", "GxRunner", "runs_as_written"]

# How SQLAlchemy's `text()` finds a bind parameter (the pattern of its `TextClause`).
_BIND_PARAMETER = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)", re.UNICODE)


def runs_as_written(query: str) -> bool:
    """Whether GX runs a query asset's SQL as written.

    GX reads the text with SQLAlchemy's `text()`, twice on some paths (compiled, then read
    again), where `:name` is a bind parameter even inside a string literal, and `\\:` loses
    its backslash: a logged value such as `svc/:canary` failed every SQL metric of its batch
    ("a value is required for bind parameter"). An escape does not survive the second reading,
    so such a query is not given to GX at all.
    """
    return _BIND_PARAMETER.search(query) is None and "\\:" not in query


EXAMPLES = 5


@dataclass(frozen=True)
class BatchResult:
    outcomes: list[ExpectationOutcome]
    # record id -> names of the critical expectations it failed
    quarantined: dict[str, list[str]]


def _patch_gx_result_buffering() -> None:
    """GX 1.x fetches SQL results after its `with engine.connect()` block has returned the
    connection to the pool. On DuckDB, duckdb-engine then closes the cursor and DuckDB 2
    discards the result, so every expectation fails with IndexError (GX issues 10738/11579).
    Fetch inside the block instead; for the client-side cursors of PostgreSQL and SQLite this
    is what happened anyway (the rows were already in the client). The DuckDB tests fail
    loudly if a GX upgrade changes this method."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as sae

    engine_cls = sae.SqlAlchemyExecutionEngine
    if getattr(engine_cls, "_lookout_buffering_patch", False):
        return

    def execute_query(self: Any, query: Any) -> Any:
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            return result.freeze()()

    engine_cls.execute_query = execute_query
    engine_cls._lookout_buffering_patch = True


def _uses_temp_tables(connection_string: str) -> bool:
    """`Dialect.gx_temp_tables` (PostgreSQL): each batch is first copied into a narrow TEMP
    table (GX's `create_temp_table`): GX then scans those few columns once per metric instead
    of the wide warehouse table, and its column probe (which otherwise runs the whole query and
    pulls every row into the client) becomes `SELECT * ... LIMIT 1`. Measured at 1M rows: 2x
    faster than without, flat memory. Temp tables live in one session, hence a pool of exactly
    one connection; each is dropped once its batch is validated."""
    return dialect_for(connection_string).gx_temp_tables


def _engine_options(connection_string: str) -> dict[str, Any]:
    if _uses_temp_tables(connection_string):
        return {"pool_size": 1, "max_overflow": 0}
    return {}


def _drop_temp_tables(batch: Any) -> None:
    """Drop this session's GX temp tables (`Dialect.drop_gx_temp_tables`): GX creates one per
    validation call and never drops them; they would pile up over a long backfill. Best
    effort; the session (one pooled connection) ends with the runner in any case."""
    import sqlalchemy as sa

    engine = getattr(batch.data.execution_engine, "engine", None)  # None: pandas batches
    cleanup = None if engine is None else dialect_for(engine).drop_gx_temp_tables
    if engine is None or cleanup is None:
        return
    with contextlib.suppress(Exception), engine.connect() as conn:
        conn.execute(sa.text(cleanup))
        conn.commit()


def _timeout_in(exc: BaseException, settings: ConnectSettings, dialect: str) -> str | None:
    """The explanation of a timeout anywhere in the chain of `exc` (GX wraps driver errors)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        explained = timeout_message(seen, settings, dialect)
        if explained is not None:
            return explained
        seen = seen.__cause__ or seen.__context__
    return None


def _raised(exception_info: Any) -> str | None:
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, Mapping) and info.get("raised_exception"):
            message = str(info.get("exception_message") or "error")
            return message.splitlines()[0][:500]
    return None


def _ids(entries: Sequence[Any] | None, release: str = "") -> list[str]:
    """Failing record ids as text. A record without an id gets a stand-in numbered in order
    within its release (`(null record_id #2 of m1@p1)`), so several of them are each
    quarantined and counted, not merged into one; every such record fails the critical
    not-null check on the id."""
    if not entries:
        return []
    out = []
    nulls = 0
    for entry in entries:
        value = entry.get("record_id") if isinstance(entry, Mapping) else entry
        if is_missing(value):
            nulls += 1
            out.append(f"(null record_id #{nulls} of {release})" if release else f"(null #{nulls})")
        else:
            out.append(str(value))
    return out


def _observed(result: Mapping[str, Any]) -> str | None:
    if "observed_value" not in result:
        return None
    value = result["observed_value"]
    try:
        return json.dumps(value, default=str)[:500]
    except TypeError:
        return str(value)[:500]


class GxRunner:
    """One ephemeral GX context per runner; batches are validated one at a time.

    `settings`: how GX's own warehouse engine connects, the same as the warehouse reader's
    (DuckDB refuses two configurations of one file in a process; read-only lets two processes
    read it), except that PostgreSQL stays writable for GX's TEMP tables.
    """

    def __init__(self, settings: ConnectSettings = WAREHOUSE_DEFAULTS) -> None:
        self._settings = settings
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        _patch_gx_result_buffering()
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._counter = 0
        self._frame_definition: Any = None
        self._sql_sources: dict[str, Any] = {}
        self._secrets: set[str] = set()

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"

    def _suite(self, expectations: Sequence[Any]) -> Any:
        suite = self._gx.ExpectationSuite(name=self._name("suite"))
        for expectation in expectations:
            suite.add_expectation(
                expectation.copy() if hasattr(expectation, "copy") else expectation
            )
        return self._context.suites.add(suite)

    def frame_batch(self, frame: pd.DataFrame) -> Any:
        if self._frame_definition is None:
            source = self._context.data_sources.add_pandas("lookout_frames")
            asset = source.add_dataframe_asset("window")
            self._frame_definition = asset.add_batch_definition_whole_dataframe("all")
        return self._frame_definition.get_batch(batch_parameters={"dataframe": frame})

    def sql_batch(self, connection_string: str, query: str) -> Any:
        """A batch of a SQL query; one datasource (and connection pool) per warehouse."""
        source = self._sql_sources.get(connection_string)
        password = make_url(connection_string).password
        if password:
            self._secrets.add(str(password))
        if source is None:
            source = self._add_sql_source(connection_string)
        return self._query_batch(source, query)

    def _add_sql_source(self, connection_string: str) -> Any:
        settings = self._settings
        if _uses_temp_tables(connection_string):  # a read-only transaction refuses TEMP tables
            settings = replace(settings, read_only=False)
        try:
            url, options = engine_arguments(connection_string, settings)
            with warnings.catch_warnings():
                # "a more specific SqliteDatasource may be more appropriate": the generic one
                # is what works the same on DuckDB, SQLite and PostgreSQL.
                warnings.simplefilter("ignore")
                source = self._context.data_sources.add_sql(
                    self._name("sql"),
                    connection_string=url,
                    create_temp_table=_uses_temp_tables(connection_string),
                    kwargs={**_engine_options(connection_string), **options},
                )
        except Exception as exc:
            message = self._redact(f"{type(exc).__name__}: {exc}".splitlines()[0])[:500]
            raise CheckError(f"validation datasource failed: {message}") from None
        self._sql_sources[connection_string] = source
        return source

    def _query_batch(self, source: Any, query: str) -> Any:
        try:
            for stale in list(source.assets):  # one live query asset at a time
                source.delete_asset(stale.name)
            asset = source.add_query_asset(self._name("window"), query=query)
            return asset.add_batch_definition_whole_table("all").get_batch()
        except Exception as exc:
            dialect = ""
            with contextlib.suppress(Exception):
                dialect = source.get_engine().dialect.name
            explained = _timeout_in(exc, self._settings, dialect)
            message = explained or f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            raise CheckError(f"validation batch failed: {self._redact(message)}") from None

    def _redact(self, text: str) -> str:
        """GX error texts may quote a connection string: never store or show its password."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Close the warehouse connections GX opened (DuckDB allows one configuration per file):
        the datasource's engine and its execution engine's, which is another one."""
        for source in self._sql_sources.values():
            with contextlib.suppress(Exception):  # closing is best effort
                source.get_engine().dispose()
            with contextlib.suppress(Exception):
                source.get_execution_engine().engine.dispose()
        self._sql_sources.clear()

    def validate(
        self,
        batch: Any,
        expectations: Sequence[tuple[Any, Any]],
        *,
        release: str,
        path: str,
        rows: int,
    ) -> BatchResult:
        """`expectations`: (spec-like info, GX expectation) pairs; critical row-level ones
        are run with every failing record id, the rest with a few examples."""
        outcomes: list[ExpectationOutcome] = []
        quarantined: dict[str, list[str]] = {}
        critical = [(i, e) for i, e in expectations if i.severity == "critical"]
        others = [(i, e) for i, e in expectations if i.severity != "critical"]
        # GX's SQL path caps even COMPLETE id lists at partial_unexpected_count: ask for all.
        for group, result_format in (
            (critical, {"result_format": "COMPLETE", "partial_unexpected_count": max(rows, 1)}),
            (others, {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}),
        ):
            if not group:
                continue
            suite = self._suite([e for _, e in group])
            fmt = {**result_format, "unexpected_index_column_names": ["record_id"]}
            validation = batch.validate(suite, result_format=fmt)
            by_name = {i.name: i for i, _ in group}
            for result in validation.results:
                name = (result.expectation_config.meta or {}).get("lookout_name")
                info = by_name[name]
                outcome, failing = _outcome(info, result, release, path)
                if outcome.error:
                    outcome = replace(outcome, error=self._redact(outcome.error))
                outcomes.append(outcome)
                if info.severity == "critical" and outcome.status == "failed":
                    for record_id in failing:
                        quarantined.setdefault(record_id, []).append(info.name)
        _drop_temp_tables(batch)
        order = {i.name: n for n, (i, _) in enumerate(expectations)}
        outcomes.sort(key=lambda o: order[o.name])
        return BatchResult(outcomes, quarantined)


def _outcome(
    info: Any, result: Any, release: str, path: str
) -> tuple[ExpectationOutcome, list[str]]:
    data: Mapping[str, Any] = result.result or {}
    error = _raised(result.exception_info)
    failing = _ids(data.get("unexpected_index_list"), release) or _ids(
        data.get("partial_unexpected_index_list"), release
    )
    examples = tuple(
        (_ids(data.get("partial_unexpected_index_list"), release) or failing)[:EXAMPLES]
    )
    if error:
        status: Status = "error"
    else:
        status = "passed" if result.success else "failed"
    percent = data.get("unexpected_percent")
    return (
        ExpectationOutcome(
            name=info.name,
            kind=info.kind,
            column=info.column,
            severity=info.severity,
            release=release,
            status=status,
            element_count=data.get("element_count"),
            unexpected_count=data.get("unexpected_count"),
            unexpected_percent=None if percent is None else float(percent),
            observed=_observed(data),
            examples=examples,
            path=path,
            error=error,
        ),
        failing,
    )

"""`lookout init --table` for a table outside the default schema, on PostgreSQL and MariaDB
(where a schema is a database): `SCHEMA.TABLE` with mixed case as spelled or double-quoted as
psql writes it, read through SQLAlchemy's quoting; and, when the table is not there, one line
naming what is (the schema's tables, the schemas, the schema that holds a table of that name)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.fixtures.init_tables import load_requests, requests_frame
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors


def _init(tmp_path: Path, url: str, table: str):
    """init into `tmp_path/cfg` (wiped first: init keeps an existing profiles.yml)."""
    cfg = tmp_path / "cfg"
    for old in cfg.glob("*.yml"):
        old.unlink()
    args = ["init", "--table", table, "--warehouse-url", url, "--yes"]
    args += ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return " ".join(result.output[result.output.index("error:") :].split())


def _checks_against_the_table(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    args = ["validate-config", "--check-warehouse"]
    args += ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.fixture
def mixed_case_schema(pg_schema) -> tuple[str, str, str, str]:
    """(URL, lower-case schema, its table, a mixed-case schema holding "AgentLog")."""
    url, schema = pg_schema
    table = f"agent_log_{uuid.uuid4().hex[:6]}"  # unique: the test database is shared
    mixed = f"Obs{uuid.uuid4().hex[:6]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(mixed))
    try:
        load_requests(engine, requests_frame(hours=4), name=table, schema=schema, aware=True)
        load_requests(engine, requests_frame(hours=4), name="AgentLog", schema=mixed, aware=True)
        yield url, schema, table, mixed
    finally:
        with engine.begin() as conn:
            conn.execute(sa.schema.DropSchema(mixed, cascade=True))
        engine.dispose()


def test_postgresql_schema_dot_table_mixed_case_and_where_a_missing_table_is(
    tmp_path, mixed_case_schema
):
    url, schema, table, mixed = mixed_case_schema
    quoted = _init(tmp_path, url, f'"{mixed}"."AgentLog"')  # as psql spells mixed case
    assert quoted.exit_code == 0, quoted.output
    source = load_monitors(tmp_path / "cfg" / "monitors.yml").monitors[0].source
    assert (source.schema_, source.table) == (mixed, "AgentLog")
    _checks_against_the_table(tmp_path)
    plain = _init(tmp_path, url, f"{mixed}.AgentLog")  # the catalog's spelling, quoted for it
    assert plain.exit_code == 0, plain.output

    bare = _error(_init(tmp_path, url, table))  # the table is not in the default schema
    assert f"table {table!r} not found" in bare and "the default schema (public) holds" in bare
    assert f"a table {table!r} is in schema {schema}: pass --table {schema}.{table}" in bare
    wrong_case = _error(_init(tmp_path, url, f"{schema.upper()}.{table}"))
    assert f"there is no schema {schema.upper()!r} (did you mean {schema}?)" in wrong_case
    assert f"pass --table {schema}.{table}" in wrong_case
    missing = _error(_init(tmp_path, url, f"{mixed}.nope"))  # the schema's tables are listed
    assert f"table '{mixed}.nope' not found" in missing
    assert f"schema {mixed} holds AgentLog" in missing
    folded = _error(_init(tmp_path, url, f"{mixed}.agentlog"))
    assert "(did you mean AgentLog?)" in folded


@pytest.mark.mysql
def test_mariadb_database_dot_table_and_a_url_without_a_database(tmp_path, mysql_database):
    other = f"lk_obs_{uuid.uuid4().hex[:8]}"
    table = f"AgentLog{uuid.uuid4().hex[:6]}"  # unique: the server is shared
    admin = sa.create_engine(mysql_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{other}` CHARACTER SET utf8mb4"))
    try:
        load_requests(admin, requests_frame(hours=4), name=table, schema=other)
        found = _init(tmp_path, mysql_database, f"{other}.{table}")
        assert found.exit_code == 0, found.output
        source = load_monitors(tmp_path / "cfg" / "monitors.yml").monitors[0].source
        assert (source.schema_, source.table) == (other, table)
        _checks_against_the_table(tmp_path)

        no_database = sa.engine.make_url(mysql_database)._replace(database=None)
        server = no_database.render_as_string(hide_password=False)
        line = _error(_init(tmp_path, server, table))  # was: (1046, 'No database selected')
        assert "the URL names no database" in line
        assert f"a table {table!r} is in database {other}: pass --table {other}.{table}" in line
        here = _error(_init(tmp_path, mysql_database, table))
        assert "the default database" in here and "holds no tables" in here
        assert f"pass --table {other}.{table}" in here
        missing = _error(_init(tmp_path, mysql_database, f"{other}.{table.lower()}"))
        assert f"database {other} holds {table} (did you mean {table}?)" in missing
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{other}`"))
        admin.dispose()

"""profiles.yml: the store's and the warehouse's lock and statement timeouts, the monitor lock
wait and the warehouse's read-only switch; defaults, explicit values and bad values (named by
file, line, column and key path)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lookout.config.loader import load_profiles
from lookout.connections import ConnectSettings, engine_arguments
from lookout.errors import ConfigError

PROFILE = """\
target: t
outputs:
  t:
    warehouse:
      url: "duckdb:///wh.duckdb"
{warehouse}
    store:
      url: "{store_url}"
{store}
"""


def _load(tmp_path: Path, warehouse: str = "", store: str = "", url: str = "sqlite:///r.db"):
    path = tmp_path / "profiles.yml"
    path.write_text(PROFILE.format(warehouse=warehouse, store=store, store_url=url))
    return load_profiles(path)


def _issues(tmp_path: Path, **kwargs: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **kwargs)
    return [str(issue) for issue in info.value.issues]


def test_defaults_bound_every_wait_and_open_the_warehouse_read_only(tmp_path):
    target = _load(tmp_path)
    assert target.store.lock_timeout == timedelta(seconds=30)
    assert target.store.statement_timeout == timedelta(minutes=5)
    assert target.store.monitor_lock_timeout == timedelta(minutes=10)
    assert target.warehouse.read_only is True
    assert target.warehouse.lock_timeout == timedelta(minutes=5)
    assert target.warehouse.statement_timeout == timedelta(minutes=30)


def test_explicit_values_and_null(tmp_path):
    target = _load(
        tmp_path,
        warehouse="      read_only: false\n      statement_timeout: null",
        store="      lock_timeout: 10s\n      statement_timeout: 2m\n"
        "      monitor_lock_timeout: 1m",
    )
    assert target.store.settings == ConnectSettings(
        lock_timeout=timedelta(seconds=10), statement_timeout=timedelta(minutes=2), key="store"
    )
    assert target.store.monitor_lock_timeout == timedelta(minutes=1)
    assert target.warehouse.settings == ConnectSettings(
        read_only=False, lock_timeout=timedelta(minutes=5), key="warehouse"
    )


def test_bad_values_name_the_file_line_and_key(tmp_path):
    assert _issues(tmp_path, store="      lock_timeout: soon") == [
        "profiles.yml:9:7: outputs.t.store.lock_timeout: "
        "expected a duration like 30m, 1h or 1d, got 'soon'"
    ]
    assert _issues(tmp_path, store="      monitor_lock_timeout: 0s") == [
        "profiles.yml:9:7: outputs.t.store.monitor_lock_timeout: must be longer than zero (e.g. 1h)"
    ]
    assert _issues(tmp_path, warehouse="      statement_timeout: 0m") == [
        "profiles.yml:6:7: outputs.t.warehouse.statement_timeout: "
        "must be longer than zero (e.g. 1h)"
    ]
    # read-only is the warehouse's: the store is written
    [issue] = _issues(tmp_path, store="      read_only: true")
    assert issue.startswith("profiles.yml:9:7: outputs.t.store.read_only: ")
    [issue] = _issues(tmp_path, warehouse="      monitor_lock_timeout: 1m")
    assert issue.startswith("profiles.yml:6:7: outputs.t.warehouse.monitor_lock_timeout: ")


def test_a_postgres_driver_without_libpq_cannot_take_the_settings(tmp_path):
    url = "postgresql+pg8000://lookout:pw-never-shown@db/results"
    [issue] = _issues(tmp_path, url=url)
    assert issue.startswith("profiles.yml:7:5: outputs.t.store: ")
    assert "need a libpq driver (postgresql+psycopg://)" in issue
    assert "pw-never-shown" not in issue
    target = _load(
        tmp_path, store="      lock_timeout: null\n      statement_timeout: null", url=url
    )
    assert target.store.lock_timeout is None


def test_engine_arguments_per_dialect():
    settings = ConnectSettings(
        read_only=True,
        lock_timeout=timedelta(seconds=2),
        statement_timeout=timedelta(minutes=1),
        key="warehouse",
    )
    url, kwargs = engine_arguments(
        "postgresql+psycopg://u:p@h/db?options=-c%20search_path%3Dx", settings
    )
    assert url == "postgresql+psycopg://u:p@h/db?options=-c%20search_path%3Dx"
    assert kwargs == {
        "connect_args": {
            "options": "-c search_path=x -c lock_timeout=2000 -c statement_timeout=60000 "
            "-c default_transaction_read_only=on"
        }
    }
    assert engine_arguments("duckdb:////d/wh.duckdb", settings)[1] == {
        "connect_args": {"read_only": True}
    }
    assert engine_arguments("duckdb:///:memory:", settings)[1] == {}  # nothing to share
    url, kwargs = engine_arguments("sqlite:////d/my wh.sqlite", settings)
    assert url == "sqlite:///file:/d/my%20wh.sqlite?mode=ro&uri=true"
    assert kwargs == {"connect_args": {"timeout": 2.0}}
    assert engine_arguments("sqlite:////d/r.db?timeout=7", settings)[1] == {}  # the URL's wins

"""`map_exceptions`: a database error becomes our error, in one line that names what failed and
never carries a password."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lookout.errors import (
    ConfigError,
    LookoutError,
    SourceError,
    StoreError,
    database_error,
    map_exceptions,
    redact_urls,
)
from lookout.urls import ambiguous_url, display_url, url_secrets


def test_a_real_sqlite_error_becomes_a_store_error_naming_what_failed(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.sqlite'}")
    reading = map_exceptions("results store r.sqlite: reading alerts failed")
    with pytest.raises(StoreError) as caught, reading, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    engine.dispose()
    message = str(caught.value)
    assert message == (
        "results store r.sqlite: reading alerts failed: OperationalError: no such table: "
        "no_such_table"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_error_type_is_chosen_by_the_caller(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    expected = pytest.raises(SourceError, match=r"^warehouse w: read failed: OperationalError")
    reading = map_exceptions("warehouse w: read failed", SourceError)
    with expected, reading, engine.connect() as conn:
        conn.execute(sa.text("SELEC 1"))
    engine.dispose()


def test_a_password_in_the_driver_message_never_reaches_ours():
    driver = Exception(
        'connection to "postgresql://bob:hunter2@db.internal:5432/prod" failed; '
        "dsn host=db password=s3cr3t! user=bob"
    )
    wrapped = sa.exc.OperationalError("SELECT 1", {}, driver)
    reading = map_exceptions("warehouse db.internal: read failed", SourceError)
    with pytest.raises(SourceError) as caught, reading:
        raise wrapped
    message = str(caught.value)
    assert "hunter2" not in message and "s3cr3t" not in message
    assert "postgresql://bob:***@db.internal:5432/prod" in message
    assert "password=***" in message
    assert message.startswith("warehouse db.internal: read failed: Exception: connection to")


def test_named_secrets_are_redacted_too():
    error = database_error(
        sa.exc.DBAPIError("q", {}, Exception("token xoxb-123 refused")),
        "store",
        secrets=["xoxb-123", None],
    )
    assert isinstance(error, StoreError) and "xoxb-123" not in str(error)


def test_other_errors_pass_through_unchanged():
    issue = ConfigError([])
    with pytest.raises(ConfigError) as caught, map_exceptions("anything"):
        raise issue
    assert caught.value is issue
    with pytest.raises(KeyError), map_exceptions("anything"):
        raise KeyError("x")
    with pytest.raises(LookoutError, match=r"^already ours$"), map_exceptions("store"):
        raise StoreError("already ours")


def test_driver_errors_outside_sqlalchemy_are_mapped_when_named():
    class DriverError(Exception):
        pass

    expected = pytest.raises(SourceError, match=r"^warehouse: read failed: DriverError: boom$")
    with expected, map_exceptions("warehouse: read failed", SourceError, also=(DriverError,)):
        raise DriverError("boom\nsecond line never shown")


def test_map_exceptions_is_a_decorator_too(tmp_path):
    @map_exceptions("results store: count failed")
    def count() -> int:
        raise sa.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))

    with pytest.raises(StoreError, match="count failed: Exception: disk I/O error"):
        count()
    with pytest.raises(StoreError):  # a second call maps again (a fresh context each time)
        count()


def test_mysqls_access_denied_keeps_whether_a_password_was_sent():
    """`(using password: YES)` is the clue an on-call engineer needs (was one sent at all?);
    it was cut to `(using password: ***`, eating the closing quote and parenthesis."""
    text = "(1045, \"Access denied for user 'root'@'10.0.0.5' (using password: YES)\")"
    assert redact_urls(text) == text
    assert redact_urls("host=db password=s3cr3t user=x") == "host=db password=*** user=x"
    assert redact_urls("password: s3cr3t") == "password: ***"


def test_redact_urls_keeps_urls_without_a_password():
    text = "see https://example.org/runbook and sqlite:///tmp/x.sqlite"
    assert redact_urls(text) == text
    assert (
        redact_urls("mysql+pymysql://root:@127.0.0.1/test")
        == "mysql+pymysql://root:***@127.0.0.1/test"
    )


def test_a_password_with_an_unencoded_at_sign_is_redacted_whole():
    """`Zx@9%Tq#Pw`: SQLAlchemy reads the password as `Zx` and the rest as the host, so the
    driver's message about that host carried the rest of the password."""
    text = "warehouse mysql+pymysql://lk2:Zx@9%Tq#Pw@127.0.0.1:3306/db: cannot connect"
    assert (
        redact_urls(text) == "warehouse mysql+pymysql://lk2:***@127.0.0.1:3306/db: cannot connect"
    )


def test_a_url_shows_no_secret_of_its_query_and_gives_every_secret_to_redact():
    url = (
        "snowflake://me@acct/db/sch?private_key_file=/keys/me.p8&private_key_file_pwd=k3y!pw"
        "&warehouse=wh&token=t0ken"
    )
    shown = display_url(url)
    assert "k3y" not in shown and "t0ken" not in shown
    assert "private_key_file_pwd=***" in shown and "token=***" in shown
    assert "private_key_file=%2Fkeys%2Fme.p8" in shown and "warehouse=wh" in shown  # not secrets
    # as written in a URL (encoded) and as a driver would print it (decoded)
    assert set(url_secrets("mysql+pymysql://u:p%40ss@h/db?password=S3cr3t%21")) == {
        "p@ss",
        "p%40ss",
        "S3cr3t!",
        "S3cr3t%21",
    }
    assert url_secrets("duckdb:///wh.duckdb") == []


def test_an_ambiguous_url_is_named_without_quoting_it():
    problem = ambiguous_url("mysql+pymysql://lk2:Zx@9%Tq#Pw@127.0.0.1:3306/db")
    assert problem is not None and "%40" in problem
    assert "Tq" not in problem and "Zx" not in problem
    assert ambiguous_url("mysql+pymysql://lk2:Zx%409%25Tq%23Pw@127.0.0.1:3306/db") is None


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:sec@ret/part@h:5432/db",  # the tail becomes the database
        "postgresql://u:sec@ret?x@h/db",  # the tail becomes a query SQLAlchemy drops
        "mysql+pymysql://lk2:Zx@9%Tq#Pw@127.0.0.1:3306/db",  # the tail becomes the host
    ],
)
def test_a_password_whose_at_sign_is_not_encoded_is_refused_wherever_its_tail_lands(url):
    assert ambiguous_url(url) is not None


def test_query_secrets_of_other_drivers_are_masked_and_flags_are_not_secrets():
    odbc = "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BX%7D%3BUID%3Du%3BPWD%3Dt0psecret%3B"
    assert "t0psecret" not in display_url(odbc) and "t0psecret" in url_secrets(odbc)
    bigquery = "bigquery://proj/ds?credentials_base64=ZXlKaGJHY2lP"
    assert "ZXlK" not in display_url(bigquery) and "ZXlKaGJHY2lP" in url_secrets(bigquery)
    # a flag under a secret-sounding key: redacting "true" would blank every "true" in a text
    snowflake = "snowflake://me:p4ss@acct/db?client_store_temporary_credential=true"
    assert url_secrets(snowflake) == ["p4ss"]

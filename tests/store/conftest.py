"""The results store every repository test runs on: a SQLite file, and PostgreSQL."""

from __future__ import annotations

import pytest

from lookout.store import ResultsStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    else:
        url = request.getfixturevalue("pg_database")
    results = ResultsStore(url)
    yield results
    results.dispose()

"""The scheduling hint in conftest names modules that exist (a rename must not silently put
the longest test last again)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_MODULES

ROOT = Path(__file__).resolve().parents[1]
SERVER_IDS = {"postgresql", "postgres", "pg", "mysql", "mariadb", "clickhouse", "snowflake"}


def test_every_module_named_longest_first_exists():
    missing = [module for module in LONGEST_MODULES if not (ROOT / module).is_file()]
    assert missing == []


def test_each_test_gets_the_tier_of_what_it_needs(request):
    """The tier marks (`pytest -m unit`): a test's folder, marks and fixtures decide it, and
    every collected test has exactly one."""
    items = {item.nodeid: item for item in request.session.items}
    tiers = {
        nodeid: [m.name for m in item.iter_markers() if m.name in ("unit", "integration", "e2e")]
        for nodeid, item in items.items()
    }
    assert all(len(found) == 1 for found in tiers.values())
    assert tiers[request.node.nodeid] == ["unit"]  # this one needs nothing
    for nodeid, found in tiers.items():
        marks = {m.name for m in items[nodeid].iter_markers()}
        if nodeid.startswith(("tests/e2e/", "tests/demo/")) or marks & {"prefect", "slow"}:
            assert found == ["e2e"], nodeid
        elif marks & {"postgres", "mysql", "clickhouse", "snowflake"}:
            assert found == ["integration"], nodeid  # e.g. every `[postgresql]` engine case
        # the other way round: a case named after a server engine (a fixture that asks for
        # its server at run time) carries its mark, so `-m unit` never needs a server
        if found == ["unit"] and "[" in nodeid:
            ids = set(nodeid.rsplit("[", 1)[1].rstrip("]").split("-"))
            assert not ids & SERVER_IDS, nodeid

"""The scheduling hint in conftest names modules that exist (a rename must not silently put
the longest test last again)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_MODULES

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_named_longest_first_exists():
    missing = [module for module in LONGEST_MODULES if not (ROOT / module).is_file()]
    assert missing == []

"""Fixtures for the command tests: the fake OpenAI-compatible judge endpoint (`lookout eval`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fake_openai import FakeOpenAI, fake_openai_server


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh fake judge endpoint on 127.0.0.1 per test."""
    with fake_openai_server() as fake:
        yield fake

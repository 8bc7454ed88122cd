"""Fixtures for the evaluator tests: the fake OpenAI-compatible judge endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fake_openai import FakeOpenAI, fake_openai_server

from lookout.checks.evaluators.judge_client import JudgeSettings


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh fake judge endpoint on 127.0.0.1 per test (no latency unless a test sets it)."""
    with fake_openai_server() as fake:
        yield fake


@pytest.fixture
def judge_settings(fake_openai: FakeOpenAI) -> JudgeSettings:
    """Settings pointing at the fake, with short timeouts so failure paths stay fast."""
    return JudgeSettings(
        base_url=fake_openai.base_url,
        model="fake-judge",
        api_key=fake_openai.api_key,
        concurrency=4,
        timeout_s=2.0,
        max_retries=2,
    )

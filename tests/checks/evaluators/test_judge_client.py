"""The judge client through the real openai SDK against the fake endpoint on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
from collections.abc import Sequence

import pytest
from pydantic import SecretStr
from tests.fake_openai import FakeOpenAI, Scripted

from lookout.checks.evaluators.judge_client import (
    REPAIR_PROMPT,
    JudgeClient,
    JudgeError,
    JudgeReply,
    JudgeSettings,
    ModelPrice,
    RateLimiter,
    cost_usd,
)

MESSAGES = [
    {"role": "system", "content": "judge"},
    {
        "role": "user",
        "content": "<<<CONTEXT\nthe sky is blue\nCONTEXT>>>\n<<<OUTPUT\nblue\nOUTPUT>>>",
    },
]


def judge(client: JudgeClient, times: int = 1) -> list[JudgeReply]:
    """Run `times` judge calls concurrently in a fresh loop, closing the pool after."""

    async def run() -> list[JudgeReply]:
        try:
            return list(await asyncio.gather(*(client.judge(MESSAGES) for _ in range(times))))
        finally:
            await client.aclose()

    return asyncio.run(run())


def judge_error(client: JudgeClient) -> JudgeError:
    with pytest.raises(JudgeError) as info:
        judge(client)
    return info.value


def with_(settings: JudgeSettings, **changes: object) -> JudgeSettings:
    return dataclasses.replace(settings, **changes)


# --------------------------------------------------------------------------- rate limiter (pure)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_spaces_requests_evenly() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, clock=clock)  # one per second
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(1.0)
    assert limiter.reserve() == pytest.approx(2.0)  # booked in advance, behind the others
    clock.now += 10  # idle: the bucket refills, but only up to the burst
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(1.0)


def test_rate_limiter_burst_then_steady_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=120, burst=3, clock=clock)  # 2/s, bursts of 3
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve() == pytest.approx(0.5)
    clock.now += 0.25
    assert limiter.reserve() == pytest.approx(0.75)


def test_rate_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0)
    with pytest.raises(ValueError):
        JudgeSettings(base_url="http://x", model="m", concurrency=0)


def test_cost_from_price_table() -> None:
    assert cost_usd(ModelPrice(2.0, 8.0), 1_000_000, 500_000) == pytest.approx(6.0)
    assert cost_usd(None, 10, 10) == 0.0


# --------------------------------------------------------------------------- happy path


def test_structured_request_and_parsed_reply(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    (reply,) = judge(JudgeClient(judge_settings))
    assert reply.verdict.score == 1.0 and reply.verdict.label == "pass"
    assert reply.requests == 1 and not reply.repaired
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert reply.latency_ms > 0
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    body = request.body or {}
    assert body["model"] == "fake-judge"
    assert body["temperature"] == 0.0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == [
        "reason",
        "score",
        "label",
    ]


def test_cost_uses_the_price_table_and_usage(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.usage = (1000, 200)
    priced = with_(judge_settings, prices={"fake-judge": ModelPrice(2.0, 8.0)})
    (reply,) = judge(JudgeClient(priced))
    assert (reply.prompt_tokens, reply.completion_tokens) == (1000, 200)
    assert reply.cost_usd == pytest.approx(1000 * 2.0 / 1e6 + 200 * 8.0 / 1e6)
    # a model missing from the table costs 0 (and is warned about, once)
    (unpriced,) = judge(JudgeClient(with_(judge_settings, prices={"other": ModelPrice(1, 1)})))
    assert unpriced.cost_usd == 0.0


# --------------------------------------------------------------------------- retries (SDK)


def test_429_waits_for_retry_after(fake_openai: FakeOpenAI, judge_settings: JudgeSettings) -> None:
    fake_openai.reply(Scripted(status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    (reply,) = judge(JudgeClient(judge_settings))
    elapsed = time.monotonic() - started
    assert reply.verdict.label == "pass"
    assert len(fake_openai.requests) == 2
    assert elapsed >= 1.0
    assert fake_openai.requests[1].at - fake_openai.requests[0].at >= 1.0


def test_500_then_success(fake_openai: FakeOpenAI, judge_settings: JudgeSettings) -> None:
    fake_openai.reply(Scripted(status=500))
    (reply,) = judge(JudgeClient(judge_settings))
    assert reply.verdict.score == 1.0
    assert len(fake_openai.requests) == 2


def test_timeout_then_success(fake_openai: FakeOpenAI, judge_settings: JudgeSettings) -> None:
    fake_openai.reply(Scripted(delay=2.0, content='{"score": 0, "label": "fail"}'))
    started = time.monotonic()
    (reply,) = judge(JudgeClient(with_(judge_settings, timeout_s=0.3)))
    assert time.monotonic() - started >= 0.3
    assert reply.verdict.label == "pass"  # the retry's answer, not the hung one
    assert len(fake_openai.requests) == 2


def test_retries_exhausted_is_a_short_error(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reply(Scripted(status=503), Scripted(status=503))
    error = judge_error(JudgeClient(with_(judge_settings, max_retries=1)))
    assert error.reason == "judge endpoint answered HTTP 503: scripted HTTP 503"
    assert len(fake_openai.requests) == 2


def test_unreachable_endpoint(judge_settings: JudgeSettings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nothing listens
    settings = with_(judge_settings, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    assert judge_error(JudgeClient(settings)).reason.startswith("cannot reach the judge endpoint")


# --------------------------------------------------------------------------- parsing + repair


def test_malformed_reply_is_repaired_once(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reply(
        Scripted(content="The response looks grounded to me."),
        Scripted(content='```json\n{"reason": "fixed", "score": "0.75", "label": "PASS"}\n```'),
    )
    (reply,) = judge(JudgeClient(judge_settings))
    assert reply.repaired and reply.requests == 2
    assert reply.verdict.score == 0.75 and reply.verdict.reason == "fixed"
    repair = (fake_openai.requests[1].body or {})["messages"]
    assert repair[:2] == MESSAGES
    assert repair[2] == {"role": "assistant", "content": "The response looks grounded to me."}
    assert repair[3]["content"].startswith(REPAIR_PROMPT.split("(")[0])
    # both requests are paid for
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0


def test_second_malformed_reply_is_an_error(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.usage = (100, 10)
    fake_openai.reply(Scripted(content="nope"), Scripted(content='{"score": "very good"}'))
    error = judge_error(JudgeClient(with_(judge_settings, prices={"fake-judge": ModelPrice(1, 1)})))
    assert error.reason == "unreadable judge reply after one repair: score is not a number"
    assert len(fake_openai.requests) == 2
    assert (error.prompt_tokens, error.completion_tokens) == (200, 20)
    assert error.cost_usd == pytest.approx(220 / 1e6)


def test_no_choices_is_treated_as_an_empty_reply(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reply(Scripted(body=json.dumps({"id": "x", "object": "chat.completion"})))
    (reply,) = judge(JudgeClient(judge_settings))
    assert reply.repaired


def test_a_body_that_is_not_json_gets_the_repair(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reply(Scripted(body="<html>502 Bad Gateway</html>"))
    (reply,) = judge(JudgeClient(judge_settings))
    assert reply.repaired and reply.verdict.label == "pass"


# --------------------------------------------------------------------------- structured output


def test_400_on_response_format_falls_back_to_plain_and_remembers(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reject_response_format = True
    client = JudgeClient(judge_settings)
    (first,) = judge(client)
    assert first.verdict.label == "pass" and first.requests == 2
    assert [("response_format" in (r.body or {})) for r in fake_openai.requests] == [True, False]
    assert client.structured_output is False
    (second,) = judge(client)  # a later run on the same client goes straight to plain
    assert second.requests == 1
    assert "response_format" not in (fake_openai.requests[2].body or {})


def test_422_on_response_format_also_falls_back(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reply(Scripted(status=422))
    client = JudgeClient(judge_settings)
    (reply,) = judge(client)
    assert reply.requests == 2 and client.structured_output is False


def test_400_for_another_reason_keeps_structured_output(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.reply(Scripted(status=400), Scripted(status=400))
    client = JudgeClient(judge_settings)
    error = judge_error(client)
    assert error.reason.startswith("judge endpoint answered HTTP 400")
    assert client.structured_output is True


# --------------------------------------------------------------------------- limits


def test_concurrency_limit_holds(fake_openai: FakeOpenAI, judge_settings: JudgeSettings) -> None:
    fake_openai.latency = 0.1
    replies = judge(JudgeClient(with_(judge_settings, concurrency=3)), times=12)
    assert len(replies) == 12
    assert fake_openai.max_in_flight == 3


def test_fake_endpoint_serves_32_requests_at_once(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    fake_openai.latency = 0.2
    judge(JudgeClient(with_(judge_settings, concurrency=32)), times=64)
    # counted by the server, not timed: a busy machine cannot make this pass or fail
    assert fake_openai.max_in_flight == 32
    assert len(fake_openai.requests) == 64


def test_rpm_limit_holds(fake_openai: FakeOpenAI, judge_settings: JudgeSettings) -> None:
    """The client waits what its limiter books before each request (the limiter's arithmetic
    on a moving clock is tested above). Its clock is frozen here, so the bookings are exactly
    0, 0.1, ... 0.4 s whatever the machine's load, and no request can reach the server before
    its slot: arrivals are bounded from below by the start, never compared with each other
    (a late first request made the gaps after it look short on a busy machine)."""
    client = JudgeClient(with_(judge_settings, rpm=600, concurrency=8))  # one per 0.1 s
    assert client.limiter is not None and client.limiter.rate == 10.0  # rpm 600: 10 a second
    client.limiter = RateLimiter(per_minute=600, clock=lambda: 0.0)
    booked: list[float] = []
    reserve = client.limiter.reserve
    client.limiter.reserve = lambda: booked.append(reserve()) or booked[-1]  # type: ignore[method-assign]
    started = time.monotonic()
    judge(client, times=5)
    assert booked == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    arrivals = sorted(r.at for r in fake_openai.requests)
    assert len(arrivals) == 5
    for slot, at in zip(sorted(booked), arrivals, strict=True):
        assert at >= started + slot


# --------------------------------------------------------------------------- secrets


def test_api_key_never_leaks(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "sk-live-DO-NOT-LEAK-9f8e7d6c5b4a"
    settings = with_(judge_settings, api_key=wrong_key)
    client = JudgeClient(settings)
    caplog.set_level(logging.DEBUG)
    error = judge_error(client)  # the fake answers 401 and echoes the key it was sent
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {wrong_key}"
    assert error.reason.startswith("judge endpoint answered HTTP 401")
    assert "[redacted]" in error.reason
    texts: Sequence[str] = (
        str(error),
        repr(error),
        error.reason,
        repr(settings),
        str(settings),
        repr(client),
        caplog.text,
    )
    for text in texts:
        assert wrong_key not in text
    assert error.__cause__ is None and error.__suppress_context__


def test_api_key_as_a_secret_wrapper(
    fake_openai: FakeOpenAI, judge_settings: JudgeSettings
) -> None:
    settings = with_(judge_settings, api_key=SecretStr(fake_openai.api_key))
    (reply,) = judge(JudgeClient(settings))
    assert reply.verdict.label == "pass"
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {fake_openai.api_key}"
    assert fake_openai.api_key not in repr(settings)

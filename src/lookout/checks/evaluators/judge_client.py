"""Async client for LLM judges over any OpenAI-compatible chat-completions endpoint.

Why the `openai` SDK rather than httpx + tenacity: its own retry loop already does what a judge
needs. Checked in its source (`openai._base_client`, openai 3.57 as installed): it retries
timeouts, connection errors, 408/409/429 and 5xx (`max_retries` times) with exponential
backoff (0.5 s doubling, capped at 8 s, minus up to 25% jitter), and waits a server's
`retry-after-ms` / `Retry-After` (seconds, or an HTTP date) when it is in (0, 120] s; a longer
Retry-After is not waited out: the request fails at once ("HTTP 429" error). Older releases
(1.x) honour it only up to 60 s and fall back to the backoff above it. It also speaks every
OpenAI-compatible server (vLLM, Ollama, LiteLLM, Azure proxies).

What this module adds on top:
- structured output (`response_format` json_schema) first; a server that rejects it with 400
  (or 422) gets the same request in plain prompting, and if that succeeds the client
  remembers it and prompts plainly from then on;
- tolerant parsing (`judge_parsing`) and ONE repair request that sends an unreadable reply
  back and asks for the JSON object only; a readable but invalid verdict (a score outside
  [0, 1]) is a JudgeError at once: asking again would only let the model pick an answer;
- a concurrency limit (asyncio.Semaphore, per event loop) and a requests-per-minute limit
  (`RateLimiter`, a token bucket shared by every loop and thread that uses the client);
- tokens from the reply's `usage`, USD from a price table, latency per judgment;
- the API key never reaches a log line, an exception, a reason or a repr: error texts from the
  server are shortened and scrubbed of it.

The SDK's own retries are not re-throttled by the rpm limiter: after a 429 the server's
Retry-After decides. The HTTP pool keeps one keep-alive connection per concurrency slot, so
a full pipeline never waits for a connection or reconnects.

This module sends requests and keeps the client's state; the settings and prices are in
`judge_settings`, the rate limiter and pool limits in `judge_limits`, the request bodies in
`judge_requests` and reading replies and errors in `judge_replies` (its names are re-exported
here).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import openai

from lookout.checks.evaluators.judge_limits import RateLimiter, pool_limits
from lookout.checks.evaluators.judge_parsing import InvalidVerdict, ParseError, parse_verdict
from lookout.checks.evaluators.judge_replies import (
    JudgeError,
    JudgeReply,
    describe_error,
    reply_content,
    reply_field,
    token_count,
)
from lookout.checks.evaluators.judge_requests import (
    REPAIR_PROMPT,
    RESPONSE_FORMAT,
    VERDICT_SCHEMA,
    Message,
    chat_request,
    repair_messages,
)
from lookout.checks.evaluators.judge_settings import (
    JudgeSettings,
    ModelPrice,
    PriceLike,
    SecretLike,
    cost_usd,
    redact_key,
    secret_value,
)

__all__ = [
    "REPAIR_PROMPT",
    "RESPONSE_FORMAT",
    "VERDICT_SCHEMA",
    "JudgeClient",
    "JudgeError",
    "JudgeReply",
    "JudgeSettings",
    "Message",
    "ModelPrice",
    "PriceLike",
    "RateLimiter",
    "SecretLike",
    "cost_usd",
    "pool_limits",
]

log = logging.getLogger(__name__)


@dataclass
class _Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0


@dataclass
class _LoopState:
    """What is bound to one event loop: the SDK client (its connection pool) and the semaphore."""

    api: openai.AsyncOpenAI
    semaphore: asyncio.Semaphore


class JudgeClient:
    """Sends judge prompts and returns parsed verdicts. Long-lived and shareable.

    Thread-safe: resources bound to an event loop are made per loop on first use; call
    `aclose()` in that loop when done with it. The structured-output fallback and the rpm
    limiter are shared by every loop.
    """

    def __init__(
        self,
        settings: JudgeSettings,
        throttle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.rpm) if settings.rpm else None
        # an outside limiter shared across processes (a Prefect rate limit), awaited per request
        self.throttle = throttle
        self._structured = settings.structured_output
        self._lock = threading.Lock()
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self._warned_price = False

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"JudgeClient(base_url={s.base_url!r}, model={s.model!r}, "
            f"concurrency={s.concurrency}, rpm={s.rpm}, structured={self._structured})"
        )

    @property
    def structured_output(self) -> bool:
        """Whether requests still ask for json_schema structured output."""
        return self._structured

    async def judge(self, messages: Sequence[Message]) -> JudgeReply:
        """One verdict: a request, and one repair request if the reply cannot be parsed."""
        state = self._state()
        usage = _Usage()
        async with state.semaphore:
            started = time.perf_counter()
            try:
                content = await self._complete(state, messages, usage)
                repaired = False
                try:
                    verdict = parse_verdict(content)
                except ParseError as first:
                    repaired = True
                    repair = repair_messages(messages, content, first)
                    content = await self._complete(state, repair, usage)
                    try:
                        verdict = parse_verdict(content)
                    except ParseError as second:
                        raise self._error(
                            f"unreadable judge reply after one repair: {second}", usage, started
                        ) from None
            except InvalidVerdict as exc:
                raise self._error(f"invalid judge verdict: {exc}", usage, started) from None
            except openai.APIError as exc:
                raise self._error(describe_error(exc, self.settings), usage, started) from None
            latency_ms = (time.perf_counter() - started) * 1000.0
        return JudgeReply(
            verdict=verdict,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            latency_ms=latency_ms,
            requests=usage.requests,
            repaired=repaired,
        )

    async def aclose(self) -> None:
        """Close this event loop's connection pool (the client stays usable elsewhere)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._loops.pop(loop, None)
        if state is not None:
            await state.api.close()

    # ------------------------------------------------------------------ internals

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._loops.get(loop)
            if state is None:
                # forget loops closed without aclose() (their pools died with them)
                for old in [old for old in self._loops if old.is_closed()]:
                    del self._loops[old]
                state = _LoopState(self._make_api(), asyncio.Semaphore(self.settings.concurrency))
                self._loops[loop] = state
            return state

    def _make_api(self) -> openai.AsyncOpenAI:
        s = self.settings
        kwargs: dict[str, Any] = {}
        limits = pool_limits(s.concurrency)
        if limits is not None:
            kwargs["http_client"] = openai.DefaultAsyncHttpxClient(
                limits=limits, timeout=s.timeout_s
            )
        return openai.AsyncOpenAI(
            base_url=s.base_url,
            # local servers (vLLM, Ollama) need no key, but the SDK insists on one
            api_key=secret_value(s.api_key) or "no-key",
            max_retries=s.max_retries,
            timeout=s.timeout_s,
            **kwargs,
        )

    async def _complete(
        self, state: _LoopState, messages: Sequence[Message], usage: _Usage
    ) -> str | None:
        """One chat completion (two if the server rejects structured output)."""
        s = self.settings
        request = chat_request(s, messages)
        if self._structured:
            await self._throttle()
            try:
                response = await self._post(state, {**request, "response_format": RESPONSE_FORMAT})
            except (openai.BadRequestError, openai.UnprocessableEntityError):
                # 400 (OpenAI, vLLM) or 422 (some proxies): retry once in plain prompting
                await self._throttle()
                response = await self._post(state, request)
                if self._structured:
                    self._structured = False
                    log.info(
                        "judge endpoint %s rejects response_format json_schema for %s; "
                        "prompting for JSON instead",
                        s.base_url,
                        s.model,
                    )
                usage.requests += 1  # the rejected request
        else:
            await self._throttle()
            response = await self._post(state, request)
        usage.requests += 1
        self._book(response, usage)
        return reply_content(response)  # None -> "empty reply" -> the repair request

    @staticmethod
    async def _post(state: _LoopState, body: dict[str, Any]) -> object:
        """POST /chat/completions through the SDK's request path (retries, error mapping).

        `client.post` is the SDK's documented way to make custom requests. It skips what a
        judge does not need and costs CPU in the one event loop that drives every request
        (measured with bench_judges.py): `chat.completions.create`'s typed-params transform
        (it walks every message against TypedDict annotations: ~1-2 ms per call, ~15% of the
        endpoint's capacity at 160 req/s) and building a pydantic ChatCompletion from the
        reply (`cast_to=object` returns the parsed JSON as is). We read three fields.
        """
        try:
            return await state.api.post("/chat/completions", body=body, cast_to=object)
        except ValueError:  # a 2xx body that is not JSON: treated as an empty reply
            return None

    async def _throttle(self) -> None:
        if self.limiter is not None:
            await self.limiter.acquire()
        if self.throttle is not None:
            await self.throttle()

    def _book(self, response: object, usage: _Usage) -> None:
        used = reply_field(response, "usage")
        prompt = token_count(reply_field(used, "prompt_tokens"))
        completion = token_count(reply_field(used, "completion_tokens"))
        usage.prompt_tokens += prompt
        usage.completion_tokens += completion
        served = reply_field(response, "model")
        price = self._price(served if isinstance(served, str) else None)
        if price is None and (prompt or completion) and not self._warned_price:
            self._warned_price = True
            log.warning(
                "no price for judge model %s: its cost counts as 0 USD", self.settings.model
            )
        usage.cost_usd += cost_usd(price, prompt, completion)

    def _price(self, served_model: str | None) -> PriceLike | None:
        """The price of the requested model, else of the model the server says it served."""
        prices = self.settings.prices
        return prices.get(self.settings.model) or (
            prices.get(served_model) if served_model else None
        )

    def _error(self, reason: str, usage: _Usage, started: float) -> JudgeError:
        return JudgeError(
            redact_key(reason, self.settings.api_key),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

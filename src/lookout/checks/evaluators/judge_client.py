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
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai

from lookout.checks.evaluators.judge_parsing import (
    InvalidVerdict,
    ParseError,
    Verdict,
    parse_verdict,
)

__all__ = [
    "JudgeClient",
    "JudgeError",
    "JudgeReply",
    "JudgeSettings",
    "ModelPrice",
    "RateLimiter",
    "cost_usd",
]

log = logging.getLogger(__name__)

Message = Mapping[str, str]

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string"},
        "score": {"type": "number"},
        "label": {"type": "string", "enum": ["pass", "fail"]},
    },
    "required": ["reason", "score", "label"],
    "additionalProperties": False,
}
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "judge_verdict", "strict": True, "schema": VERDICT_SCHEMA},
}
REPAIR_PROMPT = (
    "Your previous reply could not be read ({problem}). Reply again with only the JSON object "
    '{{"reason": "...", "score": <number from 0 to 1>, "label": "pass" or "fail"}} '
    "and nothing else."
)
_MAX_ERROR_CHARS = 160


class SecretLike(Protocol):
    def get_secret_value(self) -> str: ...


def _secret(value: str | SecretLike | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return value.get_secret_value() or None


class PriceLike(Protocol):
    """USD per 1M tokens (config's `Price` fits, so does `ModelPrice`)."""

    input_per_1m: float
    output_per_1m: float


@dataclass(frozen=True)
class ModelPrice:
    input_per_1m: float
    output_per_1m: float


def cost_usd(price: PriceLike | None, prompt_tokens: int, completion_tokens: int) -> float:
    """USD of one call; 0.0 when the model has no price."""
    if price is None:
        return 0.0
    return (prompt_tokens * price.input_per_1m + completion_tokens * price.output_per_1m) / 1e6


@dataclass(frozen=True)
class JudgeSettings:
    """Where and how to call the judge model.

    `api_key` may be a plain string or a secret wrapper with `get_secret_value()` (pydantic's
    SecretStr, as in the config); it is kept out of the repr either way.
    """

    base_url: str
    model: str
    api_key: str | SecretLike | None = field(default=None, repr=False)
    concurrency: int = 8  # requests in flight at once (per event loop)
    rpm: float | None = None  # requests per minute across the client; None = unlimited
    timeout_s: float = 60.0  # per HTTP attempt
    max_retries: int = 3  # SDK retries on 429/5xx/timeouts/connection errors
    prices: Mapping[str, PriceLike] = field(default_factory=dict, hash=False)
    temperature: float | None = 0.0  # None: not sent (some reasoning models reject it)
    max_tokens: int | None = 512  # None: not sent
    structured_output: bool = True  # try response_format json_schema first

    def __post_init__(self) -> None:
        if not self.base_url or not self.model:
            raise ValueError("a judge needs base_url and model")
        if self.concurrency < 1:
            raise ValueError("judge concurrency must be at least 1")
        if self.rpm is not None and self.rpm <= 0:
            raise ValueError("judge rpm must be positive (or unset)")
        if self.timeout_s <= 0:
            raise ValueError("judge timeout_s must be positive")
        if self.max_retries < 0:
            raise ValueError("judge max_retries must be 0 or more")


class RateLimiter:
    """Token bucket in requests per minute: `reserve()` books a slot and says how long to wait.

    Pure and thread-safe (a clock and a lock, no event loop), so one limiter serves every loop
    and thread using the client. burst=1 spaces requests evenly at 60/rpm seconds, so no
    60-second window ever holds more than rpm + 1 requests.
    """

    def __init__(
        self, per_minute: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limiter needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token (possibly in advance); seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class JudgeReply:
    """A parsed verdict with what it took: tokens, USD and wall time (retries and repair in)."""

    verdict: Verdict
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    requests: int  # chat requests made: 1, or 2 after a repair (SDK retries not counted)
    repaired: bool


class JudgeError(Exception):
    """The judge could not give a verdict. The message is short and holds no secret; the usage
    spent before failing is kept so it can still be booked."""

    def __init__(
        self,
        reason: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float = 0.0,
        latency_ms: float = 0.0,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cost_usd = cost_usd
        self.latency_ms = latency_ms


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
                    repair = [
                        *messages,
                        {"role": "assistant", "content": content or ""},
                        {"role": "user", "content": REPAIR_PROMPT.format(problem=first)},
                    ]
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
                raise self._error(self._describe(exc), usage, started) from None
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
            api_key=_secret(s.api_key) or "no-key",
            max_retries=s.max_retries,
            timeout=s.timeout_s,
            **kwargs,
        )

    async def _complete(
        self, state: _LoopState, messages: Sequence[Message], usage: _Usage
    ) -> str | None:
        """One chat completion (two if the server rejects structured output)."""
        s = self.settings
        request: dict[str, Any] = {"model": s.model, "messages": list(messages)}
        if s.temperature is not None:
            request["temperature"] = s.temperature
        if s.max_tokens is not None:
            request["max_tokens"] = s.max_tokens
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
        return _content(response)  # None -> "empty reply" -> the repair request

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
        used = _get(response, "usage")
        prompt = _count(_get(used, "prompt_tokens"))
        completion = _count(_get(used, "completion_tokens"))
        usage.prompt_tokens += prompt
        usage.completion_tokens += completion
        served = _get(response, "model")
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
            self._redact(reason),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

    def _describe(self, exc: openai.APIError) -> str:
        """A short, secret-free account of an SDK error (after its retries)."""
        retries = self.settings.max_retries
        if isinstance(exc, openai.APITimeoutError):
            return f"judge request timed out after {self.settings.timeout_s:g}s ({retries} retries)"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach the judge endpoint ({retries} retries)"
        if isinstance(exc, openai.APIStatusError):
            detail = _short(_error_message(exc.body) or exc.__class__.__name__)
            return f"judge endpoint answered HTTP {exc.status_code}: {detail}"
        return f"judge request failed: {exc.__class__.__name__}"

    def _redact(self, text: str) -> str:
        key = _secret(self.settings.api_key)
        if key and len(key) >= 4:
            text = text.replace(key, "[redacted]")
        return text


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, Mapping) else None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _content(response: object) -> str | None:
    """choices[0].message.content of a chat.completion body; None for any other shape."""
    choices = _get(response, "choices")
    if not isinstance(choices, list) or not choices:
        return None
    content = _get(_get(choices[0], "message"), "content")
    return content if isinstance(content, str) else None


def _error_message(body: object) -> str | None:
    """The `error.message` of an OpenAI-style error body, or a plain string body."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            return str(message) if message else None
        return str(inner) if inner else None
    return str(body) if body else None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


def pool_limits(concurrency: int) -> Any:
    """Connection-pool limits of the HTTP library the installed SDK is built on.

    openai 1.x/2.x is built on httpx, 3.x on httpx2: the Limits object must come from the same
    library as the SDK's client class, so it is looked up from that class. None (SDK defaults:
    1000 connections, 100 kept alive) if it cannot be found.
    """
    for cls in getattr(openai, "DefaultAsyncHttpxClient", type).__mro__:
        module = sys.modules.get(cls.__module__.split(".")[0])
        limits = getattr(module, "Limits", None)
        if cls.__name__ == "AsyncClient" and limits is not None:
            slots = max(1, concurrency)
            return limits(
                max_connections=max(slots * 2, 10),
                max_keepalive_connections=slots,
                keepalive_expiry=30.0,
            )
    return None

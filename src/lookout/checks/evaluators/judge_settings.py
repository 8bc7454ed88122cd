"""What a judge client is configured with: the endpoint, model, limits and prices.

Plain data with checks on construction (no I/O, no SDK): the API key is kept out of every
repr, and a model's price turns a reply's token counts into USD (`cost_usd`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "JudgeSettings",
    "ModelPrice",
    "PriceLike",
    "SecretLike",
    "cost_usd",
    "redact_key",
    "secret_value",
]


class SecretLike(Protocol):
    def get_secret_value(self) -> str: ...


def secret_value(value: str | SecretLike | None) -> str | None:
    """The plain text of a key given as a string or a secret wrapper; None when empty."""
    if value is None or isinstance(value, str):
        return value or None
    return value.get_secret_value() or None


def redact_key(text: str, api_key: str | SecretLike | None) -> str:
    """`text` with the API key (4 characters or more) replaced by `[redacted]`."""
    key = secret_value(api_key)
    if key and len(key) >= 4:
        text = text.replace(key, "[redacted]")
    return text


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

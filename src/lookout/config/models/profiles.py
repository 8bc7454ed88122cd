"""profiles.yml: the LLM judge endpoint, Prefect limits, a whole target and the file."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from lookout.config.models.base import Model, Price
from lookout.config.models.channels import EmailTarget, PagerDutyTarget, SlackTarget
from lookout.config.models.databases import StoreTarget, WarehouseTarget

__all__ = ["JudgeTarget", "PrefectLimits", "ProfilesFile", "Target"]


class JudgeTarget(Model):
    """An OpenAI-compatible chat endpoint for LLM judges (used by the evaluator stage)."""

    base_url: str | None = Field(
        default=None,
        description="the endpoint's base URL (https://api.openai.com/v1, a vLLM, Ollama or "
        "LiteLLM server...); null: no LLM judges",
    )
    model: str | None = Field(default=None, description="the model name sent with each request")
    api_key: SecretStr | None = Field(
        default=None, description="the endpoint's key; empty for servers that need none"
    )
    concurrency: int = Field(default=8, ge=1, description="requests in flight at once")
    rpm: float | None = Field(default=None, gt=0, description="requests per minute; null: no cap")
    timeout_s: float = Field(default=60.0, gt=0, description="per HTTP attempt")
    max_retries: int = Field(default=3, ge=0, description="on 429 (Retry-After), 5xx, timeouts")
    prices: dict[str, Price] = Field(default={}, description="model -> USD per 1M tokens")
    temperature: float | None = Field(
        default=0.0, description="null: not sent (some reasoning models refuse it)"
    )
    max_tokens: int | None = Field(
        default=512, description="the longest reply asked for; null: not sent"
    )
    structured_output: bool = Field(
        default=True, description="ask for a JSON schema reply; falls back when refused"
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value


class PrefectLimits(Model):
    """Prefect global concurrency limits Lookout takes a slot of, when named (create them with
    `prefect gcl create`); shared by every flow run and worker using the same Prefect API."""

    warehouse: str | None = Field(
        default=None, description="one slot per window run (caps warehouse load)"
    )
    judge: str | None = Field(
        default=None,
        description="one slot per LLM judge request; a limit with slot decay is a rate limit",
    )

    @field_validator("warehouse", "judge")
    @classmethod
    def _limit_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", value):
            raise ValueError("a limit name is letters, digits, '-', '_', '.', ':'")
        return value


class Target(Model):
    """One target: where the records are read, where results go, and how owners are told."""

    warehouse: WarehouseTarget
    store: StoreTarget
    out_dir: str = Field(
        default="lookout-out",
        description="files Lookout writes: drift reports and scorecards under reports/, the "
        "file outbox (outbox/*.json) when no Slack is configured",
    )
    slack: SlackTarget = SlackTarget()
    email: EmailTarget | None = Field(
        default=None, description="SMTP relay; needed when an owner has an email route"
    )
    pagerduty: PagerDutyTarget = PagerDutyTarget()
    judge: JudgeTarget = JudgeTarget()
    prefect_limits: PrefectLimits = PrefectLimits()
    report_base_url: str | None = Field(
        default=None, description="where the reports folder is served; alerts link under it"
    )

    @field_validator("report_base_url", mode="before")
    @classmethod
    def _http_base(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not str(value).startswith(("http://", "https://")):
            raise ValueError("report_base_url must be an http(s) URL")
        return value


class ProfilesFile(Model):
    """profiles.yml: named targets (dbt style) and the one used by default."""

    target: str = Field(
        description="the output used unless `--target` names another; usually "
        "\"{{ env_var('LOOKOUT_TARGET', 'dev') }}\""
    )
    outputs: dict[str, Target] = Field(description="the targets by name (dev, prod...)")

    @model_validator(mode="after")
    def _target_exists(self) -> ProfilesFile:
        if self.target not in self.outputs:
            known = ", ".join(sorted(self.outputs)) or "none"
            raise ValueError(f"target {self.target!r} is not among outputs ({known})")
        return self

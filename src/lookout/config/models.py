"""Typed config: `profiles.yml` says WHERE (targets), `monitors.yml` says WHAT (sources, rules).

Models are plain data with validation; behaviour lives elsewhere. Secrets are `SecretStr`, so
they never show in a repr, a log line or an error.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url

from lookout.config.validation import ColumnValue, ValidationConfig
from lookout.connections import (
    MONITOR_LOCK_TIMEOUT,
    STORE_DEFAULTS,
    WAREHOUSE_DEFAULTS,
    ConnectSettings,
    engine_arguments,
)
from lookout.core.durations import parse_duration
from lookout.model.record import (
    CANONICAL_FIELDS,
    REQUIRED_FIELDS,
    canonical_name,
    check_identifier,
)

__all__ = [
    "AlertRule",
    "DatabaseTarget",
    "DriftConfig",
    "EffectFloors",
    "EmailRoute",
    "EmailTarget",
    "Escalation",
    "JudgeTarget",
    "MetricsConfig",
    "Monitor",
    "MonitorsFile",
    "Owner",
    "PagerDutyRoute",
    "PagerDutyTarget",
    "PrefectLimits",
    "Price",
    "ProfilesFile",
    "RuleReference",
    "SlackTarget",
    "SourceConfig",
    "StoreTarget",
    "Target",
    "WarehouseTarget",
    "WindowConfig",
    "check_email_address",
]


def _yaml_switch(value: object) -> object:
    """YAML 1.1 reads bare on/off as booleans; take them back as the words the user wrote."""
    if value is True:
        return "on"
    if value is False:
        return "off"
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Identifier = Annotated[str, AfterValidator(check_identifier)]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- profiles.yml


class DatabaseTarget(_Model):
    """A SQLAlchemy URL; the password part never leaves this object unmasked.

    `lock_timeout` bounds every wait for a lock another session holds, `statement_timeout`
    every statement (PostgreSQL; SQLite takes `lock_timeout` as its busy timeout; DuckDB has
    neither). `null` leaves the server's default, which for PostgreSQL is: wait forever.
    """

    url: SecretStr = Field(
        description="a SQLAlchemy URL (duckdb:///file.duckdb, sqlite:///results.sqlite, "
        "postgresql+psycopg://user:pass@host/db); shown with the password masked"
    )
    lock_timeout: Duration | None = Field(
        default=STORE_DEFAULTS.lock_timeout, description="longest wait for another session's lock"
    )
    statement_timeout: Duration | None = Field(
        default=STORE_DEFAULTS.statement_timeout, description="longest statement (PostgreSQL)"
    )

    @field_validator("url")
    @classmethod
    def _parsable(cls, value: SecretStr) -> SecretStr:
        try:
            make_url(value.get_secret_value())
        except Exception:
            raise ValueError("not a SQLAlchemy database URL (e.g. duckdb:///file.duckdb)") from None
        return value

    @field_validator("lock_timeout", "statement_timeout")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be positive (null: no limit)")
        return value

    @model_validator(mode="after")
    def _driver_takes_settings(self) -> Self:
        engine_arguments(self.url.get_secret_value(), self.settings)  # ValueError: unsupported
        return self

    @property
    def display_url(self) -> str:
        return make_url(self.url.get_secret_value()).render_as_string(hide_password=True)

    @property
    def settings(self) -> ConnectSettings:
        return ConnectSettings(
            lock_timeout=self.lock_timeout, statement_timeout=self.statement_timeout, key="store"
        )


class StoreTarget(DatabaseTarget):
    """The results store. `monitor_lock_timeout`: how long a window waits for another run of
    the same monitor to finish writing its alert state (the window fails after that)."""

    monitor_lock_timeout: Duration = Field(
        default=MONITOR_LOCK_TIMEOUT, description="longest wait for the monitor's alert lock"
    )

    @field_validator("monitor_lock_timeout")
    @classmethod
    def _positive_wait(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive")
        return value


class WarehouseTarget(DatabaseTarget):
    """The warehouse, opened read-only by default (DuckDB: several processes may then read one
    file; SQLite: `mode=ro`; PostgreSQL: read-only transactions for Lookout's own queries)."""

    read_only: bool = Field(
        default=True, description="open the warehouse read-only (Lookout never writes there)"
    )
    lock_timeout: Duration | None = Field(
        default=WAREHOUSE_DEFAULTS.lock_timeout,
        description="longest wait for another session's lock",
    )
    statement_timeout: Duration | None = Field(
        default=WAREHOUSE_DEFAULTS.statement_timeout,
        description="longest statement (PostgreSQL)",
    )

    @property
    def settings(self) -> ConnectSettings:
        return ConnectSettings(
            read_only=self.read_only,
            lock_timeout=self.lock_timeout,
            statement_timeout=self.statement_timeout,
            key="warehouse",
        )


class SlackTarget(_Model):
    """Bot token (chat.postMessage, threads) or incoming webhook; neither means file outbox."""

    bot_token: SecretStr | None = Field(
        default=None,
        description="a bot token: chat.postMessage with threads, edits and exactly-once "
        "lookups; empty: no Slack",
    )
    webhook_url: SecretStr | None = Field(
        default=None,
        description="an incoming webhook instead: one channel, no threads, no edits, at least once",
    )
    default_channel: str | None = Field(
        default=None, description="where alerts go when their owner names no channel"
    )
    base_url: str | None = Field(
        default=None,
        description="the Slack Web API's base URL, for Slack-compatible proxies and tests; "
        "null: the real API",
    )

    @field_validator("bot_token", "webhook_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None or self.webhook_url is not None


class Price(_Model):
    """A model's token prices in USD."""

    input_per_1m: float = Field(ge=0, description="USD per 1M prompt (input) tokens")
    output_per_1m: float = Field(ge=0, description="USD per 1M completion (output) tokens")


class JudgeTarget(_Model):
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


class PrefectLimits(_Model):
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


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def check_email_address(value: str) -> str:
    """A bare address (`name@example.com`): nothing that could add a header or a recipient
    (no spaces, commas, angle brackets, CR or LF). Case and form are kept as written."""
    if not isinstance(value, str) or not _EMAIL.fullmatch(value) or ".." in value:
        raise ValueError("expected an email address like oncall@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(check_email_address)]
Severity = Literal["P0", "P1", "P2"]


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL")
    return value


class EmailTarget(_Model):
    """The SMTP relay alerts are mailed through (STARTTLS on the submission port by default).

    A password is only ever sent after STARTTLS; `ca_file` trusts a private relay's CA.
    """

    host: str = Field(min_length=1, description="the SMTP relay's host name")
    port: int = Field(default=587, ge=1, le=65535, description="587: submission with STARTTLS")
    starttls: bool = Field(default=True, description="upgrade to TLS before anything is sent")
    username: str | None = Field(default=None, description="with password, or neither")
    password: SecretStr | None = Field(
        default=None, description="from {{ env_var(...) }} only; never written in the file"
    )
    sender: EmailAddress = Field(description="the From address")
    timeout_s: float = Field(default=30.0, gt=0, description="per connection and SMTP reply")
    ca_file: str | None = Field(
        default=None, description="PEM file of CAs to trust (private relays); default: system"
    )

    @field_validator("username", "password", "ca_file", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (both, or neither)")
        if self.password is not None and not self.starttls:
            raise ValueError("a password is only sent over TLS: set starttls: true")
        return self


class PagerDutyTarget(_Model):
    """The PagerDuty Events API v2 endpoint (the routing keys are the owners')."""

    events_url: Annotated[str, AfterValidator(_http_url)] = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        description="where events are posted (another URL for proxies and tests)",
    )
    timeout_s: float = Field(default=10.0, gt=0, description="per HTTP attempt")
    max_retries: int = Field(default=3, ge=0, le=10, description="on 429, 5xx and timeouts")
    backoff_s: float = Field(
        default=1.0, gt=0, description="first wait between attempts, doubled after each"
    )


class Target(_Model):
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


class ProfilesFile(_Model):
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


# --------------------------------------------------------------------------- monitors.yml


class EmailRoute(_Model):
    """An owner's mailbox(es): alerts of `min_severity` or worse, one email per message."""

    to: list[EmailAddress] = Field(min_length=1, description="the recipients")
    min_severity: Severity = Field(default="P1", description="this severity or worse is mailed")


_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


class PagerDutyRoute(_Model):
    """An owner's PagerDuty service (an Events API v2 integration): alerts of `min_severity`
    or worse open, acknowledge and resolve an incident there."""

    routing_key: SecretStr = Field(description="from {{ env_var(...) }} only")
    min_severity: Severity = Field(
        default="P0", description="this severity or worse opens an incident"
    )

    @field_validator("routing_key")
    @classmethod
    def _integration_key(cls, value: SecretStr) -> SecretStr:
        if not _ROUTING_KEY.fullmatch(value.get_secret_value()):  # the key is never echoed
            raise ValueError("not a PagerDuty integration key (32 letters and digits)")
        return value


class Owner(_Model):
    """Who gets told, and where. Slack (the channel, user ids and a user group to mention) gets
    every severity; `email` and `pagerduty` are further routes from a minimum severity."""

    slack_users: list[Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]] = Field(
        default=[], description="Slack user ids mentioned in its alerts (as <@U...>)"
    )
    slack_group: Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")] | None = Field(
        default=None, description="a Slack user group id mentioned (as <!subteam^S...>)"
    )
    channel: str | None = Field(
        default=None,
        description="where its alerts are posted; null: the profile's slack.default_channel",
    )
    runbook_base: str | None = Field(
        default=None,
        description="a rule without its own runbook links <runbook_base>/<rule name>",
    )
    email: EmailRoute | None = Field(
        default=None,
        description="also mail alerts of min_severity or worse (needs `email:` in the profile)",
    )
    pagerduty: PagerDutyRoute | None = Field(
        default=None,
        description="also open PagerDuty incidents for alerts of min_severity or worse",
    )


class SourceConfig(_Model):
    """Where a monitor's records live and how their columns map onto the record contract."""

    table: Identifier = Field(description="the table of records (quoted by SQLAlchemy)")
    schema_: Identifier | None = Field(
        default=None, alias="schema", description="the table's schema; null: the default one"
    )
    columns: dict[str, Identifier] = Field(
        description="canonical field (or OTel/OpenInference alias) -> column in the table"
    )
    release: list[Identifier] = Field(
        default=["model_version", "prompt_version"],
        description="the fields whose values, joined with @, name a release: mapped canonical "
        "fields or any other column of the table (text, integer...)",
    )
    cohorts: list[Identifier] = Field(
        default=[],
        description="columns whose values each get their metrics (canonical fields or other "
        "columns of the table); every column on its own, not the cross product",
    )
    max_cohort_values: int = Field(
        default=50,
        ge=1,
        description="per cohort column, the values with the most traffic (over "
        "cohort_lookback and the window) that get a cohort of their own; the rest are pooled "
        "as `(other)`",
    )
    cohort_lookback: Duration = Field(
        default=timedelta(days=7),
        description="the trailing period whose traffic ranks cohort values for the cap",
    )
    ok_statuses: list[ColumnValue] = Field(
        default=["ok", "success"],
        description="status values that are not errors: numbers (HTTP codes: [200, 201]), "
        "true/false or text, matched in the status column's type",
    )
    negative_feedback: list[ColumnValue] = Field(
        default=["thumbs_down", "negative", "-1"],
        description="feedback values that count as negative: numbers ([-1], [0]), true/false "
        "or text (without case), matched in the feedback column's type",
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    def selectable(self, name: str) -> bool:
        """A name a window query can select: a mapped canonical field, or a release field or
        cohort that is a column of the table under its own name."""
        return name in self.columns or name in self.release or name in self.cohorts

    @field_validator("columns")
    @classmethod
    def _canonical_keys(cls, columns: dict[str, str]) -> dict[str, str]:
        mapped: dict[str, str] = {}
        for key, column in columns.items():
            field = canonical_name(key)
            if field is None:
                raise ValueError(
                    f"{key!r} is not a canonical field; known: {', '.join(CANONICAL_FIELDS)}"
                )
            if field in mapped:
                raise ValueError(f"{field!r} is mapped twice")
            mapped[field] = column
        missing = [field for field in REQUIRED_FIELDS if field not in mapped]
        if missing:
            raise ValueError(f"required field(s) not mapped: {', '.join(missing)}")
        return mapped


class WindowConfig(_Model):
    """The monitor's time windows: `[start, end)`, aligned to the epoch in UTC."""

    size: Duration = Field(
        default=timedelta(hours=1),
        description="a window's length: divides a day (5m, 15m, 1h...) or is whole days",
    )
    grace: Duration = Field(
        default=timedelta(minutes=15),
        description="a window is processed once end + grace has passed (late logs arrive)",
    )
    late_lookback: Duration = Field(
        default=timedelta(days=1),
        description="with ingested_at mapped: rows arriving later for a window this recent "
        "make the next run recompute it",
    )
    start: datetime | None = Field(
        default=None, description="first window start; default: one day before the first run"
    )
    max_backfill_windows: int = Field(
        default=2208,
        ge=1,
        description="a backfill of more windows than this is refused (2,208: 92 days of hourly "
        "windows); split the range or raise it",
    )

    @field_validator("start")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @field_validator("size")
    @classmethod
    def _divides_a_day(cls, value: timedelta) -> timedelta:
        seconds = int(value.total_seconds())
        if seconds < 60 or (86400 % seconds and seconds % 86400):
            raise ValueError("window size must divide a day (5m, 15m, 1h...) or be whole days")
        return value


class MetricsConfig(_Model):
    """How the ops metrics are computed."""

    prices: dict[str, Price] = Field(
        default={}, description="model_version -> USD per 1M tokens, used when cost_usd is unmapped"
    )
    pushdown: Annotated[Literal["auto", "on", "off"], BeforeValidator(_yaml_switch)] = Field(
        default="auto",
        description="aggregate in the warehouse with GROUP BY: auto (DuckDB only, where it is "
        "faster), on, off (pandas on the window's rows); the numbers are the same",
    )


class _ReferencePeriod(_Model):
    """Where a comparison looks: the previous release over a lookback, or a pinned period
    (subclasses say which kinds they allow)."""

    lookback: Duration = Field(
        default=timedelta(days=1),
        description="previous_release: how much of the previous release's traffic before the "
        "new release first appeared",
    )
    start: datetime | None = Field(default=None, description="baseline: pinned period start")
    end: datetime | None = Field(default=None, description="baseline: pinned period end")

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @model_validator(mode="after")
    def _baseline_period(self) -> Self:
        if getattr(self, "kind", None) == "baseline" and (self.start is None or self.end is None):
            raise ValueError("a baseline reference needs start and end")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("reference end must be after its start")
        return self


# How much of its own past a `history` reference pools when no lookback is given: a week
# holds every hour of the day and every day of the week, so the weekly cycle averages out.
HISTORY_LOOKBACK = timedelta(days=7)


class RuleReference(_ReferencePeriod):
    """What a change rule compares a window's value with (a pooled value of stored metrics)."""

    kind: Literal["previous_release", "baseline", "history"] = Field(
        default="previous_release",
        description="the release that appeared before this one (over `lookback`), a pinned "
        "period of every release (`start`, `end`), or the cohort's own history: every release "
        "over `lookback` (default 7d) ending where the rule's longest pool (`max_over`) begins",
    )

    @model_validator(mode="before")
    @classmethod
    def _history_lookback(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "history" and "lookback" not in data:
            return {**data, "lookback": HISTORY_LOOKBACK}
        return data

    change: Literal["absolute", "relative"] = Field(
        default="relative",
        description="threshold is the allowed change: value op ref + t (absolute) or "
        "value op ref * (1 + t) (relative)",
    )


class Escalation(_Model):
    """A higher severity for the same alert past a further threshold (one alert, one thread)."""

    severity: Literal["P0", "P1"] = Field(description="more severe than the level before")
    threshold: float = Field(description="further past the threshold than the level before")


_SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2}


def _over(value: object) -> object:
    """`over: auto` stays a word; anything else is a duration."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto" if value is not None else None
    return parse_duration(value)


Over = Annotated[Literal["auto"] | timedelta, BeforeValidator(_over)]


class AlertRule(_Model):
    """One rule: a metric, a threshold, who is told; evaluated per release x cohort."""

    name: Identifier = Field(
        description="the rule's id: part of each alert's fingerprint and of its runbook link"
    )
    metric: str = Field(
        description="any metric Lookout computes (error_rate, latency_p99_ms, "
        "eval.<evaluator>, drift.<column>, validation.<expectation>...)"
    )
    op: Literal[">", ">=", "<", "<="] = Field(description="breach when value op threshold")
    threshold: float = Field(
        description="the limit; with a `reference`, the allowed change from it"
    )
    min_n: int | None = Field(
        default=None,
        ge=1,
        description="records the evaluated value needs (pooled over `over`); default by "
        "metric: 50 for ops rates, 200 for p95, 1000 for p99, 30 for means and pass rates, "
        "1 for validation and health",
    )
    over: Over | None = Field(
        default=None,
        description="what the rule evaluates: `auto` (default) pools the shortest run of "
        "whole windows ending now that reaches min_n (at most max_over); a duration (6h) "
        "pools exactly that much; the window's own value when it equals the window size",
    )
    max_over: Duration = Field(
        default=timedelta(days=1), description="the longest `over: auto` pools"
    )
    for_: int | None = Field(
        default=None,
        alias="for",
        ge=1,
        description="breaching evaluations in a row before the alert opens (Prometheus' "
        "`for`); default 2 for ops and evaluator metrics, 1 for validation, drift and health",
    )
    keep_firing_for: Duration | None = Field(
        default=None,
        description="a firing alert resolves only after this long without a breach "
        "(hysteresis); default: `for` windows (two normal windows resolve what two breaching "
        "ones opened); 0s: at the first normal evaluation",
    )
    severity: Literal["P0", "P1", "P2"] = Field(
        default="P1",
        description="P0 is the most urgent (while it fires, P1/P2 alerts sharing its labels "
        "are held back); P2 opens into a daily digest",
    )
    owner: str = Field(description="a key of `owners`: who is told")
    runbook: str | None = Field(
        default=None, description="a link; null: the owner's <runbook_base>/<rule name>"
    )
    split_by: list[str] | None = Field(
        default=None,
        description="cohort columns to alert per value; '*' is the release overall; "
        "default: overall and every cohort",
    )
    significance: bool | None = Field(
        default=None,
        description="rates: fire only when the whole 95% interval is past the threshold; "
        "default on for rates (so a few records decide nothing), `false` for a point threshold",
    )
    notify_resolved: bool = Field(
        default=True, description="reply in the alert's thread and mark it resolved"
    )
    remind_after: Duration | None = Field(
        default=timedelta(days=1),
        description="while firing, one reminder in the thread per this much window time; "
        "null: never",
    )
    reference: RuleReference | None = Field(
        default=None,
        description="compare with the previous release, a baseline period or the cohort's "
        "own history instead of a fixed threshold; threshold is then the allowed change",
    )
    escalate: list[Escalation] = Field(
        default=[], description="more severe levels past further thresholds, e.g. P0 at 0.2"
    )

    @model_validator(mode="after")
    def _escalations_escalate(self) -> AlertRule:
        """Each level is more severe than the last and further past the base threshold."""
        previous_rank, previous_threshold = _SEVERITY_RANK[self.severity], self.threshold
        upward = self.op in (">", ">=")
        for index, level in enumerate(self.escalate):
            rank = _SEVERITY_RANK[level.severity]
            further = (
                level.threshold > previous_threshold
                if upward
                else level.threshold < previous_threshold
            )
            if rank >= previous_rank or not further:
                raise ValueError(
                    f"escalate[{index}]: {level.severity} at {level.threshold} must be more "
                    f"severe than P{previous_rank} and further past "
                    f"{previous_threshold} in the direction of {self.op!r}"
                )
            previous_rank, previous_threshold = rank, level.threshold
        return self

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DriftReference(_ReferencePeriod):
    """What a window is compared with."""

    kind: Literal["previous_release", "baseline", "week_ago"] = Field(
        default="previous_release",
        description="the previous release (its last `lookback` before this one appeared), a "
        "pinned period (`start`, `end`), or the same hours a week earlier",
    )


# The effect sizes a drift verdict can be judged on (a p-value is never one: with enough rows
# every difference is "significant"); and the largest floor each can reach: the normed
# Wasserstein distance and PSI are unbounded (10 = ten standard deviations, or a PSI no real
# shift stays below), the Jensen-Shannon distance (natural log) is at most sqrt(ln 2).
NumericEffect = Literal["auto", "wasserstein", "psi", "jensenshannon"]
CategoricalEffect = Literal["auto", "jensenshannon", "psi"]
JENSEN_SHANNON_MAX = 0.8325546111576977  # sqrt(ln 2)
EFFECT_FLOOR_MAX = {"wasserstein": 10.0, "psi": 10.0, "jensenshannon": JENSEN_SHANNON_MAX}


class EffectFloors(_Model):
    """How far a distribution must move before it counts as drift, per effect size.

    Defaults: Evidently 0.7's own large-sample thresholds for the normed Wasserstein distance
    (0.1: a tenth of the reference's standard deviation) and the Jensen-Shannon distance (0.1);
    PSI at 0.2, the middle of the customary 0.1-0.25 "moderate shift" band (Evidently's 0.1 is
    the edge of "no change")."""

    wasserstein: float = Field(
        default=0.1,
        gt=0,
        le=EFFECT_FLOOR_MAX["wasserstein"],
        description="numeric columns: Wasserstein distance in reference standard deviations",
    )
    jensenshannon: float = Field(
        default=0.1,
        gt=0,
        le=JENSEN_SHANNON_MAX,
        description="categorical columns: Jensen-Shannon distance (base 2, 0..1)",
    )
    psi: float = Field(
        default=0.2,
        gt=0,
        le=EFFECT_FLOOR_MAX["psi"],
        description="population stability index, where a column uses it",
    )


class DriftThresholds(_Model):
    """p-value levels of the small-sample tests (a column drifts there only when its test
    rejects too). A distance named here is an older spelling of its `effect_floors` entry."""

    ks: float | None = Field(default=None, gt=0, lt=1, description="default 0.05")
    chisquare: float | None = Field(default=None, gt=0, lt=1, description="default 0.05")
    z: float | None = Field(default=None, gt=0, lt=1, description="default 0.05")
    wasserstein: float | None = Field(
        default=None,
        gt=0,
        le=EFFECT_FLOOR_MAX["wasserstein"],
        description="older spelling of effect_floors.wasserstein",
    )
    jensenshannon: float | None = Field(
        default=None,
        gt=0,
        le=JENSEN_SHANNON_MAX,
        description="older spelling of effect_floors.jensenshannon",
    )
    psi: float | None = Field(
        default=None,
        gt=0,
        le=EFFECT_FLOOR_MAX["psi"],
        description="older spelling of effect_floors.psi",
    )


class DriftReports(_Model):
    """The Evidently HTML report of a drifted day, per release and cohort."""

    enabled: bool = Field(default=True, description="write reports (the metrics do not need them)")
    sample_rows: int = Field(
        default=20_000, ge=100, description="rows per side given to Evidently for the HTML"
    )
    retention: Duration = Field(
        default=timedelta(days=30), description="day folders older than this are deleted"
    )


class DriftConfig(_Model):
    """Drift of each release x cohort, pooled over a rolling period, against a reference."""

    enabled: bool = Field(default=False, description="run the drift stage")
    reference: DriftReference = DriftReference()
    period: Duration = Field(
        default=timedelta(hours=24),
        description="the rolling period a verdict pools (this window and the ones before it; "
        "rounded up to whole windows)",
    )
    columns: list[str] = Field(default=[], description="default: every column drift knows")
    exclude: list[str] = Field(default=[], description="columns left out")
    min_n: int = Field(default=100, ge=10, description="rows per side below: not enough data")
    numeric_method: NumericEffect = Field(
        default="auto",
        description="effect size of numeric columns; auto: Wasserstein distance normalised by "
        "the reference's standard deviation",
    )
    categorical_method: CategoricalEffect = Field(
        default="auto", description="effect size of categorical columns; auto: Jensen-Shannon"
    )
    effect_floors: EffectFloors = EffectFloors()
    thresholds: DriftThresholds = Field(
        default=DriftThresholds(), description="p-value levels of the small-sample tests"
    )
    small_sample: int = Field(
        default=1000,
        ge=0,
        description="when either side has at most this many rows, a column drifts only if its "
        "p-value test (KS, chi-square, z) rejects too; 0: never",
    )
    correction: Literal["holm", "bonferroni", "none"] = Field(
        default="holm",
        description="for the p-value tests of one release x cohort (one per column); "
        "any but none also divides the level by the release's cohort groups judged together",
    )
    dataset_drift_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="share of drifted features at which a release x cohort drifted as a whole "
        "(Evidently's dataset drift; reports and the index use it)",
    )
    cohorts: bool = Field(default=True, description="also per cohort value, not only overall")
    max_rows: int | None = Field(
        default=200_000,
        ge=1000,
        description="PostgreSQL: a side with more rows is read through a page sample of about "
        "this many rows (TABLESAMPLE SYSTEM); null: always every row",
    )
    reports: DriftReports = DriftReports()

    @field_validator("period")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the drift period must be longer than zero")
        return value

    @model_validator(mode="after")
    def _floors_once(self) -> DriftConfig:
        """A distance given under `thresholds` (the older key) is its effect floor; given in
        both places, which one counts would be a guess."""
        given = self.effect_floors.model_fields_set
        for name in ("wasserstein", "jensenshannon", "psi"):
            if getattr(self.thresholds, name) is not None and name in given:
                raise ValueError(
                    f"thresholds.{name} and effect_floors.{name} both set: "
                    f"keep effect_floors.{name}"
                )
        return self

    def floor(self, method: str) -> float:
        """The effect floor of a distance method."""
        older = getattr(self.thresholds, method)
        return float(older) if older is not None else float(getattr(self.effect_floors, method))

    def level(self, method: str) -> float:
        """The p-value level of a small-sample test."""
        value = getattr(self.thresholds, method)
        return 0.05 if value is None else float(value)


class EvaluatorSpec(_Model):
    """One evaluator of a monitor: an offline one by name, or an LLM judge (a prompt template)."""

    name: Identifier = Field(
        description="the id in results and metrics (eval.<name>); also the evaluator or "
        "template when `evaluator` is not given"
    )
    kind: Literal["offline", "llm"] = Field(
        default="offline",
        description="offline: built in, no key, no model; llm: a judge over the profile's "
        "OpenAI-compatible endpoint",
    )
    evaluator: str | None = Field(
        default=None, description="offline: registry name; llm: template (default: `name`)"
    )
    threshold: float | None = Field(default=None, ge=0, le=1, description="score >= passes")
    params: dict[str, Any] = Field(default={}, description="offline evaluator parameters")
    sample: Literal["sampled", "all"] = Field(
        default="sampled",
        description="all: every record of the window (cheap checks; their failures bias the "
        "sample of the others); sampled: the failure-biased sample",
    )

    @field_validator("params")
    @classmethod
    def _typed_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Offline parameters checked and converted against the evaluator's own field types,
        so `window: "3"` works and `window: x` or `question_credit: .nan` fails here, not
        halfway through a run."""
        from lookout.checks.evaluators.offline_registry import OFFLINE_EVALUATORS

        name = info.data.get("evaluator") or info.data.get("name")
        factory = OFFLINE_EVALUATORS.get(name) if isinstance(name, str) else None
        if info.data.get("kind") != "offline" or not dataclasses.is_dataclass(factory):
            return params  # `_buildable` reports the unknown evaluator or the llm params
        hints = typing.get_type_hints(factory)
        typed = dict(params)
        for key, value in params.items():
            if key in hints and key != "name":
                typed[key] = _param_value(str(name), key, hints[key], value)
        return typed

    @model_validator(mode="after")
    def _buildable(self) -> EvaluatorSpec:
        """Unknown evaluators, templates and parameters fail when the config loads."""
        if self.kind == "offline":
            from lookout.checks.evaluators.offline_registry import make_offline

            params = dict(self.params)
            if self.threshold is not None:
                params["threshold"] = self.threshold
            try:
                make_offline(self.evaluator or self.name, **params)
            except TypeError as exc:  # a value of the right type the evaluator still refuses
                raise ValueError(f"offline evaluator parameters: {exc}") from None
        else:
            from lookout.checks.evaluators.prompts import template_names

            template = self.evaluator or self.name
            if template not in template_names():
                known = ", ".join(template_names())
                raise ValueError(f"unknown judge template {template!r}; known: {known}")
            if self.params:
                raise ValueError("an LLM judge takes no params (use threshold and evaluator)")
        return self


def _param_value(evaluator: str, key: str, hint: Any, value: Any) -> Any:
    """One offline parameter validated as its declared type (finite floats only)."""
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(hint, config=ConfigDict(allow_inf_nan=False))
        return adapter.validate_python(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise ValueError(f"offline evaluator {evaluator!r}: {key}: {first['msg']}") from None


class SamplingConfig(_Model):
    """Which records are graded: every suspicious one, plus a stable share of the rest."""

    share: float = Field(default=0.05, ge=0, le=1, description="of the other records")
    errors: bool = Field(default=True, description="every record whose status is not ok")
    negative_feedback: bool = Field(default=True, description="every record with negative feedback")
    latency_quantile: float | None = Field(
        default=0.99, gt=0, lt=1, description="records above this latency quantile of the window"
    )
    offline_failures: bool = Field(
        default=True, description="records failing an evaluator with `sample: all`"
    )
    salt: str = Field(default="", description="change to draw a different stable sample")
    max_records: int | None = Field(
        default=20_000,
        ge=1,
        description="per window: a larger sample is thinned to about this many records "
        "(the random part keeps at least half); null: no cap",
    )


class JudgeBudget(_Model):
    """What LLM judges may spend per flow run and monitor; once reached, judging stops cleanly
    (the rest is skipped, not cached) and the run says which cap stopped it."""

    max_judgments: int | None = Field(default=None, ge=0, description="per flow run and monitor")
    max_usd: float | None = Field(
        default=None, ge=0, description="USD per flow run and monitor (from judge.prices)"
    )


class EvaluatorsConfig(_Model):
    """Offline evaluators and LLM judges on a failure-biased sample of each window."""

    enabled: bool = Field(default=False, description="run the evaluator stage")
    checks: list[EvaluatorSpec] = Field(default=[], description="the evaluators, by name")
    sampling: SamplingConfig = SamplingConfig()
    budget: JudgeBudget = JudgeBudget()

    @model_validator(mode="after")
    def _unique(self) -> EvaluatorsConfig:
        seen: set[str] = set()
        for spec in self.checks:
            if spec.name in seen:
                raise ValueError(f"evaluator name {spec.name!r} is used twice")
            seen.add(spec.name)
        return self


class HealthConfig(_Model):
    """Alerts about the monitor itself, to its owner."""

    no_data: bool = Field(
        default=True,
        description="the `no_data` alert (P1): a window holds far fewer rows than the same "
        "hours usually hold (the same hour of the week over the last 4 weeks, or the quietest "
        "of the same hour over the last 7 days), by a Poisson interval",
    )
    min_traffic_ratio: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="`no_data` fires when the whole interval of rows / expected rows is below this",
    )
    min_rows: int | None = Field(
        default=None,
        ge=1,
        description="a fixed floor as well: fewer rows in a window opens `min_rows` (P1)",
    )
    max_judge_error_share: float | None = Field(
        default=0.2, gt=0, le=1, description="judge errors above this share: `judge_errors` (P2)"
    )
    notify_failures: bool = Field(
        default=True, description="a window that fails at any stage messages the owner once"
    )


class Monitor(_Model):
    """One table of production records: its mapping, windows, stages and rules."""

    name: Identifier = Field(description="the monitor's id in results, alerts and reports")
    description: str = Field(default="", description="for people reading the file")
    owner: str | None = Field(
        default=None, description="who owns the monitor itself; default: its first rule's owner"
    )
    source: SourceConfig
    window: WindowConfig = WindowConfig()
    metrics: MetricsConfig = MetricsConfig()
    validation: ValidationConfig = ValidationConfig()
    drift: DriftConfig = DriftConfig()
    evaluators: EvaluatorsConfig = EvaluatorsConfig()
    health: HealthConfig = HealthConfig()
    rules: list[AlertRule] = Field(default=[], description="the alert rules")

    @property
    def health_owner(self) -> str | None:
        """The owner of alerts about the monitor itself."""
        return self.owner or (self.rules[0].owner if self.rules else None)


class AlertingConfig(_Model):
    """Notification policy shared by every monitor of the file."""

    group: bool = Field(
        default=True, description="alerts one window opens for one owner: one message"
    )
    p2_digest: bool = Field(
        default=True, description="P2 alerts open into one daily digest per owner (UTC day)"
    )
    inhibit: bool = Field(
        default=True, description="a firing P0 mutes P1/P2 alerts equal on `inhibit_equal`"
    )
    inhibit_equal: list[Literal["monitor", "release", "cohort", "owner", "metric"]] = Field(
        default=["monitor", "release"], description="labels the P0 and the muted alert share"
    )
    stale_after: Duration = Field(
        default=timedelta(hours=24),
        description="a firing alert whose release x cohort had no records this long resolves "
        "as `stale`; a release unseen this long shows as retired",
    )
    notify_within: int = Field(
        default=2,
        ge=1,
        description="windows before now that page: alerts that open and resolve entirely in "
        "older windows (a catch-up) are stored in the history, not paged",
    )

    @field_validator("stale_after")
    @classmethod
    def _positive_stale(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("stale_after must be longer than zero")
        return value


class MonitorsFile(_Model):
    """monitors.yml: who owns what, the alerting policy, and the monitors."""

    owners: dict[str, Owner] = Field(
        default={}, description="declared once by name, referenced by rules and monitors"
    )
    alerting: AlertingConfig = AlertingConfig()
    monitors: list[Monitor] = Field(description="one per table of records")

    @model_validator(mode="after")
    def _unique_names(self) -> MonitorsFile:
        seen: set[str] = set()
        for monitor in self.monitors:
            if monitor.name in seen:
                raise ValueError(f"monitor name {monitor.name!r} is used twice")
            seen.add(monitor.name)
        return self

    def monitor(self, name: str) -> Monitor:
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        raise KeyError(name)

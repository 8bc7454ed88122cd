"""Typed config: `profiles.yml` says WHERE (targets), `monitors.yml` says WHAT (sources, rules).

Models are plain data with validation; behaviour lives elsewhere. Secrets are `SecretStr`, so
they never show in a repr, a log line or an error. One module per topic: `base` (the strict
base model and shared types), `databases`, `channels` and `profiles` (profiles.yml);
`source`, `window`, `metrics`, `references`, `rules`, `drift`, `evaluators`, `alerting` and
`monitors` (monitors.yml). Every name is importable from here.
"""

from lookout.config.models.alerting import (
    AlertingConfig,
    EmailRoute,
    Owner,
    PagerDutyRoute,
    Severity,
)
from lookout.config.models.base import (
    Duration,
    EmailAddress,
    Identifier,
    Model,
    PositiveDuration,
    Price,
    check_email_address,
    utc,
)
from lookout.config.models.channels import EmailTarget, PagerDutyTarget, SlackTarget
from lookout.config.models.databases import DatabaseTarget, StoreTarget, WarehouseTarget
from lookout.config.models.drift import (
    EFFECT_FLOOR_MAX,
    JENSEN_SHANNON_MAX,
    CategoricalEffect,
    DriftConfig,
    DriftFeatures,
    DriftReports,
    DriftThresholds,
    EffectFloors,
    NumericEffect,
)
from lookout.config.models.evaluators import (
    EvaluatorsConfig,
    EvaluatorSpec,
    JudgeBudget,
    SamplingConfig,
)
from lookout.config.models.feedback import FeedbackTable
from lookout.config.models.metrics import MetricsConfig
from lookout.config.models.monitors import Monitor, MonitorsFile
from lookout.config.models.profiles import JudgeTarget, PrefectLimits, ProfilesFile, Target
from lookout.config.models.references import HISTORY_LOOKBACK, DriftReference, RuleReference
from lookout.config.models.rules import AlertRule, Escalation, Over
from lookout.config.models.source import SourceConfig
from lookout.config.models.window import HealthConfig, WindowConfig

__all__ = [
    "EFFECT_FLOOR_MAX",
    "HISTORY_LOOKBACK",
    "JENSEN_SHANNON_MAX",
    "AlertRule",
    "AlertingConfig",
    "CategoricalEffect",
    "DatabaseTarget",
    "DriftConfig",
    "DriftFeatures",
    "DriftReference",
    "DriftReports",
    "DriftThresholds",
    "Duration",
    "EffectFloors",
    "EmailAddress",
    "EmailRoute",
    "EmailTarget",
    "Escalation",
    "EvaluatorSpec",
    "EvaluatorsConfig",
    "FeedbackTable",
    "HealthConfig",
    "Identifier",
    "JudgeBudget",
    "JudgeTarget",
    "MetricsConfig",
    "Model",
    "Monitor",
    "MonitorsFile",
    "NumericEffect",
    "Over",
    "Owner",
    "PagerDutyRoute",
    "PagerDutyTarget",
    "PositiveDuration",
    "PrefectLimits",
    "Price",
    "ProfilesFile",
    "RuleReference",
    "SamplingConfig",
    "Severity",
    "SlackTarget",
    "SourceConfig",
    "StoreTarget",
    "Target",
    "WarehouseTarget",
    "WindowConfig",
    "check_email_address",
    "utc",
]

"""Config: pydantic models and loaders whose errors name the file, key path and line."""

from lookout.config.loader import LookoutConfig, load_config, load_monitors, load_profiles
from lookout.config.models import (
    AlertRule,
    DatabaseTarget,
    MetricsConfig,
    Monitor,
    MonitorsFile,
    Owner,
    Price,
    SlackTarget,
    SourceConfig,
    Target,
    WindowConfig,
)

__all__ = [
    "AlertRule",
    "DatabaseTarget",
    "LookoutConfig",
    "MetricsConfig",
    "Monitor",
    "MonitorsFile",
    "Owner",
    "Price",
    "SlackTarget",
    "SourceConfig",
    "Target",
    "WindowConfig",
    "load_config",
    "load_monitors",
    "load_profiles",
]

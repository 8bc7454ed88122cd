"""Lookout: watches ML and LLM systems in production.

from lookout import load_config, Context, plan_windows, run_window
config = load_config(Path("profiles.yml"), Path("monitors.yml"))
ctx = Context.from_config(config)
for window in plan_windows(ctx, monitor, as_of):
    run_window(ctx, monitor, window)
"""

from lookout.config.loader import LookoutConfig, load_config
from lookout.errors import (
    CheckError,
    ConfigError,
    DeliveryError,
    LookoutError,
    SourceError,
    StoreError,
)
from lookout.pipeline import Context, RunResult, plan_windows, run_window
from lookout.windows import Window

__version__ = "0.1.0"

__all__ = [
    "CheckError",
    "ConfigError",
    "Context",
    "DeliveryError",
    "LookoutConfig",
    "LookoutError",
    "RunResult",
    "SourceError",
    "StoreError",
    "Window",
    "__version__",
    "load_config",
    "plan_windows",
    "run_window",
]

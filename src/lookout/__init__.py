"""Lookout: watches ML and LLM systems in production.

from lookout import load_config, Context, plan_windows, run_window
config = load_config(Path("profiles.yml"), Path("monitors.yml"))
ctx = Context.from_config(config)
for window in plan_windows(ctx, monitor, as_of):
    run_window(ctx, monitor, window)
"""

from typing import TYPE_CHECKING, Any

from lookout.errors import (
    CheckError,
    ConfigError,
    DeliveryError,
    LookoutError,
    SourceError,
    StoreError,
)

if TYPE_CHECKING:
    from lookout.config.loader import LookoutConfig, load_config
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

# Imported on first use: `lookout --help` and the CLI's light commands need none of pandas,
# SciPy or Prefect, which these modules pull in.
_LAZY = {
    "LookoutConfig": "lookout.config.loader",
    "load_config": "lookout.config.loader",
    "Context": "lookout.pipeline",
    "RunResult": "lookout.pipeline",
    "plan_windows": "lookout.pipeline",
    "run_window": "lookout.pipeline",
    "Window": "lookout.windows",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'lookout' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value

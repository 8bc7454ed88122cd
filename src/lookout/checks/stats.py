"""Small statistics helpers shared by checks and rules (pure): see `lookout.core.stats`."""

from __future__ import annotations

from lookout.core.stats import poisson_interval, wilson_interval

__all__ = ["poisson_interval", "wilson_interval"]

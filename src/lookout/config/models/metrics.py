"""monitors.yml: how a monitor's ops metrics are computed."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from lookout.config.models.base import Model, Price

__all__ = ["MetricsConfig"]


def _yaml_switch(value: object) -> object:
    """YAML 1.1 reads bare on/off as booleans; take them back as the words the user wrote."""
    if value is True:
        return "on"
    if value is False:
        return "off"
    return value


class MetricsConfig(Model):
    """How the ops metrics are computed."""

    prices: dict[str, Price] = Field(
        default={}, description="model_version -> USD per 1M tokens, used when cost_usd is unmapped"
    )
    pushdown: Annotated[Literal["auto", "on", "off"], BeforeValidator(_yaml_switch)] = Field(
        default="auto",
        description="aggregate in the warehouse with GROUP BY: auto (DuckDB and Snowflake, for "
        "windows of 200,000 rows or more), on, off (pandas on the window's rows); the numbers "
        "are the same",
    )

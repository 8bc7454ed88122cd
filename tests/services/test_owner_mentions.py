"""Who an alert pages, as `lookout alerts` prints it under each alert."""

from __future__ import annotations

from tests.conftest import write_config

from lookout.config.models.alerting import Owner
from lookout.services.alerts import owner_mentions


def test_the_owner_line_names_its_mentions_or_says_there_are_none(tmp_path):
    config = write_config(tmp_path, warehouse="duckdb://", store="sqlite://")
    assert owner_mentions(config, "team") == "team (@U0TEAM01) in #team"
    # an owner with only a channel (what init writes) printed "oncall () in #rag-alerts"
    config.monitors.owners["oncall"] = Owner(channel="#rag-alerts")
    assert owner_mentions(config, "oncall") == "oncall (nobody mentioned) in #rag-alerts"
    assert owner_mentions(config, "gone") == "gone"  # an owner since removed from the config

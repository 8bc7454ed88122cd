"""Prefect automations that tell a human when a Lookout flow run fails, crashes or is late:
Lookout cannot alert about itself from inside a run that died.

The specs are plain data (pure); `deploy_automations` upserts them by name, so running it
again updates instead of duplicating. They match every flow named `lookout-*`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

__all__ = [
    "AUTOMATION_NAMES",
    "automation_specs",
    "block_id",
    "deploy_automations",
    "save_slack_webhook",
]

AUTOMATION_NAMES = ("lookout-flow-failed", "lookout-flow-late")

_SUBJECT = "Lookout: {{ flow.name }} run {{ flow_run.name }} is {{ flow_run.state.name }}"
_BODY = (
    "Flow run {{ flow.name }}/{{ flow_run.name }} entered {{ flow_run.state.name }}.\n"
    "Message: {{ flow_run.state.message }}\n"
    "{{ flow_run|ui_url }}"
)


def _trigger(states: list[str]) -> dict[str, Any]:
    return {
        "type": "event",
        "posture": "Reactive",
        "expect": [f"prefect.flow-run.{state}" for state in states],
        "match": {"prefect.resource.id": "prefect.flow-run.*"},
        "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": "lookout-*"},
        "for_each": ["prefect.resource.id"],
        "threshold": 1,
        "within": 0,
    }


def automation_specs(block_document_id: UUID | str) -> list[dict[str, Any]]:
    """Failed or Crashed, and Late, each a notification through one notification block."""

    def notify(subject: str) -> dict[str, Any]:
        return {
            "type": "send-notification",
            "block_document_id": str(block_document_id),
            "subject": subject,
            "body": _BODY,
        }

    return [
        {
            "name": AUTOMATION_NAMES[0],
            "description": "A Lookout flow run failed or crashed",
            "trigger": _trigger(["Failed", "Crashed"]),
            "actions": [notify(_SUBJECT)],
        },
        {
            "name": AUTOMATION_NAMES[1],
            "description": "A Lookout flow run is late (no worker picked it up)",
            "trigger": _trigger(["Late"]),
            "actions": [notify(_SUBJECT)],
        },
    ]


def save_slack_webhook(url: str, name: str = "lookout-slack") -> UUID:
    """A Prefect SlackWebhook block (the URL is stored as a secret); its id."""
    from prefect.blocks.notifications import SlackWebhook

    return SlackWebhook(url=url).save(name, overwrite=True)


def block_id(slug_and_name: str) -> UUID:
    """The id of an existing notification block, `<type slug>/<name>` (e.g. slack-webhook/x)."""
    from prefect.blocks.core import Block

    block = Block.load(slug_and_name)
    return block._block_document_id  # type: ignore[return-value]


def deploy_automations(block_document_id: UUID | str) -> list[str]:
    """Create or update the automations by name; returns what was done, one line each."""
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    done = []
    with get_client(sync_client=True) as client:
        for spec in automation_specs(block_document_id):
            core = AutomationCore.model_validate(spec)
            existing = client.read_automations_by_name(core.name)
            if existing:
                client.update_automation(existing[0].id, core)
                for duplicate in existing[1:]:
                    client.delete_automation(duplicate.id)
                done.append(f"updated {core.name}")
            else:
                client.create_automation(core)
                done.append(f"created {core.name}")
    return done

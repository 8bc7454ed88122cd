"""The file outbox: with no Slack configured, each delivery is written as one file that reads
like the channel would show it, so the demo and dry runs show exactly what would be sent.

One file per delivery, named by when it was queued, the monitor, the rule (or kind), what it is
and where it goes (`…-resolve-reply-slack.json`, `…-resolve-edit-slack.json`), holding the
delivery's kind, target, the message it replies to or edits, and the rendered payload.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from lookout.notify.channels.base import Delivery, Sent
from lookout.notify.channels.slack import payload_of

__all__ = ["FileChannel", "file_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=@-]+")


def _part(text: str) -> str:
    return _UNSAFE.sub("_", text)[:60].strip("_") or "x"


def file_name(delivery: Delivery, role: str, created: datetime | None = None) -> str:
    """`<queued>-<monitor>-<rule or kind>-<kind>-<role>-<message id>.json`; role is `post`,
    `reply` or `edit`."""
    message = delivery.message
    when = f"{created:%Y%m%dT%H%M%S}" if created else "queued"
    subject = message.alert.rule if message.alert else message.kind
    monitor = message.alert.monitor if message.alert else "lookout"
    parts = [when, monitor, subject, message.kind, role, delivery.message_id[:12]]
    return "-".join(_part(p) for p in parts) + ".json"


class FileChannel:
    """Writes each delivery to `<directory>/<file_name>` (idempotent: same delivery, same
    file). `created` names the files by when the message was queued (set by delivery)."""

    name = "file"
    supports_reply = True
    supports_edit = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.created: datetime | None = None

    def send(self, delivery: Delivery) -> Sent:
        role = "reply" if delivery.reply_to is not None else "post"
        self._write(delivery, role)
        return Sent("file", delivery.message_id)

    def edit(self, delivery: Delivery) -> None:
        self._write(delivery, "edit")

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        return None  # writing the same file again is harmless

    def _write(self, delivery: Delivery, role: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        body: dict[str, Any] = {
            "kind": delivery.message.kind,
            "role": role,
            "target": delivery.destination,
            "message_id": delivery.message_id,
            "replies_to": delivery.reply_to.ts if delivery.reply_to else None,
            "edits": delivery.edits.ts if delivery.edits else None,
            "payload": payload_of(delivery),
        }
        target = self.directory / file_name(delivery, role, self.created)
        temp = target.with_suffix(".json.tmp")
        temp.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        temp.replace(target)

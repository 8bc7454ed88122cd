"""Neutral message -> Slack Block Kit payload (pure; golden-file tested).

Values that come from logged data (release, cohort, route, status, error texts) are only ever
put in `plain_text` objects, which Slack shows exactly as typed: a release named `<!channel>`
cannot ping a channel, and `*v2*`, `_x_`, `~y~` or backticks are not formatting (mrkdwn has no
escape for those). `mrkdwn` is used for what Lookout writes itself: the owner line with its
mentions (built from validated Slack ids) and the links (checked http(s) URLs), with `&`, `<`
and `>` escaped all the same. The notification `text` carries the title and the owner.
"""

from __future__ import annotations

from typing import Any

from lookout.notify.message import Mention, Message

__all__ = [
    "MAX_FIELDS",
    "MAX_GROUPED",
    "MAX_SECTION_CHARS",
    "escape_mrkdwn",
    "mention_text",
    "to_block_kit",
]

MAX_GROUPED = 20  # alerts listed in one grouped message (2 blocks each; Slack allows 50 blocks)
MAX_SECTION_CHARS = 3000
MAX_FIELDS = 10
_EMOJI = {
    "P0": ":rotating_light:",
    "P1": ":warning:",
    "P2": ":information_source:",
    "resolved": ":white_check_mark:",
}


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention_text(mention: Mention) -> str:
    return f"<@{mention.id}>" if mention.kind == "slack_user" else f"<!subteam^{mention.id}>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _safe_url(url: str) -> str | None:
    """Only http(s) links; `|` and `>` would end Slack's `<url|label>` syntax early."""
    if not url.startswith(("https://", "http://")) or any(c in url for c in "|<> "):
        return None
    return url


def _plain(text: str, limit: int = MAX_SECTION_CHARS) -> dict[str, Any]:
    """A text object Slack shows as typed (no mrkdwn, no mentions, no links)."""
    return {"type": "plain_text", "text": _clip(text, limit), "emoji": True}


def _owner_line(message: Message) -> dict[str, Any]:
    mentions = " ".join(mention_text(m) for m in message.mentions)
    return {
        "type": "mrkdwn",
        "text": f"*Owner:* {escape_mrkdwn(message.owner)} {mentions}".strip(),
    }


def _links(message: Message) -> str:
    return "  ·  ".join(
        f"<{url}|{escape_mrkdwn(link.label)}>"
        for link in message.links
        if (url := _safe_url(link.url)) is not None
    )


def _table_text(message: Message) -> list[dict[str, Any]]:
    blocks = []
    for table in message.tables:
        lines = [table.title, " | ".join(table.columns)]
        lines += [" | ".join(row) for row in table.rows]
        blocks.append({"type": "section", "text": _plain("\n".join(lines))})
    return blocks


def to_block_kit(message: Message) -> dict[str, Any]:
    """`{channel?, text, blocks}` ready for chat.postMessage (text is the notification)."""
    if message.items:
        return _grouped(message)
    mentions = " ".join(mention_text(m) for m in message.mentions)
    fields = [_plain(f"{f.label}\n{f.value}", 2000) for f in message.facts]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(message.title, 150)},
        {
            "type": "section",
            "text": _plain(f"{_EMOJI.get(message.severity, '')} {message.summary}".strip()),
        },
        {"type": "context", "elements": [_owner_line(message)]},
    ]
    for start in range(0, len(fields), MAX_FIELDS):  # Slack takes 10 fields a section
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    blocks += _table_text(message)
    links = _links(message)
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    text = _clip(f"{message.title} — owner {message.owner}", 3000)
    payload: dict[str, Any] = {
        "text": f"{escape_mrkdwn(text)} {mentions}".strip(),
        "blocks": blocks[:50],
    }
    if message.channel:
        payload["channel"] = message.channel
    return payload


def _grouped(message: Message) -> dict[str, Any]:
    """Several alerts for one owner as one message: a header, the owner, and per alert its
    title, summary, first fact and links (at most MAX_GROUPED, then a count)."""
    mentions = " ".join(mention_text(m) for m in message.mentions)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(message.title, 150)},
        {"type": "context", "elements": [_owner_line(message)]},
    ]
    for item in message.items[:MAX_GROUPED]:
        lines = [f"{_EMOJI.get(item.severity, '')} {item.title}", item.summary]
        lines += [f"{f.label}: {f.value}" for f in item.facts[:1]]
        blocks.append({"type": "section", "text": _plain("\n".join(lines))})
        links = _links(item)
        if links:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    if len(message.items) > MAX_GROUPED:
        more = len(message.items) - MAX_GROUPED
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more"}]}
        )
    text = _clip(f"{message.title} — owner {message.owner}", 3000)
    payload: dict[str, Any] = {
        "text": f"{escape_mrkdwn(text)} {mentions}".strip(),
        "blocks": blocks[:50],
    }
    if message.channel:
        payload["channel"] = message.channel
    return payload

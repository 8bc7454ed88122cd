"""Neutral alert message -> Slack Block Kit payload (pure; golden-file tested).

Values that come from logged data (release, cohort, route, status, error texts) are only ever
put in `plain_text` objects, which Slack shows exactly as typed: a release named `<!channel>`
cannot ping a channel, and `*v2*`, `_x_`, `~y~` or backticks are not formatting (mrkdwn has no
escape for those). `mrkdwn` is used for what Lookout writes itself: the owner line with its
mentions (built from validated Slack ids) and the links (checked http(s) URLs), with `&`, `<`
and `>` escaped all the same. The notification `text` carries the title and the owner, which
hold no logged values.
"""

from __future__ import annotations

from typing import Any

from lookout.alerts.messages import AlertMessage

__all__ = [
    "MAX_GROUPED",
    "MAX_SECTION_CHARS",
    "escape_mrkdwn",
    "to_block_kit",
    "to_group_block_kit",
]

MAX_GROUPED = 20  # alerts listed in one grouped message (2 blocks each; Slack allows 50 blocks)

MAX_SECTION_CHARS = 3000
_EMOJI = {
    "P0": ":rotating_light:",
    "P1": ":warning:",
    "P2": ":information_source:",
    "resolved": ":white_check_mark:",
}


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


def _owner_line(message: AlertMessage) -> dict[str, Any]:
    mentions = " ".join(message.mentions)
    return {
        "type": "mrkdwn",
        "text": f"*Owner:* {escape_mrkdwn(message.owner_name)} {mentions}".strip(),
    }


def to_block_kit(message: AlertMessage) -> dict[str, Any]:
    """`{channel?, text, blocks}` ready for chat.postMessage (text is the notification)."""
    mentions = " ".join(message.mentions)
    fields = [_plain(f"{f.label}\n{f.value}", 2000) for f in message.facts][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(message.title, 150)},
        {
            "type": "section",
            "text": _plain(f"{_EMOJI.get(message.severity, '')} {message.summary}".strip()),
        },
        {"type": "context", "elements": [_owner_line(message)]},
        {"type": "section", "fields": fields},
    ]
    links = [
        f"<{url}|{escape_mrkdwn(link.label)}>"
        for link in message.links
        if (url := _safe_url(link.url)) is not None
    ]
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "  ·  ".join(links)}]}
        )
    text = _clip(f"{message.title} — owner {message.owner_name}", 3000)
    payload: dict[str, Any] = {
        "text": f"{escape_mrkdwn(text)} {mentions}".strip(),
        "blocks": blocks,
    }
    if message.channel:
        payload["channel"] = message.channel
    return payload


def _links(message: AlertMessage) -> str:
    return "  ·  ".join(
        f"<{url}|{escape_mrkdwn(link.label)}>"
        for link in message.links
        if (url := _safe_url(link.url)) is not None
    )


def to_group_block_kit(messages: list[AlertMessage], title: str) -> dict[str, Any]:
    """Several alerts of one run for one owner as one message: a header, the owner, and per
    alert its title, summary, first fact and links (at most MAX_GROUPED, then a count)."""
    first = messages[0]
    mentions = " ".join(first.mentions)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(title, 150)},
        {"type": "context", "elements": [_owner_line(first)]},
    ]
    for message in messages[:MAX_GROUPED]:
        lines = [f"{_EMOJI.get(message.severity, '')} {message.title}", message.summary]
        lines += [f"{f.label}: {f.value}" for f in message.facts[:1]]
        blocks.append({"type": "section", "text": _plain("\n".join(lines))})
        links = _links(message)
        if links:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    if len(messages) > MAX_GROUPED:
        more = len(messages) - MAX_GROUPED
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more"}]}
        )
    text = _clip(f"{title} — owner {first.owner_name}", 3000)
    payload: dict[str, Any] = {
        "text": f"{escape_mrkdwn(text)} {mentions}".strip(),
        "blocks": blocks,
    }
    if first.channel:
        payload["channel"] = first.channel
    return payload

"""Neutral alert message -> Slack Block Kit payload (pure; golden-file tested).

Slack mrkdwn treats `&`, `<` and `>` as control characters: every string from logged data or
config is escaped, so a release named `<!channel>` cannot ping a channel. Mentions are the only
unescaped control sequences, and they are built from validated Slack ids.
"""

from __future__ import annotations

from typing import Any

from lookout.alerts.messages import AlertMessage

__all__ = ["MAX_SECTION_CHARS", "escape_mrkdwn", "to_block_kit"]

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


def to_block_kit(message: AlertMessage) -> dict[str, Any]:
    """`{channel?, text, blocks}` ready for chat.postMessage (text is the notification)."""
    mentions = " ".join(message.mentions)
    summary = escape_mrkdwn(message.summary)
    fields = [
        {
            "type": "mrkdwn",
            "text": _clip(f"*{escape_mrkdwn(f.label)}*\n{escape_mrkdwn(f.value)}", 2000),
        }
        for f in message.facts
    ][:10]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"{message.title}", 150),
                "emoji": True,
            },
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(
                    f"{_EMOJI.get(message.severity, '')} {summary}\n"
                    f"*Owner:* {escape_mrkdwn(message.owner_name)} {mentions}".strip(),
                    MAX_SECTION_CHARS,
                ),
            },
        },
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
    text = _clip(f"{message.title} — {message.summary} — owner {message.owner_name}", 3000)
    payload: dict[str, Any] = {
        "text": f"{escape_mrkdwn(text)} {mentions}".strip(),
        "blocks": blocks,
    }
    if message.channel:
        payload["channel"] = message.channel
    return payload

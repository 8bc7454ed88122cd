"""Logged values made safe to show in any text: control characters out, links only http(s).

Shared by the email formats (text and HTML) and the PagerDuty events. Escaping for a syntax
(HTML entities) is each format's own job; this only removes what no format should show.
"""

from __future__ import annotations

import re

__all__ = ["clip", "http_url", "one_line", "printable"]

# C0 and C1 controls (tab and newline are kept by `printable`), DEL, and the bidirectional
# overrides and isolates that can make text read differently from what it is
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def printable(text: str) -> str:
    """`text` without control characters; line breaks (`\\r\\n`, `\\r`) become `\\n`."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """`text` on one line: every line break (CR, LF, and Unicode's) becomes a space, so it
    cannot start a new header or a new line that looks like Lookout's own."""
    return printable(_BREAKS.sub(" ", text)).strip()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def http_url(url: str) -> str | None:
    """The URL when it is http(s) and has no whitespace or control characters; else None
    (a `javascript:` or `data:` link is shown as text, never made clickable)."""
    if not url.lower().startswith(("https://", "http://")):
        return None
    if any(c.isspace() for c in url) or _CONTROL.search(url):
        return None
    return url

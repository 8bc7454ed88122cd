"""Logged values inside the HTML Lookout writes: script-safe JSON, plain text for Plotly, the CSP.

Release, cohort, route and status values come from the logs, so anyone who can write a log line
can put markup in them. Three layers keep them data:

- `script_json`: JSON for an inline `<script>` with `<`, `>`, `&`, U+2028 and U+2029 as `\\uXXXX`
  escapes, so no value can end the script (`</script>`), open a comment (`<!--`) or start markup,
  whatever it holds; JavaScript reads the same strings back.
- `plotly_text`: Plotly renders a subset of HTML in labels (`<b>`, `<a href>`, `<span style>`);
  entity-escaped text is shown as the literal characters instead.
- `content_security_policy`: every page forbids every load and every script but the inline
  scripts it names by hash, so an injection that got past the above still would not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "PAGE_CSP",
    "content_security_policy",
    "from_plotly_text",
    "plotly_text",
    "script_hash",
    "script_json",
]

_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
_PLOTLY_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_PLOTLY_ENTITIES = re.compile("&(amp|lt|gt);")
_PLOTLY_CHARS = {"amp": "&", "lt": "<", "gt": ">"}

_BASE_POLICY = (
    "default-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "style-src 'unsafe-inline'",
)


def script_json(value: Any) -> str:
    """`value` (JSON types) as a JavaScript literal that is safe anywhere in an inline `<script>`.

    The characters replaced only ever occur inside JSON strings, where `\\uXXXX` means the same
    character, so the value JavaScript sees is unchanged. The result holds no `<` at all.
    NaN and infinities stay the JavaScript literals `NaN` and `Infinity`, as Evidently writes.
    """
    return json.dumps(value, ensure_ascii=True).translate(_SCRIPT_ESCAPES)


def plotly_text(label: str) -> str:
    """`label` as Plotly text that shows the characters themselves, never as tags.

    One-to-one (`from_plotly_text` undoes it), so distinct labels stay distinct.
    """
    return label.translate(_PLOTLY_ESCAPES)


def from_plotly_text(text: str) -> str:
    """The label `plotly_text` was given, for places that show text as text (React)."""
    return _PLOTLY_ENTITIES.sub(lambda m: _PLOTLY_CHARS[m.group(1)], text)


def script_hash(body: str) -> str:
    """The CSP source that allows exactly this inline script (its text between the tags)."""
    digest = hashlib.sha256(body.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(
    script_hashes: Iterable[str] = (), *, fonts: bool = False, images: bool = False
) -> str:
    """No loads, no plugins, no forms, inline styles only; scripts only those hashed.

    `fonts` allows `data:` fonts (an embedded icon font), `images` `data:` and `blob:` images
    (Plotly draws a chart into one to download it as PNG); neither can run script.
    """
    parts = list(_BASE_POLICY)
    hashes = sorted(set(script_hashes))
    if hashes:
        parts.append("script-src " + " ".join(hashes))
    if fonts:
        parts.append("font-src data:")
    if images:
        parts.append("img-src data: blob:")
    return "; ".join(parts)


PAGE_CSP = content_security_policy()
"""The policy of the jinja pages (indexes, releases, scorecards): they run no script at all."""

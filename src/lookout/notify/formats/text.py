"""Neutral message -> plain-text email body and subject (pure; golden-file tested).

Layout: the title, the one-line summary, the owner, the facts as aligned `label  value` lines,
the tables, the links; a group or digest then lists every alert in it, numbered, each with its
own facts and links. Logged values are shown as they are, less control characters; a value of
several lines continues indented under its label, so it cannot pass for a line of Lookout's.
The subject is one line whatever the title holds (CR and LF would start a forged header).
"""

from __future__ import annotations

from lookout.notify.formats.values import clip, http_url, one_line, printable
from lookout.notify.message import Message, Table

__all__ = ["MAX_SUBJECT_CHARS", "subject", "to_text"]

MAX_SUBJECT_CHARS = 200
FOOTER = "Sent by Lookout."


def subject(message: Message) -> str:
    """The title on one line (no CR/LF), clipped."""
    return clip(one_line(message.title), MAX_SUBJECT_CHARS) or "Lookout alert"


def _block(label: str, value: str, width: int, indent: str) -> list[str]:
    """`label  value`, further lines of the value indented under its first."""
    lines = printable(value).split("\n") or [""]
    pad = indent + " " * (width + 2)
    first = f"{indent}{label.ljust(width)}  {lines[0]}".rstrip()
    return [first, *(f"{pad}{line}".rstrip() for line in lines[1:])]


def _table(table: Table, indent: str) -> list[str]:
    header = [one_line(c) for c in table.columns]
    rows = [[one_line(cell) for cell in row] for row in table.rows]
    widths = [
        max([len(header[i]), *(len(r[i]) for r in rows if i < len(r))]) for i in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        padded = (c.ljust(w) for c, w in zip(cells, widths, strict=False))
        return (indent + " | ".join(padded)).rstrip()

    return [
        f"{indent}{one_line(table.title)}",
        line(header),
        indent + "-+-".join("-" * w for w in widths),
        *(line(r) for r in rows),
    ]


def _section(message: Message, indent: str = "") -> list[str]:
    """Summary, facts, tables, links of one message (the title is the caller's)."""
    out = [f"{indent}{one_line(message.summary)}"] if message.summary else []
    if message.facts:
        width = max(len(one_line(f.label)) for f in message.facts)
        out.append("")
        for fact in message.facts:
            out += _block(one_line(fact.label), fact.value, width, indent)
    for table in message.tables:
        out += ["", *_table(table, indent)]
    if message.links:
        width = max(len(one_line(link.label)) + 1 for link in message.links)
        out.append("")
        for link in message.links:
            url = http_url(link.url) or f"(not a web link) {one_line(link.url)}"
            out.append(f"{indent}{(one_line(link.label) + ':').ljust(width)} {url}")
    return out


def to_text(message: Message) -> str:
    """The whole plain-text body: one alert, or every alert of a group or digest."""
    title = one_line(message.title)
    lines = [title, "=" * min(len(title), 78), ""]
    lines += [f"Owner: {one_line(message.owner)}", ""]
    lines += _section(message)
    for number, item in enumerate(message.items, start=1):
        lines += ["", f"{number}. {one_line(item.title)}"]
        lines += _section(item, indent="   ")
    lines += ["", "-- ", FOOTER]
    return "\n".join(lines) + "\n"

"""Neutral message -> HTML email body (pure; golden-file tested).

One jinja2 template with autoescape on: every logged value (release, cohort, error texts,
table cells, link labels) is text, never markup, and sits only in element content or quoted
attributes where the escaping holds (`"` and `'` are escaped too). Links are made only of
http(s) URLs; anything else is shown as text. Styles are inline (mail clients drop `<style>`),
nothing is loaded from anywhere, and the page carries the reports' content security policy
(no script, no loads) for when it is opened in a browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader

from lookout.core.safe_html import PAGE_CSP
from lookout.notify.formats.text import FOOTER
from lookout.notify.formats.values import http_url, one_line, printable
from lookout.notify.message import Message

__all__ = ["SEVERITY_COLORS", "to_html"]

SEVERITY_COLORS = {"P0": "#b3261e", "P1": "#c25e00", "P2": "#1a56db", "resolved": "#2e7d32"}
_NEUTRAL = "#6b7280"

_ENV = Environment(
    loader=PackageLoader("lookout.notify.formats", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class _TableView:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Part:
    """One message as the template shows it: plain strings, links checked."""

    title: str
    summary: str
    color: str
    facts: tuple[tuple[str, str], ...]
    tables: tuple[_TableView, ...]
    links: tuple[tuple[str, str | None, str], ...]  # label, http(s) URL or None, as shown


def _color(message: Message) -> str:
    if message.kind in ("resolve", "stale"):
        return SEVERITY_COLORS["resolved"]
    return SEVERITY_COLORS.get(message.severity, _NEUTRAL)


def _part(message: Message) -> _Part:
    return _Part(
        title=one_line(message.title),
        summary=one_line(message.summary),
        color=_color(message),
        facts=tuple((one_line(f.label), printable(f.value)) for f in message.facts),
        tables=tuple(
            _TableView(
                one_line(t.title),
                tuple(one_line(c) for c in t.columns),
                tuple(tuple(one_line(cell) for cell in row) for row in t.rows),
            )
            for t in message.tables
        ),
        links=tuple(
            (one_line(link.label), http_url(link.url), one_line(link.url)) for link in message.links
        ),
    )


def to_html(message: Message) -> str:
    """The whole HTML body: one alert, or every alert of a group or digest."""
    main = _part(message)
    return _ENV.get_template("email.html.j2").render(
        csp=PAGE_CSP,
        title=main.title,
        summary=main.summary,
        owner=one_line(message.owner),
        color=main.color,
        main=main,
        items=[_part(item) for item in message.items],
        footer=FOOTER,
    )

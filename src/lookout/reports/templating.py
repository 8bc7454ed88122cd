"""The one jinja2 environment of the HTML pages: autoescaped, with the pages' security policy.

Release, cohort and route labels in the pages are logged data: autoescaping keeps them text, and
`csp` (a `<meta>` in every template) forbids every script and load should anything slip through.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from lookout.core.safe_html import PAGE_CSP

__all__ = ["ENV"]

ENV = Environment(
    loader=PackageLoader("lookout.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["csp"] = PAGE_CSP

"""The escaping behind the reports: script-safe JSON, Plotly text, script hashes, the policy."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from lookout.core.safe_html import (
    PAGE_CSP,
    content_security_policy,
    from_plotly_text,
    plotly_text,
    script_hash,
    script_json,
)
from lookout.reports.evidently_page import plotly_safe_frame, restore_table_labels

HOSTILE = [
    "</script><svg onload=alert(1)>",
    "</SCRIPT >",
    "<!--<script>",
    "-->",
    "]]>",
    "<![CDATA[x]]>",
    "a\u2028b\u2029c",
    "\"quoted\" and 'single'",
    "back\\slash\\\\ and \\u003c",
    "{{ 7*7 }} {% raw %} ${x} `tpl`",
    "日本語 🚀 עברית \u202e RTL",
    "nul\x00 and \n\r\t controls",
    "&amp; &lt; &#60; &",
    "<img src=x onerror=alert(1)>",
]


def _script_text(document: str) -> list[str]:
    """The text of each <script> element as an HTML parser sees it."""

    class Scripts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside = False
            self.found: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "script":
                self.inside = True
                self.found.append("")
            elif self.inside:  # only possible if the script was broken out of
                self.found.append(f"<{tag}>")

        def handle_endtag(self, tag):
            if tag == "script":
                self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.found[-1] += data

        def handle_comment(self, data):
            self.found.append(f"<!--{data}-->")

    parser = Scripts()
    parser.feed(document)
    parser.close()
    return parser.found


@pytest.mark.parametrize("text", HOSTILE)
def test_script_json_keeps_every_value_inside_its_script(text):
    value = {"labels": [text], text: {"x": [text, 1.5, None, True]}}
    literal = script_json(value)
    assert json.loads(literal) == value  # JavaScript reads back exactly the same value
    assert literal.isascii()
    for banned in ("<", ">", "&", "\u2028", "\u2029"):
        assert banned not in literal
    document = f"<p>before</p><script>var data = {literal};</script><p>after</p>"
    assert _script_text(document) == [f"var data = {literal};"]


def test_the_old_way_did_break_out():
    """What Evidently wrote: `json.dumps` alone ends the script at a label's `</script>`."""
    literal = json.dumps({"x": ["</script><svg onload=alert(1)>"]})
    assert _script_text(f"<script>var data = {literal};</script>") != [f"var data = {literal};"]


def test_script_json_keeps_non_finite_numbers_as_javascript_literals():
    assert script_json([float("nan"), float("inf")]) == "[NaN, Infinity]"


@pytest.mark.parametrize("text", HOSTILE)
def test_plotly_text_hides_every_tag_and_comes_back_unchanged(text):
    shown = plotly_text(text)
    assert "<" not in shown and ">" not in shown
    assert from_plotly_text(shown) == text


def test_plotly_text_is_one_to_one():
    labels = ["<b>", "&lt;b&gt;", "&amp;lt;b&amp;gt;", "&", "&amp;", "a&b", "a&amp;b"]
    escaped = [plotly_text(label) for label in labels]
    assert len(set(escaped)) == len(labels)
    assert [from_plotly_text(e) for e in escaped] == labels


def test_a_frame_for_evidently_escapes_only_the_categorical_columns():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"route": ["<b>x</b>", "a&b"], "latency_ms": [1.0, 2.0]})
    out = plotly_safe_frame(frame, ["route"])
    assert out["route"].tolist() == ["&lt;b&gt;x&lt;/b&gt;", "a&amp;b"]
    assert out["latency_ms"].tolist() == [1.0, 2.0]
    assert frame["route"].tolist() == ["<b>x</b>", "a&b"]  # the caller's frame is untouched


def test_the_summary_table_gets_its_labels_back_and_the_charts_keep_theirs():
    escaped = plotly_text("<img src=x onerror=alert(1)>")
    dashboard = {
        "widgets": [
            {
                "params": {
                    "data": [
                        {
                            "reference_distribution": {"x": [escaped, 3], "y": [1, 2]},
                            "current_distribution": {"x": [escaped], "y": [4]},
                        }
                    ]
                },
                "additionalGraphs": [{"params": {"data": [{"x": [escaped]}]}}],
            }
        ]
    }
    restore_table_labels(dashboard)
    row = dashboard["widgets"][0]["params"]["data"][0]
    assert row["reference_distribution"]["x"] == ["<img src=x onerror=alert(1)>", 3]
    assert row["current_distribution"]["x"] == ["<img src=x onerror=alert(1)>"]
    assert dashboard["widgets"][0]["additionalGraphs"][0]["params"]["data"][0]["x"] == [escaped]


def test_script_hash_is_the_csp_source_of_the_exact_text():
    # the example of MDN's Content-Security-Policy script-src page
    assert script_hash("var inline = 1;") == "'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8='"
    assert script_hash("var inline = 1; ") != script_hash("var inline = 1;")


def test_the_policies_allow_no_loads_and_no_script_but_the_hashed():
    directives = dict(d.split(" ", 1) for d in PAGE_CSP.split("; "))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to 'none'
    assert directives["base-uri"] == "'none'" and directives["object-src"] == "'none'"
    report = content_security_policy(["'sha256-b'", "'sha256-a'"], fonts=True, images=True)
    directives = dict(d.split(" ", 1) for d in report.split("; "))
    assert directives["script-src"] == "'sha256-a' 'sha256-b'"
    assert directives["font-src"] == "data:"
    assert directives["img-src"] == "data: blob:"
    for loose in ("'unsafe-eval'", "http", "*", "'self'"):
        assert loose not in report
    assert "'unsafe-inline'" not in directives["script-src"]

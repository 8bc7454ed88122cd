"""Fuzzing the config loaders: whatever the file holds, loading ends in a config or in a
ConfigError whose issues name the file (and a line and column for anything inside the
document), never in another exception.

Three kinds of input, for profiles.yml, monitors.yml and a gate policy alike: valid documents
with a subtree replaced by a hostile value (wrong types, NaN, huge numbers, odd unicode, deep
nesting, templates); the valid text with characters inserted, deleted or cut short (syntax
errors, aliases, tags, control characters); and arbitrary text.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookout.compare.gate import GatePolicy
from lookout.config.loader import load_model, load_monitors, load_profiles
from lookout.errors import ConfigError

PROFILES = """\
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///{{ env_var('WH', 'wh') }}.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
    out_dir: out
    slack: {bot_token: "", default_channel: "#x"}
    judge:
      base_url: "http://127.0.0.1:1/v1"
      model: m
      rpm: 60
      prices: {m: {input_per_1m: 1, output_per_1m: 2}}
    prefect_limits: {warehouse: wh}
"""

MONITORS = """\
owners:
  team: {slack_users: [U0TEAM01], channel: "#team"}
alerting: {inhibit_equal: [monitor, release]}
monitors:
  - name: bot
    source:
      table: requests
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: pv,
                latency_ms: lat, output: answer, context: ctx, status: status}
      cohorts: [region]
    window: {size: 1h, grace: 10m, start: 2026-11-02T00:00:00Z}
    validation:
      expectations:
        - {kind: between, column: latency_ms, min: 0, max: 60000}
        - {kind: in_set, column: region, values: [eu, us]}
    drift: {enabled: true, thresholds: {psi: 0.2}, reference: {kind: week_ago}}
    evaluators:
      enabled: true
      checks: [{name: groundedness, params: {window: 3}}, {name: j, kind: llm, evaluator: safety}]
      sampling: {share: 0.05}
      budget: {max_usd: 5}
    health: {min_rows: 10}
    rules:
      - name: a
        metric: error_rate
        op: ">"
        threshold: 0.1
        owner: team
        split_by: ["*", region]
        escalate: [{severity: P0, threshold: 0.2}]
        reference: {kind: previous_release, change: absolute}
"""

GATE = """\
baseline: previous
period: 7d
min_n: 200
alpha: 0.05
conditions:
  - {metric: error_rate, max_worse: 0.02, cohorts: ["*", region]}
  - {metric: latency_p95_ms, max_worse_relative: 0.1}
"""


def _load_profiles(path: Path) -> object:
    return load_profiles(path, environ={})


def _load_monitors(path: Path) -> object:
    return load_monitors(path, environ={})


def _load_gate(path: Path) -> object:
    return load_model(path, GatePolicy)


FILES: dict[str, tuple[str, Callable[[Path], object]]] = {
    "profiles.yml": (PROFILES, _load_profiles),
    "monitors.yml": (MONITORS, _load_monitors),
    "gate.yml": (GATE, _load_gate),
}

# LOOKOUT_FUZZ_EXAMPLES=5000 for a long hunt; the default keeps the module at a few seconds
EXAMPLES = int(os.environ.get("LOOKOUT_FUZZ_EXAMPLES", "80"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\x07", "\ufeff", "\u202e", "\ud7ff", "\U0001f600", "\t", "\r"]),
    ),
    max_size=40,
)
TEMPLATES = st.sampled_from(
    [
        "{{ env_var('X') }}",
        "{{ env_var('X', 'd') }}",
        "{{ env_var('X', 1) }}",
        "{{ env_var(",
        "{{ 'a' * 10**10 }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{{ env_var('X') | upper }}",
        "{{ x.__class__ }}",
        "}}{{",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([".nan", "-.inf", "1e999", "0x1F", "0o17", "1_000", "2026-13-01", "~", ""]),
    ODD_TEXT,
    TEMPLATES,
    st.text(min_size=2000, max_size=5000, alphabet="ab{}[]:,- "),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(ODD_TEXT, st.integers(), st.booleans()), inner, max_size=4),
    ),
    max_leaves=20,
)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


HOSTILE = st.one_of(VALUES, st.integers(min_value=1, max_value=200).map(_nested))


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in `data` (mapping keys and list indexes)."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


def _check(workdir: Path, name: str, content: str | bytes) -> None:
    """Load `content` as `name`: a config, or a ConfigError with the file and a position."""
    path = workdir / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    try:
        FILES[name][1](path)
    except ConfigError as exc:
        assert exc.issues, "a ConfigError without issues"
        for issue in exc.issues:
            assert issue.file == name, str(issue)
            assert issue.message, str(issue)
            if issue.path:  # a problem inside the document has a line and a column
                top = issue.path.split(".")[0].split("[")[0]
                if isinstance(_top_level(content), dict) and top in _top_level(content):
                    assert issue.line is not None and issue.column is not None, str(issue)


def _top_level(content: str | bytes) -> Any:
    try:
        return yaml.safe_load(content)
    except Exception:
        return None


@pytest.mark.parametrize("name", sorted(FILES))
@SETTINGS
@given(data=st.data(), value=HOSTILE)
def test_a_hostile_value_anywhere_is_a_config_error(workdir, name, data, value):
    base = yaml.safe_load(FILES[name][0])
    paths = _paths(base)
    path = data.draw(st.sampled_from(paths), label="path")
    document = _replace(base, path, value)
    try:
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:  # a value PyYAML cannot write (an unpaired surrogate)
        return
    _check(workdir, name, text)


EDITS = st.sampled_from(
    [
        "",
        "\n",
        " ",
        "\t",
        ":",
        "- ",
        "[",
        "]",
        "{",
        "}",
        '"',
        "'",
        "&a ",
        "*a",
        "<<: *a\n",
        "!!python/object:os.system ",
        "!!int ",
        "!!binary ",
        "%YAML 1.1\n",
        "---\n",
        "...\n",
        "? ",
        "#",
        "\x07",
        "\x00",
        "\ufeff",
        "é",
        "\U0001f600",
        "{{ env_var('X') }}",
        "{{ 9**9**9 }}",
        ".nan",
        "9" * 5000,
        "[" * 300,
    ]
)


@pytest.mark.parametrize("name", sorted(FILES))
@settings(SETTINGS, max_examples=EXAMPLES * 2)
@given(data=st.data())
def test_an_edited_file_is_a_config_error(workdir, name, data):
    text = FILES[name][0]
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="edits")):
        at = data.draw(st.integers(min_value=0, max_value=len(text)), label="at")
        cut = data.draw(st.integers(min_value=0, max_value=8), label="cut")
        text = text[:at] + data.draw(EDITS, label="insert") + text[at + cut :]
    if data.draw(st.booleans(), label="truncate"):
        text = text[: data.draw(st.integers(min_value=0, max_value=len(text)), label="end")]
    _check(workdir, name, text)


@pytest.mark.parametrize("name", sorted(FILES))
@settings(SETTINGS, max_examples=max(EXAMPLES // 2, 1))
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_arbitrary_bytes_or_text_is_a_config_error(workdir, name, content):
    _check(workdir, name, content)

"""Values inside a JSON column (`source.json_fields`: Langfuse's and LiteLLM's `metadata`,
OpenTelemetry `attributes`) used as columns: a window of a table that keeps its prompt
version, route, region and environment in one JSON column stores exactly what the same
records with plain columns store (metrics pushed down, GX in SQL, cohorts, a `where`), on
every engine; a missing key and a JSON null read as NULL; what cannot work is refused at its
key before any read."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import check_refusal, engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
VALIDATION = """\
    validation:
      pushdown: on
      expectations:
        - {kind: not_null, column: record_id, severity: critical}
        - {kind: in_set, column: route, values: [faq, search, fallback]}
"""
JSON_FIELDS = """\
      json_fields:
        prompt_version: metadata.prompt_version
        route: metadata.labels[0]
        region: metadata.account.region
        environment: metadata.environment
"""
# How each engine's test table keeps the JSON: its JSON type where the engine has one
_JSON_TYPE = {
    "duckdb": "ALTER TABLE logged_json ALTER COLUMN metadata TYPE JSON",
    "postgresql": "ALTER TABLE logged_json ALTER COLUMN metadata TYPE jsonb USING metadata::jsonb",
    "mysql": "ALTER TABLE logged_json MODIFY metadata JSON",
}


def _plain() -> pd.DataFrame:
    """The requests with an environment (a third of them staging, which `where` leaves out)
    and a region that some records did not log (missing key) or logged as null."""
    frame = make_requests()
    frame["environment"] = ["staging" if i % 3 == 0 else "production" for i in range(len(frame))]
    frame["region"] = [None if i % 11 in (0, 5) else r for i, r in enumerate(frame["region"])]
    return frame


def _in_json(plain: pd.DataFrame) -> pd.DataFrame:
    """The same records with four of those columns in one `metadata` JSON object."""
    docs = []
    for i, row in enumerate(plain.itertuples()):
        account = {} if i % 11 == 0 else {"region": row.region}  # missing key, or JSON null
        # the route as the first element of an array (`metadata.labels[0]`)
        doc = {"prompt_version": row.prompt_version, "labels": [row.route], "account": account}
        docs.append(json.dumps({**doc, "environment": row.environment, "user-id": i}))
    out = plain.drop(columns=["prompt_version", "route", "region", "environment"])
    out["metadata"] = docs
    return out


def _monitors(table: str, in_json: bool, pushdown: str) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown=pushdown, threshold=0.2)
    text = text.replace("    rules:\n", VALIDATION + "    rules:\n")
    filters = "      where: {environment: production}\n"
    if in_json:
        filters += JSON_FIELDS
    return text.replace("      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + filters)


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_values_inside_a_json_column_store_what_plain_columns_store(engine_name, tmp_path, request):
    url = engine_url(engine_name, tmp_path, request)
    plain = _plain()
    engine = sa.create_engine(url)
    write_table(engine, plain, table="logged_plain")
    write_table(engine, _in_json(plain), table="logged_json")
    if engine_name in _JSON_TYPE:
        with engine.begin() as conn:
            conn.execute(sa.text(_JSON_TYPE[engine_name]))
    engine.dispose()
    pushdown = "auto" if engine_name == "sqlite" else "on"
    columns = _monitors("logged_plain", False, pushdown)
    in_json = _monitors("logged_json", True, pushdown)
    expected = stored_by_window(project(tmp_path, url, "plain", columns), WINDOW)
    stored = stored_by_window(project(tmp_path, url, "json", in_json), WINDOW)
    assert stored == expected
    cohorts = {r[1] for r in expected["metrics"]}
    assert {"route=faq", "region=eu", "region=(null)"} <= cohorts  # missing and null: (null)
    releases = {r[0] for r in expected["metrics"]}
    assert {"m1@p1", "m2@p2"} <= releases  # the release from JSON
    n = sum(r[4] for r in expected["metrics"] if r[1] == "*" and r[2] == "error_rate")
    in_window = plain[
        (plain["event_time"] >= pd.Timestamp(WINDOW.start.replace(tzinfo=None)))
        & (plain["event_time"] < pd.Timestamp(WINDOW.end.replace(tzinfo=None)))
    ]
    assert n == (in_window["environment"] == "production").sum()  # staging left out


def _raw_payloads(plain: pd.DataFrame) -> pd.DataFrame:
    """The same records as a gateway that logs the provider's raw request and response logs
    them: the model, the user's message and the token counts inside arrays and objects."""
    out = plain.drop(columns=["model_version", "prompt", "prompt_tokens", "completion_tokens"])
    out["request"] = [
        json.dumps(
            {
                "model": row.model_version,
                "messages": [
                    {"role": "system", "content": "You are a support assistant."},
                    {"role": "user", "content": row.prompt},
                ],
            }
        )
        for row in plain.itertuples()
    ]
    out["response"] = [
        json.dumps(
            {
                "model": row.model_version,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "..."}}],
                "usage": {
                    "prompt_tokens": int(row.prompt_tokens),
                    "completion_tokens": int(row.completion_tokens),
                },
            }
        )
        for row in plain.itertuples()
    ]
    return out


RAW_PAYLOAD_FIELDS = """\
      json_fields:
        model_version: response.model
        prompt: request.messages[1].content
        prompt_tokens: response.usage.prompt_tokens
        completion_tokens: response.usage.completion_tokens
"""


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_a_table_of_raw_provider_payloads_stores_what_plain_columns_store(
    engine_name, tmp_path, request
):
    """The release, the prompt (the second message of the request's array) and the token
    counts read from raw chat-completion payloads: the window stores the same metrics,
    validation outcomes and alerts as the same records in plain columns."""
    url = engine_url(engine_name, tmp_path, request)
    plain = _plain()
    engine = sa.create_engine(url)
    write_table(engine, plain, table="logged_plain")
    write_table(engine, _raw_payloads(plain), table="logged_raw")
    engine.dispose()
    pushdown = "auto" if engine_name == "sqlite" else "on"
    columns = _monitors("logged_plain", False, pushdown)
    raw = _monitors("logged_raw", False, pushdown).replace(
        "      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + RAW_PAYLOAD_FIELDS
    )
    expected = stored_by_window(project(tmp_path, url, "plain", columns), WINDOW)
    assert stored_by_window(project(tmp_path, url, "raw", raw), WINDOW) == expected
    # the token means are those of the window's production rows, per release (response.model)
    start, end = (pd.Timestamp(t.replace(tzinfo=None)) for t in (WINDOW.start, WINDOW.end))
    rows = plain[plain["event_time"].between(start, end, inclusive="left")]
    rows = rows[rows["environment"] == "production"]
    means = {
        (f"{model}@{prompt}", "*", f"{field}_mean"): round(part[field].mean(), 6)
        for (model, prompt), part in rows.groupby(["model_version", "prompt_version"])
        for field in ("prompt_tokens", "completion_tokens")
    }
    stored = {(r[0], r[1], r[2]): r[3] for r in expected["metrics"] if (r[0], r[1], r[2]) in means}
    assert len(means) == 4 and stored == pytest.approx(means)


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_each_engine_reads_a_value_inside_json_as_text_and_null_as_null(
    engine_name, tmp_path, request
):
    """Strings, numbers, booleans and a key with a dash read as text; a missing key, a JSON
    null, a NULL document and one that is not JSON ('' where nothing was logged, 'n/a') read
    as NULL, and the query does not fail on them. A quoted key with dots or '/' is one
    key of the object (OTel's flat `gen_ai.request.model`), never the nested path its dots
    spell: `"gen.ai"` reads NULL where only `{"gen": {"ai": 1}}` is, and `gen.ai` the other
    way round. Array elements by index from 0 (a raw OpenAI response's
    `choices[0].message.content`, a document that is an array), NULL past the end."""
    from lookout.config.models import SourceConfig
    from lookout.sources.warehouse import Warehouse

    url = engine_url(engine_name, tmp_path, request)
    otel = {"gen_ai.request.model": "gpt-4o", "k8s/pod.name": "p-1", "r": {"service.name": "s"}}
    otel |= {"aws:region": "eu-west-1", "k8s/:pod": "p-2"}  # `/:pod` would bind in SQL text
    choices = [{"message": {"content": "hi"}}, {"message": {"content": "second"}}]
    docs = [
        {"a": {"b": "x"}, "n": 5, "t": True, "z": None, "k-1": "dash", **otel},
        {"a": {}, "n": None, "gen": {"ai": 1}, "gen_ai": {"request": {"model": "nested"}}},
        None,
    ]
    docs[0] |= {"choices": choices, "tags": ["a", 7]}
    docs[1] |= {"choices": [], "tags": []}
    texts = [None if d is None else json.dumps(d) for d in docs] + ["", "n/a"]
    texts.append(json.dumps([{"k": "zero"}, {"k": "top"}]))  # a document that is an array
    texts.append(json.dumps(docs[0])[:60])  # cut short by a line limit: no closing brace
    nested = json.dumps({"a": {"b": "x"}, "c": {"d": 1}, "e": 2})
    texts.append(nested[: nested.index("}, ") + 1])  # cut right after a nested object
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "doc": texts})
    engine = sa.create_engine(url)
    write_table(engine, frame, table="docs")
    engine.dispose()
    paths = {"ab": "doc.a.b", "n": "doc.n", "t": "doc.t", "z": "doc.z", "dash": "doc.k-1"}
    paths |= {
        "model": 'doc."gen_ai.request.model"',
        "pod": 'doc."k8s/pod.name"',
        "service": 'doc.r."service.name"',
        "flat": 'doc."gen.ai"',
        "nested": "doc.gen.ai",
        "aws": 'doc."aws:region"',
        "colon": 'doc."k8s/:pod"',
        "first": "doc.choices[0].message.content",
        "second": "doc.choices[1].message.content",
        "tag": "doc.tags[1]",
        "beyond": "doc.tags[5]",
        "top": "doc[1].k",
        # an index of what is no array: NULL everywhere (MySQL would "autowrap" the value,
        # ClickHouse would read an object's first member)
        "not_array": "doc.a[0]",
        "not_array_deeper": "doc.a[0].b",
        "scalar": "doc.n[0]",
    }
    # from the end: a chat request's last message whatever the conversation's length
    ends = {
        "last": "doc.choices[-1].message.content",
        "second_last": "doc.choices[-2].message.content",
        "last_tag": "doc.tags[-1]",
        "before_start": "doc.tags[-3]",
        "top_last": "doc[-1].k",
        "not_array_end": "doc.a[-1]",
    }
    if engine_name != "snowflake":  # Snowflake's paths have no index from the end
        paths |= ends
    source = SourceConfig(table="docs", columns={"record_id": "id", "ts": "id"}, json_fields=paths)
    warehouse = Warehouse(url)
    try:
        table = warehouse.table(source)
        query = sa.select(
            table.c.id, *(warehouse.column(table, source, n).label(n) for n in paths)
        ).order_by(table.c.id)
        with warehouse.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query).all()]
    finally:
        warehouse.dispose()
    arrays = ("hi", "second", "7", None, None, None, None, None)
    end = len(paths) - len(ends) if "last" in paths else len(paths)
    last = {"r0": ("second", "hi", "7", None, None, None), "r5": (None,) * 4 + ("top", None)}
    expected = [
        (
            "r0",
            "x",
            "5",
            "true",
            None,
            "dash",
            "gpt-4o",
            "p-1",
            "s",
            None,
            None,
            "eu-west-1",
            "p-2",
            *arrays,
        ),
        ("r1", None, None, None, None, None, None, None, None, None, "1", None, None, *[None] * 8),
        *[(f"r{i}", *[None] * end) for i in (2, 3, 4)],
        ("r5", *[None] * (end - 4), "top", None, None, None),
        ("r6", *[None] * end),
        ("r7", *[None] * end),
    ]
    if "last" in paths:
        expected = [(*row, *last.get(row[0], (None,) * len(ends))) for row in expected]
    assert rows == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("{tenant: metadata}", "json_fields.tenant: 'metadata' names no key"),
        ("{tenant: metadata.a b}", "key 'a b' of 'metadata.a b'"),
        ("{tenant: metadata..x}", "key '' of 'metadata..x'"),
        ('{tenant: "meta-data.x"}', "'meta-data' is not a plain SQL identifier"),
        ('{"ten ant": metadata.x}', "is not a plain SQL identifier"),
        ('{model: attributes."gen_ai.model}', "key 'gen_ai.model' of 'attributes.\"gen_ai."),
        ("{model: 'attributes.\"a$b\"'}", "key 'a$b' of 'attributes.\"a$b\"': a key in double"),
        ("{model: 'attributes.\"a\\\\b\"'}", "a key in double quotes is letters, digits"),
        ("{model: 'attributes.\"a b\"'}", "and ':' (no quote, backslash, '$' or space)"),
        ("{model: 'attributes.\"a\"b'}", "after 'attributes.\"a\"', a step starts with"),
        ("{model: 'attributes.a\"b'}", "a quote may only enclose a whole key"),
        ("{model: 'attributes.\"\"'}", "key '' of"),
        ("{model: \"attributes['gen_ai.model']\"}", "double quotes, not brackets or single"),
        ("{model: 'attributes[\"gen_ai.model\"]'}", "double quotes, not brackets or single"),
        ("{text: 'response.choices[-0].text'}", "[-0] of 'response.choices[-0].text': an array"),
        ("{text: 'response.choices[-1000000]'}", "or from -1 (the last) to -999999"),
        ("{text: 'response.choices[x]'}", "[x] of 'response.choices[x]': an array index is"),
        ("{text: 'response.choices[0'}", "'response.choices[0': a '[' is not closed"),
        ("{text: 'response.choices]'}", "a ']' without its '['"),
        ("{text: 'response.choices[0]x'}", "after 'response.choices[0]', a step starts with"),
        ("{text: 'attributes.\"a.b\"c'}", "after 'attributes.\"a.b\"', a step starts with"),
        ("{text: 'response.choices[1000000]'}", "from 0 (the first element) to 999999"),
        ("{model: \"attributes.'gen_ai.model'\"}", "double quotes, not brackets or single"),
    ],
)
def test_a_path_that_is_no_path_is_a_config_error_at_its_key(tmp_path, fields, expected):
    text = _monitors("logged_json", False, "auto").replace(
        "      ok_statuses: [ok]\n", f"      ok_statuses: [ok]\n      json_fields: {fields}\n"
    )
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    message = str(raised.value)
    assert expected in message
    assert "monitors.yml:" in message and "monitors[0].source.json_fields" in message


@pytest.mark.parametrize(
    "fields",
    [
        '{model: attributes."gen_ai.request.model", service: resource."service.name".x}',
        '\n        model: attributes."gen_ai.request.model"'
        '\n        service: resource."service.name".x',
    ],
)
def test_a_quoted_key_is_written_in_yaml_without_more_quoting(tmp_path, fields):
    """`attributes."gen_ai.request.model"` is a plain YAML scalar (the quote is not its first
    character), in flow and block style; the keys come back without their quotes."""
    text = _monitors("logged_json", False, "auto").replace(
        "      ok_statuses: [ok]\n", f"      ok_statuses: [ok]\n      json_fields: {fields}\n"
    )
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    config = load_config(directory / "profiles.yml", directory / "monitors.yml")
    source = config.monitors.monitors[0].source
    assert source.json_path("model") == ("attributes", ("gen_ai.request.model",))
    assert source.json_path("service") == ("resource", ("service.name", "x"))


def test_a_duration_from_a_value_inside_json_is_a_config_error(tmp_path):
    text = (
        _monitors("logged_json", True, "auto")
        .replace("        latency_ms: latency_ms\n", "")
        .replace(
            JSON_FIELDS,
            JSON_FIELDS + "        ended: metadata.ended\n"
            "      durations: {latency_ms: {start: event_time, end: ended}}\n",
        )
    )
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    assert "source.durations.latency_ms.end: ended is a value inside JSON" in str(raised.value)


def _duckdb_json_table(tmp_path) -> str:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, _in_json(_plain()), table="logged_json")
    engine.dispose()
    return url


def test_what_the_table_cannot_give_is_named_at_its_key_by_the_warehouse_check(tmp_path):
    url = _duckdb_json_table(tmp_path)
    fields = JSON_FIELDS + (
        "        status: attributes.status\n"  # a real column's name
        "        plan: attrs.plan\n"  # no such JSON column
        "        tier: latency_ms.tier\n"  # not a JSON column
        "        score: metadata.score\n"
        "        seen_at: metadata.seen_at\n"
    )
    text = _monitors("logged_json", True, "auto").replace(JSON_FIELDS, fields)
    text = text.replace("        ingested_at: ingested_at\n", "        ingested_at: seen_at\n")
    text = text.replace(
        "    rules:\n", "    drift:\n      features: {numeric: [score]}\n    rules:\n"
    )
    message = check_refusal(project(tmp_path, url, "cfg", text), url)
    assert "source.json_fields.status: 'status' is a column of table 'logged_json'" in message
    assert "source.json_fields.plan: column 'attrs' is not in table 'logged_json'" in message
    assert (
        "source.json_fields.tier: column 'latency_ms' is FLOAT; a value is read from a JSON "
        "or text column" in message
    )
    assert (
        "drift.features.numeric[0]: 'score' is a value inside JSON column 'metadata', read as "
        "text; this role needs a numeric type"
    ) in message
    assert "source.columns.ingested_at: 'seen_at' is a value inside JSON column" in message
    assert "columns.route" not in message and "cohorts" not in message  # those are fine


def test_an_engine_without_a_module_refuses_json_fields_before_any_read(tmp_path):
    from tests.dialects import generic_dialect

    generic_dialect.register()
    path = tmp_path / "wh.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    write_table(engine, _in_json(_plain()), table="logged_json")
    engine.dispose()
    url = f"{generic_dialect.NAME}:///{path}"
    text = _monitors("logged_json", True, "off")
    refused = check_refusal(project(tmp_path, url, "cfg", text), url)
    assert "source.json_fields.route: generic has no dialect module to read a value" in refused


def test_a_changed_path_is_a_new_reading_for_stored_drift_summaries_and_cached_profiles(
    tmp_path,
):
    from lookout.sources.drift_columns import drift_columns
    from lookout.stages.drift.pooling import mark
    from lookout.stages.drift.reference import Reference

    def monitor(name: str, fields: str):
        text = _monitors("logged_json", True, "auto").replace(JSON_FIELDS, fields)
        directory = project(tmp_path, "duckdb:///:memory:", name, text)
        return load_config(
            directory / "profiles.yml", directory / "monitors.yml"
        ).monitors.monitors[0]

    one = monitor("a", JSON_FIELDS)
    other = monitor("b", JSON_FIELDS.replace("metadata.account.region", "metadata.region"))
    assert one.source.reading and other.source.reading != one.source.reading
    marks = {mark(drift_columns(m), ["region"], m.source.reading) for m in (one, other)}
    assert len(marks) == 2
    reference = Reference("r", WINDOW)
    assert reference.key(one, ["x"]) != reference.key(other, ["x"])
    plain = _monitors("logged_plain", False, "auto").replace(
        "      where: {environment: production}\n", ""
    )
    directory = project(tmp_path, "duckdb:///:memory:", "plain", plain)
    config = load_config(directory / "profiles.yml", directory / "monitors.yml")
    assert config.monitors.monitors[0].source.reading == ""  # unchanged without json_fields


def test_a_latency_inside_json_is_parsed_as_a_text_column_is(tmp_path):
    """A measurement from JSON is text, parsed per record as a TEXT latency column is: the
    window stores what the plain numbers store (DuckDB, metrics pushed down)."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    plain = _plain()
    in_json = _in_json(plain)
    in_json["metadata"] = [
        json.dumps({**json.loads(d), "latency": v})
        for d, v in zip(in_json["metadata"], plain["latency_ms"], strict=True)
    ]
    engine = sa.create_engine(url)
    write_table(engine, plain, table="logged_plain")
    write_table(engine, in_json.drop(columns=["latency_ms"]), table="logged_json")
    engine.dispose()
    fields = JSON_FIELDS + "        latency: metadata.latency\n"
    text = _monitors("logged_json", True, "on").replace(JSON_FIELDS, fields)
    text = text.replace("        latency_ms: latency_ms\n", "        latency_ms: latency\n")
    expected = stored_by_window(
        project(tmp_path, url, "plain", _monitors("logged_plain", False, "on")), WINDOW
    )
    assert stored_by_window(project(tmp_path, url, "json", text), WINDOW) == expected
    assert any(r[2] == "latency_p95_ms" for r in expected["metrics"])


@pytest.mark.parametrize("pushdown", ["on", "off"])
def test_the_tables_own_columns_are_what_columns_present_sees(tmp_path, pushdown):
    """`columns_present` with `exact` names the table's columns; the json fields are no
    columns of it, on the DataFrame path as in SQL (the DataFrame path had counted them as
    extra columns and failed)."""
    url = f"duckdb:///{tmp_path / 'wh.db'}"
    table = _in_json(_plain())
    engine = sa.create_engine(url)
    write_table(engine, table, table="logged_json")
    engine.dispose()
    names = ", ".join(table.columns)
    schema = f"        - {{kind: columns_present, columns: [{names}], exact: true}}\n"
    monitors = _monitors("logged_json", True, "auto").replace(
        "      pushdown: on\n      expectations:\n",
        f"      pushdown: {pushdown}\n      expectations:\n" + schema,
    )
    stored = stored_by_window(project(tmp_path, url, "json", monitors), WINDOW)
    [present] = [r for r in stored["validations"] if r[1] == "columns_present"]
    assert present[2] == "passed" and present[4] == ("sql" if pushdown == "on" else "pandas")


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_a_path_no_row_holds_is_a_warning_of_the_warehouse_check_with_the_keys_held(
    engine_name, tmp_path, request
):
    """`metadata.account.zone` where the rows write `metadata.account.region`: every record
    reads NULL, which no type check sees (a user's prompt tokens vanished that way, runs all
    succeeding). `validate-config --check-warehouse` reads each path on the rows and warns,
    naming the keys the rows hold where the path stops matching; a path that some rows hold
    (the region, missing in a few) is not warned about."""
    url = engine_url(engine_name, tmp_path, request)
    engine = sa.create_engine(url)
    write_table(engine, _in_json(_plain()), table="logged_json")
    if engine_name in _JSON_TYPE:
        with engine.begin() as conn:
            conn.execute(sa.text(_JSON_TYPE[engine_name]))
    engine.dispose()
    text = _monitors("logged_json", True, "auto").replace(
        JSON_FIELDS, JSON_FIELDS + "        zone: metadata.account.zone\n"
    )
    directory = project(tmp_path, url, "cfg", text)
    result = _check_warehouse(directory)
    assert result.exit_code == 0, result.output  # a warning, not a refusal
    output = " ".join(result.output.split())
    # the file given and the key's line (`zone:`, the last line of json_fields)
    line = text.splitlines().index("        zone: metadata.account.zone") + 1
    assert (
        f"warning: {directory / 'monitors.yml'}:{line}:9: monitors[0].source.json_fields.zone: "
        "'metadata.account.zone' is NULL in all 600 rows read whose 'metadata' is set: check "
        "the keys' spelling; at 'metadata.account' the rows hold: region"
    ) in output
    assert output.count(".json_fields.") == 1  # region, route, prompt_version are found


def _check_warehouse(directory):  # type: ignore[no-untyped-def]
    """`lookout validate-config --check-warehouse` on the project in `directory`."""
    from typer.testing import CliRunner

    from lookout.cli import app

    files = ["--profiles", str(directory / "profiles.yml")]
    files += ["--monitors", str(directory / "monitors.yml")]
    return CliRunner().invoke(app, ["validate-config", "--check-warehouse", *files])


def test_a_dotted_key_read_as_a_path_is_pointed_to_its_quoted_form(tmp_path):
    """OpenTelemetry writes `app.tenant` as one key; `metadata.app.tenant` reads `app` then
    `tenant`, NULL on every row: the warning names the quoted form the rows hold."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    logged = _in_json(_plain())
    logged["metadata"] = [
        json.dumps({**json.loads(doc), "app.tenant": "acme"}) for doc in logged["metadata"]
    ]
    engine = sa.create_engine(url)
    write_table(engine, logged, table="logged_json")
    engine.dispose()
    text = _monitors("logged_json", True, "auto").replace(
        JSON_FIELDS, JSON_FIELDS + "        tenant: metadata.app.tenant\n"
    )
    directory = project(tmp_path, url, "cfg", text)
    result = _check_warehouse(directory)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "json_fields.tenant: 'metadata.app.tenant' is NULL in all" in output
    assert 'one key with dots is written quoted: metadata."app.tenant"' in output


@pytest.mark.snowflake
def test_an_index_from_the_end_on_snowflake_is_named_by_the_warehouse_check(tmp_path, request):
    """Snowflake's paths count from 0 only: `messages[-1]` is refused at its key before a
    window's query would fail on it; the same path on DuckDB is read."""
    url = engine_url("snowflake", tmp_path, request)
    engine = sa.create_engine(url)
    write_table(engine, _in_json(_plain()), table="logged_json")
    engine.dispose()
    fields = JSON_FIELDS + "        last_tag: metadata.tags[-1]\n"
    text = _monitors("logged_json", True, "auto").replace(JSON_FIELDS, fields)
    message = check_refusal(project(tmp_path, url, "cfg", text), url)
    assert (
        "source.json_fields.last_tag: snowflake paths have no index from the end ([-1])" in message
    )


@pytest.mark.parametrize(
    "engine_name", ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@pytest.mark.parametrize("pushdown", ["on", "off"])
def test_an_expectation_reads_a_value_inside_json_that_is_no_cohort(
    engine_name, pushdown, tmp_path, request
):
    """`finish_reason` logged inside the response JSON: an `in_set` on it needs no cohort (a
    trial made it one to be allowed, and its `(null)` cohort of error rows paged every hour);
    the expectation counts exactly the window's rows of other values."""
    if engine_name == "sqlite" and pushdown == "on":
        pytest.skip("SQLite validates in SQL only where asked; `on` needs percentile_cont")
    url = engine_url(engine_name, tmp_path, request)
    frame = _in_json(_plain())
    reasons = ["length" if i % 7 == 0 else "stop" for i in range(len(frame))]
    frame["metadata"] = [
        json.dumps({**json.loads(doc), "finish_reason": why})
        for doc, why in zip(frame["metadata"], reasons, strict=True)
    ]
    engine = sa.create_engine(url)
    write_table(engine, frame, table="logged_json")
    engine.dispose()
    text = _monitors("logged_json", True, "auto")
    text = text.replace("pushdown: on", f"pushdown: {pushdown}")
    text = text.replace(
        JSON_FIELDS, JSON_FIELDS + "        finish_reason: metadata.finish_reason\n"
    )
    text = text.replace(
        "        - {kind: in_set, column: route, values: [faq, search, fallback]}\n",
        "        - {kind: in_set, column: finish_reason, values: [stop]}\n",
    )
    stored = stored_by_window(project(tmp_path, url, "cfg", text), WINDOW)
    start, end = (pd.Timestamp(t.replace(tzinfo=None)) for t in (WINDOW.start, WINDOW.end))
    plain = _plain()
    kept = plain["event_time"].between(start, end, inclusive="left") & (
        plain["environment"] == "production"
    )
    truncated = pd.Series(reasons, index=plain.index)[kept] == "length"
    releases = (plain["model_version"] + "@" + plain["prompt_version"])[kept]
    expected = {
        (release, "failed", int(truncated[releases == release].sum())) for release in set(releases)
    }
    outcomes = {(r[0], r[2], r[3]) for r in stored["validations"] if r[1] == "in_set_finish_reason"}
    assert outcomes == expected and all(n > 0 for _, _, n in expected), stored["validations"]


def test_an_index_from_the_end_past_the_start_is_a_warning_not_a_traceback(tmp_path):
    """`metadata.labels[-2]` where every `labels` holds one element: NULL on every row, which
    the warehouse check warns about (its probe walked the index past the start and raised)."""
    url = _duckdb_json_table(tmp_path)
    text = _monitors("logged_json", True, "auto").replace(
        JSON_FIELDS, JSON_FIELDS + "        before_first: metadata.labels[-2]\n"
    )
    result = _check_warehouse(project(tmp_path, url, "cfg", text))
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "monitors[0].source.json_fields.before_first: 'metadata.labels[-2]' is NULL" in output


@pytest.mark.parametrize(
    "engine_name",
    ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
     pytest.param("mysql", marks=pytest.mark.mysql)],
)  # fmt: skip
def test_an_index_from_the_end_passes_the_warehouse_check_where_the_server_reads_it(
    engine_name, tmp_path, request
):
    """The check tries an index from the end on a literal where one is configured (MariaDB
    before 10.9 has no `[last]`, and every window would fail); these servers read it."""
    url = engine_url(engine_name, tmp_path, request)
    engine = sa.create_engine(url)
    write_table(engine, _in_json(_plain()), table="logged_json")
    engine.dispose()
    text = _monitors("logged_json", True, "auto").replace(
        JSON_FIELDS, JSON_FIELDS + "        last_label: metadata.labels[-1]\n"
    )
    result = _check_warehouse(project(tmp_path, url, "cfg", text))
    assert result.exit_code == 0, result.output
    assert "last_label" not in result.output  # neither refused nor NULL on every row


def test_the_index_from_the_end_probe_runs_once_per_warehouse(tmp_path):
    """Every run checks its monitors: the server is asked once whether it reads an index from
    the end, not once per path and run."""
    from lookout.sources.warehouse import Warehouse

    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"  # its reads go through SQLAlchemy's cursor
    engine = sa.create_engine(url)
    write_table(engine, _in_json(_plain()), table="logged_json")
    engine.dispose()
    text = _monitors("logged_json", True, "auto").replace(
        JSON_FIELDS,
        JSON_FIELDS + "        last_label: metadata.labels[-1]\n"
        "        first_label: metadata.labels[-2]\n",
    )
    directory = project(tmp_path, url, "cfg", text)
    config = load_config(directory / "profiles.yml", directory / "monitors.yml")
    [monitor] = config.monitors.monitors
    warehouse = Warehouse(url)
    probes: list[str] = []

    def seen(conn, cursor, statement, parameters, *args):  # type: ignore[no-untyped-def]
        if "[1, 2]" in f"{statement} {parameters}":  # the literal document, bound or inlined
            probes.append(statement)

    try:
        sa.event.listen(warehouse.engine, "before_cursor_execute", seen)
        warehouse.check_monitor(monitor)
        warehouse.check_monitor(monitor)
    finally:
        warehouse.dispose()
    assert len(probes) == 1, probes


def test_a_path_that_starts_with_an_index_names_its_column(tmp_path):
    """`retrieved_docs[0].doc_id` (the column is a JSON array): the check took
    `retrieved_docs[0]` for the column's name and refused it, every window too."""
    plain = _plain()
    plain["retrieved_docs"] = [json.dumps([{"doc_id": f"d{i}"}]) for i in range(len(plain))]
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, plain, table="requests_docs")
    engine.dispose()
    text = _monitors("requests_docs", False, "auto").replace(
        "      ok_statuses: [ok]\n",
        "      ok_statuses: [ok]\n      json_fields: {top_doc: 'retrieved_docs[0].doc_id'}\n",
    )
    text = text.replace(
        "      cohorts: [route, region]\n", "      cohorts: [route, region, top_doc]\n"
    )
    directory = project(tmp_path, url, "cfg", text)
    result = _check_warehouse(directory)
    assert result.exit_code == 0, result.output
    stored = stored_by_window(directory, WINDOW)
    assert any(r[1].startswith("top_doc=d") for r in stored["metrics"])


@pytest.mark.clickhouse
def test_values_in_a_clickhouse_map_store_what_plain_columns_store(tmp_path, request):
    """Langfuse keeps a trace's tenant, token counts and cost breakdown in ClickHouse Maps
    (`metadata Map(LowCardinality(String), String)`): the check refused them ("a value is
    read from a JSON or text column"; trial J). A first key is read from the Map, the rest of
    the path from its value as JSON text; a missing key is NULL, not the Map's default ''."""
    url = engine_url("clickhouse", tmp_path, request)
    plain = _plain()
    engine = sa.create_engine(url)
    write_table(engine, plain, table="logged_plain")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE logged_map ENGINE = MergeTree ORDER BY tuple() AS SELECT * EXCEPT "
                "(prompt_version, route, region, environment), CAST(mapFilter((k, v) -> "
                "v != '', map('prompt_version', ifNull(prompt_version, ''), 'labels', "
                "concat('[\"', ifNull(route, ''), '\"]'), 'account', if(region IS NULL, "
                "'{}', concat('{\"region\": \"', region, '\"}')), 'environment', "
                "ifNull(environment, ''))) AS Map(LowCardinality(String), String)) AS metadata "
                "FROM logged_plain"
            )
        )
    engine.dispose()
    expected = stored_by_window(
        project(tmp_path, url, "plain", _monitors("logged_plain", False, "on")), WINDOW
    )
    in_map = project(tmp_path, url, "map", _monitors("logged_map", True, "on"))
    assert _check_warehouse(in_map).exit_code == 0
    assert stored_by_window(in_map, WINDOW) == expected
    assert {"region=eu", "region=(null)"} <= {r[1] for r in expected["metrics"]}
    indexed = _monitors("logged_map", True, "on").replace(
        "metadata.labels[0]", "metadata[0]"
    )  # a Map has keys, not indexes: refused at the key, not by every window's query
    said = _check_warehouse(project(tmp_path, url, "indexed", indexed))
    assert said.exit_code != 0
    assert "json_fields.route: column 'metadata' is Map(" in " ".join(said.output.split())

"""The config reference renderer: key paths, types, defaults and descriptions from models."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from lookout.config.reference import ConfigFile, render_reference, sections


class Inner(BaseModel):
    """Where the inner things live."""

    size: timedelta = Field(default=timedelta(minutes=15), description="how long")
    labels: list[str] = Field(default=["a", "-1", "on"], description="the labels")


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(default=9, ge=1, description="how many")


class Dog(BaseModel):
    kind: Literal["dog"]
    bark: bool = Field(default=True, description="whether it barks")


class Root(BaseModel):
    """The file."""

    name: str = Field(description="a name, e.g. <name> or `<code>`; a * b | c")
    for_: int | None = Field(default=None, alias="for", ge=1, description="in a row")
    op: Literal[">", "<="] = Field(default=">", description="which way")
    token: SecretStr | None = Field(default=None, description="from the environment")
    inner: Inner = Inner()
    tuned: Inner = Field(default=Inner(size=timedelta(hours=2)), description="a tuned one")
    many: list[Inner] = Field(default=[], description="several")
    by_name: dict[str, Inner] = Field(default={}, description="named ones")
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")]] = Field(
        default=[], description="animals"
    )


def _rows(root: type[BaseModel]) -> dict[str, tuple[str, str, str]]:
    return {
        row.key: (row.type, row.default, row.description)
        for section in sections(root, "f")
        for row in section.rows
    }


def test_key_paths_follow_yaml_nesting_and_aliases() -> None:
    keys = list(_rows(Root))
    assert keys[:4] == ["name", "for", "op", "token"]  # declaration order, alias as written
    for key in ("inner.size", "many[].labels", "by_name.<name>.size", "pets[].lives"):
        assert key in keys
    titles = [(s.key, s.kind) for s in sections(Root, "f")]
    assert titles == [
        ("", None),
        ("inner", None),
        ("tuned", None),
        ("many[]", None),
        ("by_name.<name>", None),
        ("pets[]", "cat"),
        ("pets[]", "dog"),
    ]


def test_types_defaults_and_bounds_read_like_the_yaml_file() -> None:
    rows = _rows(Root)
    assert rows["for"][:2] == ("integer (>= 1), or `null`", "`null`")
    assert rows["op"][:2] == ('one of `">"`, `<=`', '`">"`')
    assert rows["token"][0] == "secret, or `null`"
    assert rows["inner.size"][:2] == ("duration", "`15m`")
    assert rows["inner.labels"][1] == '`[a, "-1", "on"]`'  # strings YAML would misread, quoted
    assert rows["inner"][1] == "`{}`"  # a nested mapping at its defaults
    assert rows["tuned"][1] == "`{size: 2h}`"  # only what differs from the defaults
    assert rows["name"][1] == "required"
    assert rows["many"][0] == "list, each: [mapping](#f-many)"
    assert rows["by_name"][0] == "map of name to [mapping](#f-by_name-name)"
    assert rows["pets"][0] == (
        "list, each: mapping by `kind`: [`cat`](#f-pets-cat), [`dog`](#f-pets-dog)"
    )
    assert rows["pets[].lives"][:2] == ("integer (>= 1)", "`9`")


def test_descriptions_come_from_fields_docstrings_or_the_tag() -> None:
    rows = _rows(Root)
    assert rows["inner"][2] == "Where the inner things live."  # the nested model's docstring
    assert rows["tuned"][2] == "a tuned one"  # the field's own description first
    tags = {
        s.kind: row.description
        for s in sections(Root, "f")
        for row in s.rows
        if row.key == "pets[].kind"
    }
    assert tags == {"cat": "`cat` selects this kind", "dog": "`dog` selects this kind"}
    # prose stays text: no HTML tag, no emphasis, no cell break; code spans are left alone
    assert rows["name"][2] == "a name, e.g. &lt;name&gt; or `<code>`; a \\* b \\| c"


def test_the_page_has_a_heading_with_an_anchor_per_mapping_and_a_row_per_key() -> None:
    page = render_reference("Title", "Intro.", [ConfigFile("file.yml", "f", Root, "The file.")])
    assert page.startswith("# Title\n\nIntro.\n\n## file.yml {#f}\n\nThe file.\n")
    assert "### `pets[]` with `kind: dog` {#f-pets-dog}" in page
    assert "### `by_name.<name>` {#f-by_name-name}\n\nWhere the inner things live.\n" in page
    row = "| <code>by_name.<wbr>&lt;name&gt;.<wbr>size</code> | duration | `15m` | how long |"
    assert row in page  # a key path may wrap after a dot, never inside a name
    assert page.count("| key | type | default | description |") == 7


def test_a_type_without_words_is_an_error_naming_its_key_path() -> None:
    class Odd(BaseModel):
        blob: bytes = b""

    class Holder(BaseModel):
        odds: list[Odd] = []

    with pytest.raises(TypeError, match=r"odds\[\]\.blob: the config reference has no words"):
        sections(Holder, "f")

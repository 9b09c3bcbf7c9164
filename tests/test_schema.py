"""`nsm schema`: the JSON Schema an editor uses agrees with the parser, both ways.

The parser's allowed keys are read from the parser's own messages (what it says when it meets
an unknown key), never from the key table, so a key added to one and not the other fails here.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, TREES, plain_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

jsonschema = pytest.importorskip("jsonschema")

README = (ROOT / "README.md").read_text(encoding="utf-8")
UNKNOWN = "zzqqxx"  # close to no key, so the parser lists every allowed one

PROBE = f"""
name: probe
{UNKNOWN}: 1
data:
  d: {{path: d.csv, {UNKNOWN}: 1, format: {UNKNOWN}}}
root:
  id: r
  {UNKNOWN}: 1
  source: {{data: d, column: a, agg: {UNKNOWN}, {UNKNOWN}: 1}}
  direction: {UNKNOWN}
  alert: {{{UNKNOWN}: 1}}
scenarios:
  s: {{set: {{r: 1}}, {UNKNOWN}: 1}}
"""


def json_of(*args: str) -> dict:
    """What `nsm ARGS` prints on stdout, read as JSON."""
    import contextlib
    import io

    from nsm_cli.cli.main import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(list(args))
    return json.loads(buffer.getvalue())


@pytest.fixture(scope="module")
def schema():
    return json_of("schema")


@pytest.fixture(scope="module")
def parser_says(tmp_path_factory):
    """What the parser says about the probe: its messages."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "d.csv").write_text("period,a\n2025-06,1\n", encoding="utf-8")
    (folder / "probe.yaml").write_text(PROBE, encoding="utf-8")
    result = json_of("check", str(folder / "probe.yaml"), "--format", "json")
    return [d["message"] for d in result["diagnostics"]]


def listed(messages: list[str], pattern: str) -> set[str]:
    [match] = [m for m in (re.search(pattern, text) for text in messages) if m]
    return {word.strip() for word in re.split(r",| or ", match.group(1))}


SECTIONS = {  # section → (where its properties are in the schema, what the parser says)
    "top": (lambda s: s, r"in the tree file: the tree file keys are (.*)$"),
    "node": (lambda s: s["$defs"]["node"], r"in a node: a node keys are (.*)$"),
    "data": (lambda s: s["$defs"]["data"], r"in data 'd': data 'd' keys are (.*)$"),
    "source": (lambda s: s["$defs"]["source"], r"in 'source': 'source' keys are (.*)$"),
    "scenario": (lambda s: s["$defs"]["scenario"], r"scenario 's' keys are (.*)$"),
    "alert": (lambda s: s["$defs"]["alert"], r"in alert of 'r': rules are (.*)$"),
}


@pytest.mark.parametrize("section", SECTIONS)
def test_the_parser_accepts_exactly_the_keys_the_schema_has(schema, parser_says, section):
    where, pattern = SECTIONS[section]
    in_schema = set(where(schema)["properties"])
    in_parser = listed(parser_says, pattern)
    assert in_parser - in_schema == set(), "the parser accepts keys the schema lacks"
    assert in_schema - in_parser == set(), "the schema has keys the parser refuses"


@pytest.mark.parametrize("section, key, pattern", [
    ("source", "agg", r"agg must be one of (.*), not "),
    ("node", "direction", r"direction must be (.*), not "),
    ("data", "format", r"format must be (.*), not "),
])
def test_the_choices_of_a_key_are_the_parsers(schema, parser_says, section, key, pattern):
    where = SECTIONS[section][0](schema)
    assert set(where["properties"][key]["enum"]) == listed(parser_says, pattern)


def test_the_schema_is_a_valid_draft_2020_12_schema_with_a_description_for_every_key(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for where, _ in SECTIONS.values():
        for name, body in where(schema)["properties"].items():
            assert len(body["description"]) > 10, name


DRAFT_07 = "http://json-schema.org/draft-07/schema#"
KEYWORDS_OF_BOTH_DRAFTS = {  # mean the same under draft-07, where some editors stop
    "$schema", "title", "description", "type", "properties", "additionalProperties",
    "required", "$defs", "$ref", "allOf", "anyOf", "enum", "pattern", "items", "minItems",
    "maxItems", "minimum", "propertyNames", "minProperties"}


def keywords(schema, under: str = "") -> set[str]:
    if isinstance(schema, list):
        return {k for item in schema for k in keywords(item)}
    if not isinstance(schema, dict):
        return set()
    names = set() if under in ("properties", "$defs") else set(schema)
    return names | {k for key, value in schema.items() for k in keywords(value, key)}


def test_the_schema_reads_the_same_under_draft_07(schema):
    assert keywords(schema) - KEYWORDS_OF_BOTH_DRAFTS == set()
    for body in [schema, *schema["$defs"].values()]:  # no $ref with siblings (07 drops them)
        for prop in body.get("properties", {}).values():
            assert "$ref" not in prop or set(prop) == {"$ref"}
    jsonschema.Draft7Validator.check_schema({**schema, "$schema": DRAFT_07})


def errors(schema, document) -> list[str]:
    """The 2020-12 validator's complaints; a draft-07 validator must agree on the verdict."""
    found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
             for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
    draft7 = jsonschema.Draft7Validator({**schema, "$schema": DRAFT_07})
    assert bool(found) == (not draft7.is_valid(document))
    return found


@pytest.mark.parametrize("path", sorted(TREES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_tree_validates(schema, path):
    assert errors(schema, plain_yaml(path.read_text(encoding="utf-8"))) == []


def readme_yaml() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def test_every_tree_and_node_the_readme_shows_validates(schema):
    trees = nodes = 0
    node_schema = {"$schema": schema["$schema"], "$defs": schema["$defs"],
                   "$ref": "#/$defs/node"}
    for block in readme_yaml():
        document = plain_yaml(block)
        if isinstance(document, dict) and "root" in document:
            trees += 1
            assert errors(schema, document) == [], block
        elif isinstance(document, list) and all("id" in item for item in document):
            nodes += len(document)
            for item in document:
                assert errors(node_schema, item) == [], block
    assert trees >= 1 and nodes >= 3


BASE = """
name: t
data: {d: d.csv}
root:
  id: r
  unit: "%"
  formula: a * b
  target: 92%
  children:
    - {id: a, source: d.a, benchmark: 0.5, owner: team, actions: [act], domain: [0, null]}
    - id: b
      formula: 2 * a
      children: [{ref: a}]
guardrails:
  - {id: g, unit: "%", source: {data: d, column: g, agg: mean}, max: 3%, direction: down,
     alert: {falls_for: 2, change_above: +2pp}}
scenarios:
  s: {description: what if, set: {a: "+10%"}}
"""


def test_a_tree_with_every_kind_of_value_validates(schema):
    assert errors(schema, plain_yaml(BASE)) == []


SPELLINGS = [  # values as people write them: the parser reads them, so the schema must too
    ("target: 92%", "target: 0.92"), ("target: 92%", 'target: "1,200"'),
    ("target: 92%", "target: 1.2e3"), ("change_above: +2pp", "change_above: −2PP"),
    ("change_above: +2pp", "change_above: 5 %"), ("change_above: +2pp", "change_above: +1pts"),
    ("falls_for: 2", "falls_for: 2.0"), ("name: t", "name: 2025"),
    ("name: t", "name: t\nversion: 1"),
    ("domain: [0, null]", "domain: [null, 5%]"), ("id: r", "id: _r"),
    ("{id: a, source: d.a,", "{id: a, name: 7, unit: 2, source: d.a,"),
    ("data: {d: d.csv}", "data: {d: {path: d.csv, period_column: period, format: wide}}"),
]


@pytest.mark.parametrize("old, new", SPELLINGS)
def test_what_the_parser_accepts_validates(schema, nsm, write, old, new):
    tree = BASE.replace(old, new, 1)
    assert old in BASE and errors(schema, plain_yaml(tree)) == []
    write("d.csv", "period,a,g\n2025-06,1,0.02\n")
    write("t.yaml", tree)
    found = json.loads(nsm("check", "t.yaml", "--format", "json").stdout)["diagnostics"]
    assert [d["message"] for d in found if d["severity"] == "error"] == []


@pytest.mark.parametrize("old, new, where", [
    ("name: t", "name: t\nzzqqxx: 1", "top-level unknown key"),
    ("unit: \"%\"", "unit: \"%\"\n  formla: a * b", "misspelt node key"),
    ("{id: a, source: d.a,", "{id: a, source: {data: d, colum: a},", "unknown source key"),
    ("data: {d: d.csv}", "data: {d: {path: d.csv, sep: ';'}}", "unknown data key"),
    ("falls_for: 2,", "fals_for: 2,", "unknown alert rule"),
    ("description: what if,", "descripton: what if,", "unknown scenario key"),
    ("{ref: a}", "{ref: a, name: b}", "a ref item holds only ref"),
    ("target: 92%", "target: lots", "a target that is no number"),
    ("children: [{ref: a}]", "children: a", "children as text"),
    ("direction: down", "direction: upward", "direction neither up nor down"),
    ("falls_for: 2", "falls_for: 0", "falls_for below 1"),
    ("change_above: +2pp", "change_above: 2", "a change without % or pp"),
    ("agg: mean", "agg: average", "an unknown agg"),
    ("id: r", "id: 2nd", "an id that starts with a digit"),
    ("actions: [act]", "actions: act", "actions as text"),
    ("domain: [0, null]", "domain: [0]", "domain of one end"),
    ("name: t", "name: t\nversion: 2", "version 2"),
    ("name: t\n", "", "no name"),
])
def test_an_unknown_key_or_a_wrong_type_does_not_validate(schema, old, new, where):
    assert old in BASE
    assert errors(schema, plain_yaml(BASE.replace(old, new, 1))) != [], where


def test_nsm_check_refuses_what_the_schema_refuses(nsm, write):
    """The schema's refusals are the parser's too (spot checks of each kind)."""
    for old, new, code in [("name: t", "name: t\nzzqqxx: 1", "E104"),
                           ("target: 92%", "target: lots", "E103"),
                           ("direction: down", "direction: upward", "E112"),
                           ("falls_for: 2", "falls_for: 0", "E114")]:
        write("d.csv", "period,a,g\n2025-06,1,0.02\n")
        write("t.yaml", BASE.replace(old, new, 1))
        run = nsm("check", "t.yaml", "--format", "json")
        codes = {d["code"] for d in json.loads(run.stdout)["diagnostics"]}
        assert run.code == 1 and code in codes, (new, codes)
    write("t.yaml", BASE)
    run = nsm("check", "t.yaml", "--format", "json")
    assert [d for d in json.loads(run.stdout)["diagnostics"] if d["severity"] == "error"] == []


def test_the_readme_key_tables_are_printed_from_the_key_table(nsm):
    run = nsm("schema", "--format", "markdown")
    assert run.code == 0 and run.stderr == ""
    assert "| `formula` |" in run.stdout
    assert run.stdout.strip() in README


def test_nsm_schema_prints_only_json(nsm):
    run = nsm("schema")
    assert run.code == 0 and run.stderr == ""
    assert json.loads(run.stdout)["$defs"]["node"]["required"] == ["id"]
    run = nsm("schema", "--format", "yaml")
    assert run.code == 2 and run.stdout == ""


NUMBER_KEYS = ("value", "target", "min", "max", "benchmark")
scalars = st.one_of(
    st.text(st.sampled_from("0123456789,.%eE+- _$¥€£−％１"), max_size=8),
    st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.none())


@settings(max_examples=300)
@given(key=st.sampled_from(NUMBER_KEYS), value=scalars)
def test_every_number_the_parser_reads_validates(schema, key, value):
    """Whatever a number key holds: when the parser takes it, the schema takes it too."""
    from nsm_cli.tree.parser import parse_tree

    leaf = {"id": "a", "source": "d.a", key: value} if key != "value" else {"id": "a", key: value}
    document = {"name": "t", "data": {"d": "d.csv"}, "root": leaf}
    _, found = parse_tree("t.yaml", json.dumps(document))
    shape = [d for d in found if d.code in ("E103", "E112") and d.is_error]
    if not shape:
        assert errors(schema, document) == [], (key, value)


def test_nsm_format_does_not_turn_the_schema_into_markdown(nsm, monkeypatch):
    # `nsm schema > nsm.schema.json` must write a schema whatever NSM_FORMAT says (README)
    monkeypatch.setenv("NSM_FORMAT", "markdown")
    run = nsm("schema")
    assert run.code == 0 and json.loads(run.stdout)["$defs"]["node"]["required"] == ["id"]

"""Tree files are read from libyaml's events; whatever is unusual goes back to the composer.

Both routes must give the same located values and the same errors at the same places: the
event reader is only a faster way to the composer's answer.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from nsm_cli.diagnostics import NsmError, Span
from nsm_cli.tree import yamlload
from nsm_cli.tree.parser import NODE_KEYS, parse_tree
from nsm_cli.tree.yamlload import YMap, YScalar, YSeq, load_yaml

TREES = sorted((Path(__file__).resolve().parent.parent / "trees").glob("*.yaml"))

# Texts the event reader hands back to the composer (or reads itself), each a different case.
UNUSUAL = [
    "", "# a comment only\n", "---\n", "--- \n...\n", "a: 1\n---\nb: 2\n", "a: 1\n--- [\n",
    "a: &x {b: 1}\nc: *x\n", "a: *y\n", "a: &x 1\nb: &x 2\n", "a: !!str 1\nb: !!int '2'\n",
    "a: !foo 1\n", "a: !!map {b: 1}\n", "a: !!seq [1]\n", "a: ! 12\n", "a: !!set {b}\n",
    "<<: {a: 1}\n", "a: 1\na: 2\n", "1: a\n1.0: b\n", "null: x\n~: y\n", "yes: 1\nno: 2\n",
    "on: 1\nyes: 2\nOn: 3\n", "? [a]\n: 1\n", "? {a: 1}\n: 2\n", "a: 0x1F\n", "a: 1_000\n",
    "a: 010\n", "a: 1:30\n", "a: .inf\nb: -.inf\nc: .nan\n", "a: 1e400\n",
    "a: " + "9" * 301 + "\n", "a: 12,5\n", "a: 2024-01-05\nb: 2024-01-05 10:00:00\n",
    "a: [1, 2, {b: c}]\n", "a: |\n  x\n  y\nb: >\n  z\n", "a: 'x'\nb: \"y\"\n",
    "[" * 250 + "]" * 250, "a: [b\n", "a: b: c\n", "\ta: 1\n", "a: \x07\n", "- a\n- b\n", "x\n",
    "12\n", "a: True\nb: FALSE\nc: Null\n", "a: +12\nb: -3.5\nc: 1.\nd: .5\ne: 1e3\n",
    "a: 0o17\nb: 0b101\n", "a: 1,000\nb: 1,000.5\n", "a: 50%\n", "a:\n  - &x [1]\n  - *x\n",
    "%YAML 1.1\n---\na: 1\n", "%TAG !e! tag:example.com,2000:\n---\na: !e!foo 1\n",
    "a: !<tag:yaml.org,2002:str> 1\n", "a: !!float 1\n", "a: !!bool yes\n", "a:\n", "? a\n",
    "a: !!timestamp 2020-01-01\n", "{a, b}\n", "a: =\n", "a: !!merge x\n", "1:30: x\n",
    "a:\n" + "".join("  " * i + "- b:\n" for i in range(1, 220)),
]


def _composed(monkeypatch: pytest.MonkeyPatch, path: str, text: str):
    with monkeypatch.context() as patch:
        patch.setattr(yamlload, "_CParser", None)   # no event reader: compose and convert
        return _outcome(path, text)


def _outcome(path: str, text: str):
    try:
        return _plain(load_yaml(path, text))
    except NsmError as exc:
        return [str(d) for d in exc.diagnostics]


def _plain(value):
    """Everything a located value says: type, value, span, source text and style."""
    if value is None:
        return None
    if isinstance(value, YMap):
        return ("map", value.span, [(_plain(k), _plain(v)) for k, v in value.items])
    if isinstance(value, YSeq):
        return ("seq", value.span, [_plain(item) for item in value.items])
    number = value.value
    if isinstance(number, float) and math.isnan(number):
        number = "nan"
    return ("scalar", type(value.value).__name__, number, value.span, value.raw, value.style)


@pytest.mark.parametrize("text", UNUSUAL, ids=range(len(UNUSUAL)))
def test_the_reader_and_the_composer_agree(monkeypatch, text):
    assert _outcome("t.yaml", text) == _composed(monkeypatch, "t.yaml", text)


@pytest.mark.parametrize("tree", TREES, ids=[t.name for t in TREES])
def test_an_ordinary_tree_file_is_never_composed(monkeypatch, tree):
    text = tree.read_text(encoding="utf-8")
    expected = _composed(monkeypatch, str(tree), text)

    def refuse(*args, **kwargs):
        raise AssertionError("composed")

    monkeypatch.setattr(yaml, "compose", refuse)
    assert _outcome(str(tree), text) == expected


def test_too_many_values_are_refused_as_before(monkeypatch):
    text = "a: [" + ", ".join(["1"] * 1_000_000) + "]\n"   # 1,000,003 values with map, key, list
    got = _outcome("t.yaml", text)
    # the 1,000,001st value is item 999,998 of the list: column 5 + 3 × 999,997 = 2,999,996
    assert got == ["t.yaml:1:2999996: more than 1,000,000 YAML values: split the tree into several "
                   "files (or, if YAML aliases repeat parts of it, write shared drivers with "
                   "ref) [E102]"]


def test_nesting_beyond_the_limit_is_refused_where_it_starts():
    got = _outcome("t.yaml", "a: " + "[" * 201 + "]" * 201 + "\n")
    # the mapping is level 0, list k is level k and opens at column 3 + k: list 201 at 204
    assert got == ["t.yaml:1:204: YAML nested too deeply (more than 200 levels) [E102]"]


def test_a_scalar_knows_its_place_and_compares_like_a_value():
    top = load_yaml("t.yaml", "name: t\nroot:\n  id: a\n  formula: 'b + c'\n")
    formula = top.get("root").get("formula")
    assert formula.span == Span("t.yaml", 4, 12)
    assert formula.text_span(4) == Span("t.yaml", 4, 17)   # `c`, after the opening quote
    assert formula == YScalar("b + c", Span("t.yaml", 4, 12), "b + c", "'")
    assert formula != YScalar("b + c", Span("t.yaml", 4, 13), "b + c", "'")


def test_a_node_points_at_its_keys_and_values(write):
    write("t.yaml", """
        name: t
        root:
          id: a
          value: 3
          owner: me
        """)
    tree, diagnostics = parse_tree("t.yaml")
    node = tree.nodes["a"]
    assert diagnostics == []
    assert node.span_of("value") == Span("t.yaml", 4, 10)
    assert node.keys["owner"] == Span("t.yaml", 5, 3)
    assert "value" in node.keys and "source" not in node.keys
    assert list(node.values) == ["id", "value", "owner"]
    assert node.span_of("target") == Span("t.yaml", 3, 3)   # absent: the node itself


def test_a_number_as_a_node_key_is_reported_at_its_place(write):
    write("t.yaml", "name: t\nroot:\n  id: a\n  value: 3\n  1: x\n")
    tree, diagnostics = parse_tree("t.yaml")
    assert [str(d) for d in diagnostics][:1] == [
        f"t.yaml:5:3: unknown key '1' in a node: a node keys are {', '.join(NODE_KEYS)} [E104]"]
    assert "1" in tree.nodes["a"].keys
    assert tree.nodes["a"].span_of("1") == Span("t.yaml", 5, 6)

"""The parser and compiler refuse every malformed tree with a code and an exact place."""

from __future__ import annotations

import pytest

from nsm_cli.data.load import inspect_tree

BASE_DATA = "period,visits,spend\n2025-05,2.4,1600\n2025-06,2.5,1680\n"

# (case id, tree text, expected code, line, column, words in the message)
CASES = [
    ("empty file", "", "E103", 1, 1, "empty"),
    ("top level is a list", "- a\n- b\n", "E103", 1, 1, "top level must be a mapping"),
    ("unknown top key", "name: t\nroot: {id: x, value: 1}\nrot: 1\n", "E104", 3, 1,
     "unknown key 'rot'"),
    ("misspelt node key", "name: t\nroot:\n  id: x\n  value: 1\n  ownr: me\n", "E104", 5, 3,
     "did you mean 'owner'?"),
    ("missing name", "root: {id: x, value: 1}\n", "E105", 1, 1, "'name'"),
    ("missing root", "name: t\n", "E105", 1, 1, "'root'"),
    ("missing id", "name: t\nroot: {value: 1}\n", "E105", 2, 7, "'id'"),
    ("malformed id", "name: t\nroot:\n  id: 1x\n  value: 1\n", "E106", 3, 7, "'1x'"),
    ("id with a dash", "name: t\nroot:\n  id: a-b\n  value: 1\n", "E106", 3, 7, "'a-b'"),
    ("duplicate id",
     "name: t\nroot:\n  id: t\n  formula: a\n  children:\n    - id: a\n      value: 1\n"
     "    - id: a\n      value: 2\n", "E107", 8, 11, "duplicate id 'a' (first defined at line 6)"),
    ("unknown ref",
     "name: t\nroot:\n  id: t\n  formula: a\n  children:\n    - ref: aa\n", "E108", 6, 12,
     "ref 'aa'"),
    ("cycle through a ref",
     "name: t\nroot:\n  id: t\n  formula: a\n  children:\n    - id: a\n      formula: t\n"
     "      children:\n        - ref: t\n", "E109", 9, 16, "cycle: t → a → t"),
    ("leaf with neither source nor value",
     "name: t\nroot:\n  id: t\n  formula: a\n  children:\n    - id: a\n", "E110", 6, 7,
     "needs a source"),
    ("leaf with both",
     "name: t\ndata: {d: d.csv}\nroot:\n  id: visits\n  source: d.visits\n  value: 1\n",
     "E110", 6, 10, "both source and value"),
    ("value on a node with children",
     "name: t\nroot:\n  id: t\n  formula: a\n  value: 3\n  children:\n    - {id: a, value: 1}\n",
     "E110", 5, 10, "remove 'value'"),
    ("formula syntax", "name: t\nroot:\n  id: t\n  formula: a +\n  children:\n"
     "    - {id: a, value: 1}\n", "E201", 4, 15, "formula of 't'"),
    ("import in a formula",
     "name: t\nroot:\n  id: t\n  formula: __import__('os').system('rm -rf /')\n  children:\n"
     "    - {id: a, value: 1}\n", "E202", 4, 12, "formula of 't'"),
    ("formula names a non-child",
     "name: t\nroot:\n  id: t\n  formula: a + c\n  children:\n    - {id: a, value: 1}\n"
     "    - {id: b, value: 1}\n", "E203", 4, 16, "'c', which is not one of its children"),
    ("child not used",
     "name: t\nroot:\n  id: t\n  formula: a\n  children:\n    - {id: a, value: 1}\n"
     "    - {id: b, value: 1}\n", "E204", 7, 7, "child 'b' is not used"),
    ("children without formula",
     "name: t\nroot:\n  id: t\n  children:\n    - {id: a, value: 1}\n", "E205", 3, 3,
     "has children but no formula"),
    ("formula on a leaf", "name: t\nroot:\n  id: t\n  formula: 1 + 2\n", "E206", 4, 12,
     "no children"),
    ("unknown data name",
     "name: t\ndata: {d: d.csv}\nroot:\n  id: visits\n  source: dd.visits\n", "E301", 5, 11,
     "unknown data 'dd' (did you mean 'd'?)"),
    ("unknown column",
     "name: t\ndata: {d: d.csv}\nroot:\n  id: visits\n  source: d.visit\n", "E302", 5, 11,
     "did you mean 'visits'?"),
    ("data path outside the project",
     "name: t\ndata: {d: ../../../../etc/passwd}\nroot:\n  id: v\n  source: d.root\n",
     "E308", 2, 11, "outside the project"),
    ("absolute data path",
     "name: t\ndata: {d: /etc/passwd}\nroot:\n  id: v\n  source: d.root\n", "E308", 2, 11,
     "absolute"),
    ("python object tag",
     "name: t\nroot: !!python/object/apply:os.system ['echo hi']\n", "E102", 2, 7,
     "!!python/object/apply:os.system"),
    ("yaml syntax", "name: t\nroot: {id: x\n", "E101", 3, 1, "YAML syntax error"),
    ("direction misspelt",
     "name: t\nroot:\n  id: x\n  value: 1\n  direction: dwn\n", "E112", 5, 14,
     "did you mean 'down'?"),
    ("bad scenario change",
     "name: t\nroot:\n  id: x\n  value: 1\nscenarios:\n  s: {set: {x: lots}}\n", "E111", 6, 16,
     "cannot read change 'lots'"),
    ("scenario names an unknown node",
     "name: t\nroot:\n  id: x\n  value: 1\nscenarios:\n  s: {set: {y: 2}}\n", "E108", 6, 13,
     "scenario 's' sets 'y'"),
    ("points on a node that is not a rate",
     "name: t\nroot:\n  id: x\n  value: 1\nscenarios:\n  s: {set: {x: +2pp}}\n", "E111", 6, 13,
     "percentage points"),
    ("duplicate key", "name: t\nname: u\nroot: {id: x, value: 1}\n", "E113", 2, 1,
     "duplicate key 'name'"),
    ("unknown agg",
     "name: t\ndata: {d: d.csv}\nroot:\n  id: v\n  source: {data: d, column: visits, agg: total}\n",
     "E112", 5, 42, "agg must be one of"),
    ("number too large", "name: t\nroot:\n  id: x\n  value: 1e999\n", "E112", 4, 10, "finite"),
    ("unsupported version", "version: 2\nname: t\nroot: {id: x, value: 1}\n", "E112", 1, 10,
     "version"),
    # errors of the YAML reader, the os and codecs modules, each under its documented code
    ("control character", "name: t\nroot: {id: x,\n  value: 1\x07}\n", "E101", 3, 11,
     "YAML syntax error: unacceptable character #x0007"),
    ("a YAML 1.1 base-60 number is text, not 90", "name: t\nroot:\n  id: x\n  value: 1:30\n",
     "E103", 4, 10, "'value' must be a number (like 1200 or 92%), not text"),
    ("a null key is the word null, not None", "name: t\nroot: {id: x, value: 1, null: 2}\n",
     "E104", 2, 25, "unknown key 'null' in a node"),
    ("a YAML 1.1 boolean key is its word", "name: t\nroot: {id: x, value: 1, on: 2}\n",
     "E104", 2, 25, "unknown key 'on' in a node"),
    ("a merge key", "name: t\nroot: {id: x, value: 1, <<: {owner: a}}\n", "E102", 2, 25,
     "YAML merge keys (<<) are not allowed"),
    ("NUL in a data path", 'name: t\ndata: {d: "d\\0.csv"}\nroot: {id: x, source: d.visits}\n',
     "E112", 2, 11, "data 'd': a path cannot contain a NUL character"),
    ("a codec that is no text encoding",
     "name: t\ndata: {d: {path: d.csv, encoding: rot13}}\nroot: {id: x, source: d.visits}\n",
     "E112", 2, 35, "unknown encoding 'rot13'"),
]


@pytest.mark.parametrize(
    "text, code, line, column, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_tree_is_reported_at_its_place(write, text, code, line, column, words):
    write("d.csv", BASE_DATA)
    path = write("t.yaml", text)
    loaded, diagnostics = inspect_tree("t.yaml")
    assert loaded is None
    found = [d for d in diagnostics if d.code == code]
    assert found, f"expected {code}, got {[str(d) for d in diagnostics]}"
    first = found[0]
    assert (first.span.file, first.span.line, first.span.column) == ("t.yaml", line, column)
    assert words in first.message
    assert path.exists()


def test_every_error_of_a_file_is_reported_at_once(write):
    write("t.yaml", """
        name: t
        root:
          id: t
          formla: a
          children:
            - id: a
              valeu: 1
            - id: 2b
              value: 1
        """)
    _, diagnostics = inspect_tree("t.yaml")
    codes = sorted(d.code for d in diagnostics)
    assert codes.count("E104") == 2
    assert "E106" in codes
    assert "E205" in codes


def test_alias_bomb_is_refused_quickly(write):
    lines = ["name: t", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    lines.append("root: {id: x, value: 1}")
    write("t.yaml", "\n".join(lines) + "\n")
    _, diagnostics = inspect_tree("t.yaml")
    assert [d.code for d in diagnostics] == ["E102"]
    assert "alias" in diagnostics[0].message


def test_deep_nesting_is_refused_not_a_crash(write):
    write("t.yaml", "name: t\nroot: " + "[" * 3000 + "]" * 3000 + "\n")
    _, diagnostics = inspect_tree("t.yaml")
    assert [d.code for d in diagnostics] == ["E102"]
    assert "nested" in diagnostics[0].message


def test_deep_block_nesting_of_nodes_is_refused(write):
    lines = ["name: t", "root:"]
    indent = "  "
    for level in range(3000):
        lines.append(f"{indent}id: n{level}")
        lines.append(f"{indent}formula: n{level + 1}")
        lines.append(f"{indent}children:")
        indent += "  "
        lines.append(f"{indent[:-2]}- ")
    write("t.yaml", "\n".join(lines) + "\n")
    _, diagnostics = inspect_tree("t.yaml")
    assert diagnostics and all(d.is_error for d in diagnostics)


def test_binary_file_is_refused(write, tmp_path):
    (tmp_path / "t.yaml").write_bytes(b"name: t\n\x00\x01\x02garbage")
    _, diagnostics = inspect_tree("t.yaml")
    assert [(d.code, d.span.line) for d in diagnostics] == [("E100", 2)]


def test_missing_file(write):
    _, diagnostics = inspect_tree("nope.yaml")
    assert [d.code for d in diagnostics] == ["E100"]
    assert "no such file" in diagnostics[0].message


def test_huge_file_is_refused_without_reading_it(write, tmp_path):
    with open(tmp_path / "t.yaml", "wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    _, diagnostics = inspect_tree("t.yaml")
    assert [d.code for d in diagnostics] == ["E100"]
    assert "limited to 10 MB" in diagnostics[0].message


def test_utf8_bom_and_chinese_names(write, tmp_path):
    text = "name: 指标树\nroot:\n  id: t\n  name: 月活跃客户数\n  value: 1\n"
    (tmp_path / "t.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    loaded, diagnostics = inspect_tree("t.yaml")
    assert loaded is not None, diagnostics
    assert loaded.tree.nodes["t"].name == "月活跃客户数"


def test_a_refused_data_path_is_reported_once_not_again_at_each_use(write):
    write("t.yaml", "name: t\ndata: {d: ../../../../etc/passwd}\n"
                    "root:\n  id: v\n  source: d.root\n")
    _, diagnostics = inspect_tree("t.yaml")
    assert [d.code for d in diagnostics] == ["E308"]


def test_a_data_name_that_is_no_id_is_reported_once_not_as_unknown_at_each_use(write):
    # `data: {数据: d.csv}` then `source: 数据.visits` said "unknown data '数据': add a 'data'
    # section" at every use, though the section is there
    write("d.csv", BASE_DATA)
    write("t.yaml", "name: t\ndata: {数据: d.csv}\nroot:\n  id: v\n  source: 数据.visits\n")
    _, diagnostics = inspect_tree("t.yaml")
    assert [(d.code, d.span.line, d.message) for d in diagnostics] == [
        ("E106", 2, "data name '数据' must be a plain id (letters, digits, _)")]


@pytest.mark.parametrize("data", ['"d\\0.csv"', "{path: d.csv, encoding: hex}"])
def test_a_refused_path_or_encoding_is_the_only_error(write, data):
    write("d.csv", BASE_DATA)
    write("t.yaml", f"name: t\ndata: {{d: {data}}}\nroot: {{id: x, source: d.visits}}\n")
    _, diagnostics = inspect_tree("t.yaml")
    assert [(d.code, d.span.line) for d in diagnostics] == [("E112", 2)]


def test_a_base_60_looking_name_stays_text(write):
    write("t.yaml", "name: 1:30\nroot: {id: x, value: 1}\n")
    loaded, diagnostics = inspect_tree("t.yaml")
    assert diagnostics == [] and loaded.tree.file.name == "1:30"

"""One number grammar, every place it is read: each form and what it means where.

Places: a CSV cell, a YAML value (`value:`, `target:`, `min:` of a node, written plain),
`--set`/a scenario change, `--step`, `--target`, and an alert's `change_below:`.
`R` marks a form the place refuses (with a message, never a silent value).
"""

from __future__ import annotations

import json

import pytest

from nsm_cli.analysis.goalseek import parse_target
from nsm_cli.analysis.levers import parse_step
from nsm_cli.data.tables import parse_cell
from nsm_cli.diagnostics import NsmError, RequestError
from nsm_cli.tree.alert_rules import parse_rules
from nsm_cli.tree.changes import parse_assignment
from nsm_cli.tree.parser import parse_tree

R = "refused"


def cell(text: str):
    value = parse_cell(text)
    return R if value is None else value


def _tree(body: str):
    try:
        tree, problems = parse_tree("t.yaml", f"version: 1\nname: t\nroot:\n{body}")
    except NsmError:
        return None
    return None if problems else tree.nodes["a"]


def yaml_value(text: str):
    node = _tree(f"  id: a\n  value: {text}\n")
    return R if node is None else node.value


def set_(text: str):
    try:
        change = parse_assignment(f"a={text}")
    except RequestError:
        return R
    return change.kind, change.amount


def step(text: str):
    try:
        return parse_step(text)
    except RequestError:
        return R


def target(text: str):
    try:
        return parse_target(text)
    except RequestError:
        return R


def alert_change(text: str):
    node = _tree(f"  id: a\n  unit: '%'\n  value: 0.5\n  alert:\n    change_below: {text}\n")
    if node is None:
        return R
    rules, problems = parse_rules(node)
    if problems:
        return R
    return rules[0].threshold, rules[0].points


TABLE = [
    # text       cell     yaml     --set                  --step          --target  change_below
    ("1,200",    1200.0,  1200.0,  ("value", 1200.0),     (12.0, False),  1200.0,   R),
    ("92%",      0.92,    0.92,    ("value", 0.92),       (0.92, False),  0.92,     (0.92, False)),
    ("¥1,200",   1200.0,  1200.0,  ("value", 1200.0),     R,              1200.0,   R),
    ("$90,000",  90000.0, 90000.0, ("value", 90000.0),    R,              90000.0,  R),
    ("1.2e3",    1200.0,  1200.0,  ("value", 1200.0),     (12.0, False),  1200.0,   R),
    ("+2pp",     R,       R,       ("points", 0.02),      (0.02, True),   R,        (0.02, True)),
    ("x1.1",     R,       R,       ("factor", 1.1),       R,              R,        R),
    ("−5%",      -0.05,   -0.05,   ("relative", -0.05),   R,              -0.05,    (-0.05, False)),
    ("１２３",   123.0,   123.0,   ("value", 123.0),      (1.23, False),  123.0,    R),
    ("+200",     200.0,   200.0,   ("add", 200.0),        (2.0, False),   200.0,    R),
    ("-5",       -5.0,    -5.0,    ("add", -5.0),         R,              -5.0,     R),
    ("010",      10.0,    10.0,    ("value", 10.0),       (0.1, False),   10.0,     R),
    ("0,55",     R,       R,       R,                     R,              R,        R),
    ("1,5",      R,       R,       R,                     R,              R,        R),
    ("1,2,3",    R,       R,       R,                     R,              R,        R),
    ("1e999",    R,       R,       R,                     R,              R,        R),
    ("x1e400",   R,       R,       R,                     R,              R,        R),
    ("1:30",     R,       R,       R,                     R,              R,        R),
]
PLACES = [cell, yaml_value, set_, step, target, alert_change]


def _same(got, expected) -> bool:
    if expected == R or got == R:
        return got == expected
    if isinstance(expected, tuple):
        return all(_same(g, e) for g, e in zip(got, expected, strict=True))
    if isinstance(expected, float):
        return got == pytest.approx(expected, rel=1e-12)
    return got == expected


@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_every_form_in_every_place(row):
    text, *expected = row
    got = [place(text) for place in PLACES]
    assert all(_same(g, e) for g, e in zip(got, expected, strict=True)), (text, got)


@pytest.mark.parametrize("place, text, words", [
    (set_, "0,55", "write 0.55"),
    (yaml_value, '"1,5"', "write 1.5"),
    (target, "0,8", "write 0.8"),
])
def test_a_decimal_comma_is_refused_with_the_number_to_write(place, text, words):
    if place is yaml_value:
        body = f"version: 1\nname: t\nroot:\n  id: a\n  value: {text}\n"
        _, problems = parse_tree("t.yaml", body)
        assert any(words in p.message for p in problems)
        return
    with pytest.raises(RequestError, match=words):
        {set_: parse_assignment, target: parse_target}[place](
            f"a={text}" if place is set_ else text)


def test_yaml_base_60_is_text_so_no_number_not_90():
    _, problems = parse_tree("t.yaml", "version: 1\nname: t\nroot:\n  id: a\n  value: 1:30\n")
    assert [p.message for p in problems] == ["'value' must be a number (like 1200 or 92%), "
                                             "not text"]


def test_csv_cell_with_a_decimal_comma_says_what_to_write(nsm, tmp_path):
    (tmp_path / "d.csv").write_text('month,a\n2025-01,"0,55"\n', encoding="utf-8")
    (tmp_path / "t.yaml").write_text("version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n"
                                     "  id: a\n  source: d.a\n", encoding="utf-8")
    run = nsm("eval", tmp_path / "t.yaml")
    assert run.code == 1
    assert "bad cell '0,55' in column 'a': decimal commas are not read" in run.stderr
    assert "write 0.55 [E304]" in run.stderr


@pytest.mark.parametrize("engine_bytes", [1 << 40, 0])  # the light reader, then DuckDB
def test_every_csv_reader_reads_the_same_grammar(nsm, tmp_path, monkeypatch, engine_bytes):
    from nsm_cli.data import engine

    monkeypatch.setattr(engine, "ENGINE_BYTES", engine_bytes)
    (tmp_path / "t.yaml").write_text("version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n"
                                     "  id: a\n  source: d.a\n", encoding="utf-8")
    (tmp_path / "d.csv").write_text('period,a\n2025-01,"1,200"\n2025-02,−5%\n',
                                    encoding="utf-8")
    run = nsm("eval", tmp_path / "t.yaml", "--period", "2025-01", "--format", "json")
    assert json.loads(run.stdout)["nodes"][0]["value"] == 1200.0
    (tmp_path / "d.csv").write_text('period,a\n2025-01,"0,550"\n2025-02,"1,200"\n',
                                    encoding="utf-8")
    run = nsm("eval", tmp_path / "t.yaml")
    assert run.code == 1
    assert "bad cell '0,550' in column 'a': decimal commas are not read" in run.stderr

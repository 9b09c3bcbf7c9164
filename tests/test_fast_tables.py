"""A long list of results of one type (the rows of a 100,000-node eval) is written field by
field (render/fastjson.py `_write_table`) to the very text `json.dumps` gives for the plain
data, left-out fields included; the rows are built field by field (`build_rows`) to the
records `cls(**row)` makes."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from nsm_cli.analysis.results import (
    ABSENT,
    EvalNode,
    FiringRule,
    GuardrailRow,
    Rows,
    build_rows,
    to_json,
)
from nsm_cli.numbers import json_number, json_numbers
from nsm_cli.render.fastjson import MIN_TABLE, dumps

NUMBER = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5)
TEXT = st.text(max_size=6) | st.sampled_from(["a%s", "100%", "名前", "x\u2028y"])
FIRING = st.builds(FiringRule, rule=TEXT, rule_text=TEXT, message=TEXT)


@st.composite
def eval_node(draw) -> EvalNode:
    row = {name: draw(NUMBER) for name in (
        "value", "observed", "observed_gap", "observed_gap_pct", "benchmark", "gap",
        "gap_pct", "target", "target_gap", "min", "max")}
    row.update(id=draw(TEXT), name=draw(TEXT), parent=draw(st.none() | TEXT),
               depth=draw(st.integers(0, 9)), unit=draw(st.sampled_from([None, "%", "元"])),
               status=draw(st.sampled_from([None, "ahead", "on_par"])), direction="up",
               owner=draw(st.none() | TEXT), actions=draw(st.lists(TEXT, max_size=2)),
               children=draw(st.lists(TEXT, max_size=3)), shared=[],
               formula=draw(st.none() | TEXT), breached=None)
    if draw(st.booleans()):
        row["alerts"] = draw(st.lists(FIRING, max_size=2))
    if draw(st.integers(0, 9)) == 0:
        row["base"] = draw(NUMBER)
    return EvalNode(**row)


@settings(max_examples=60, deadline=None)
@given(st.lists(eval_node(), min_size=MIN_TABLE, max_size=40))
def test_a_table_of_rows_is_written_as_json_dumps_writes_its_data(nodes):
    value = {"nodes": nodes, "more": [nodes[:3]]}
    assert dumps(value) == json.dumps(to_json(value), ensure_ascii=False, indent=2)


def test_rows_of_every_kind_and_a_field_most_rows_leave_out():
    guard = [GuardrailRow(id=f"g{i}", name="g", unit=None, value=float(i), min=None, max=2.0,
                          breached=i > 2, direction="up", owner=None) for i in range(MIN_TABLE)]
    nodes = [EvalNode(id=f"n{i}", name="n", parent=None, depth=0, unit=None, value=None,
                      observed=None, observed_gap=None, observed_gap_pct=None, benchmark=None,
                      gap=None, gap_pct=None, target=None, target_gap=None, status=None,
                      direction="up", owner=None, actions=[], children=[], shared=[],
                      formula=None, min=None, max=None, breached=None,
                      **({"alerts": []} if i == 3 else {}))
             for i in range(MIN_TABLE + 1)]
    for value in (guard, nodes, [*guard, *guard[:1]], {"x": [nodes, guard]}):
        assert dumps(value) == json.dumps(to_json(value), ensure_ascii=False, indent=2)
    assert '"alerts": []' in dumps(nodes)
    assert dumps(nodes).count('"alerts"') == 1


def test_build_rows_makes_the_records_the_constructor_makes():
    columns = {"rule": ["min", "max"], "rule_text": ["≥ 1", "≤ 2"], "message": ["a", "b"]}
    assert build_rows(FiringRule, columns) == [
        FiringRule(rule="min", rule_text="≥ 1", message="a"),
        FiringRule(rule="max", rule_text="≤ 2", message="b")]
    rows = build_rows(GuardrailRow, {"id": ["g"], "name": ["G"], "unit": [None],
                                     "value": [1.5], "min": [None], "max": [2.0],
                                     "breached": [False], "direction": ["up"],
                                     "owner": [None]})
    assert rows[0].alerts is ABSENT and rows[0]["value"] == 1.5


def test_json_numbers_cut_each_figure_as_json_number_does():
    figures = [None, math.nan, math.inf, -math.inf, 0.0, -0.0, 1 / 3, 2.0 / 3 * 1e20, 7,
               0.1 + 0.2, -1234.5678901234567]
    assert json_numbers(figures) == [json_number(v) for v in figures]
    assert json_numbers([0.1 + 0.2, 1 / 3, -0.0]) == [0.3, 0.333333333333, 0.0]


def _guard_columns(count: int, name: str = "g") -> dict[str, list]:
    return {"id": [f"g{i}" for i in range(count)], "name": [name] * count,
            "unit": [None] * count, "value": [float(i) for i in range(count)],
            "min": [None] * count, "max": [2.0] * count, "breached": [i > 2 for i in range(count)],
            "direction": ["up"] * count, "owner": [None] * count}


def test_rows_read_as_the_list_of_records_and_write_the_same_json():
    columns = _guard_columns(MIN_TABLE + 2)
    rows = Rows(GuardrailRow, columns)
    records = build_rows(GuardrailRow, columns)
    assert len(rows) == MIN_TABLE + 2 and rows == records and records == rows
    assert rows[3]["value"] == 3.0 and [r.id for r in rows[:2]] == ["g0", "g1"]
    assert dumps({"rows": rows}) == dumps({"rows": records})
    assert dumps({"rows": rows}) == json.dumps({"rows": to_json(records)}, ensure_ascii=False,
                                               indent=2)
    with_alerts = Rows(GuardrailRow, {**columns, "alerts": [[]] + [ABSENT] * (MIN_TABLE + 1)})
    assert dumps(with_alerts) == json.dumps(to_json(list(with_alerts)), ensure_ascii=False,
                                            indent=2)
    assert Rows(GuardrailRow, _guard_columns(0)) == [] and dumps(Rows(GuardrailRow,
                                                                      _guard_columns(0))) == "[]"


def test_rows_shown_to_people_have_their_control_characters_escaped():
    from nsm_cli.render import printable

    shown = printable({"rows": Rows(GuardrailRow, _guard_columns(2, "a\x1bb"))})
    assert [row.name for row in shown["rows"]] == ["a\\x1bb", "a\\x1bb"]

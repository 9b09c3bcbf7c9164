"""The evaluator fills every node for every period, applies changes and flags what is off."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nsm_cli.analysis.eval_result import eval_result, status
from nsm_cli.analysis.evaluate import compute, evaluate, leaf_inputs
from nsm_cli.data.load import load_tree
from nsm_cli.diagnostics import NsmError, RequestError
from nsm_cli.tree.changes import parse_assignment

ARPU = """
name: ARPU
data: {d: d.csv}
root:
  id: arpu
  unit: 元
  formula: visits * per_visit
  children:
    - id: visits
      unit: 次
      formula: first_purchase + repeat_visits
      children:
        - {id: first_purchase, unit: 次, source: d.first}
        - {id: repeat_visits, unit: 次, source: d.repeat}
    - id: per_visit
      unit: 元
      formula: base_service + value_added
      children:
        - {id: base_service, unit: 元, source: d.base}
        - id: value_added
          unit: 元
          formula: vas_penetration * vas_price
          children:
            - {id: vas_penetration, unit: "%", source: d.pen, benchmark: 0.55}
            - {id: vas_price, unit: 元, value: 1200}
scenarios:
  li_plan:
    set: {vas_penetration: "+10pp", visits: 2.8}
"""
ARPU_CSV = "period,first,repeat,base,pen\n2025-05,0.8,1.6,1150,38%\n2025-06,0.8,1.7,\"1,200\",40%\n"


def load(write, text=ARPU, csv=ARPU_CSV):
    write("d.csv", csv)
    write("t.yaml", text)
    return load_tree("t.yaml")


def test_values_over_every_period_match_the_worked_example(write):
    ev = evaluate(load(write))
    assert ev.periods == ["2025-05", "2025-06"]
    assert ev.values["arpu"][1] == pytest.approx(4200.0)
    assert ev.values["per_visit"][1] == pytest.approx(1680.0)
    assert ev.values["visits"][0] == pytest.approx(2.4)
    assert ev.values["arpu"][0] == pytest.approx(2.4 * (1150 + 0.38 * 1200))


def test_scenario_overrides_a_leaf_and_an_interior_node(write):
    ev = evaluate(load(write), scenario="li_plan")
    assert ev.values["value_added"][1] == pytest.approx(600.0)
    assert ev.values["per_visit"][1] == pytest.approx(1800.0)
    assert ev.values["visits"][1] == pytest.approx(2.8)
    assert ev.values["arpu"][1] == pytest.approx(5040.0)
    assert ev.base["arpu"][1] == pytest.approx(4200.0)


def test_set_changes_apply_after_the_scenario(write):
    ev = evaluate(load(write), scenario="li_plan", sets=[parse_assignment("visits=x1.5")])
    assert ev.values["visits"][1] == pytest.approx(4.2)


@pytest.mark.parametrize("scenario, sets, words", [
    ("nope", [], "no such scenario"),
    (None, ["nope=1"], "no such node"),
    (None, ["base_service=+2pp"], "percentage points"),
])
def test_unknown_names_on_the_command_line_are_usage_errors(write, scenario, sets, words):
    with pytest.raises(RequestError, match=words):
        evaluate(load(write), scenario=scenario, sets=[parse_assignment(s) for s in sets])


def test_unknown_period_is_a_usage_error(write):
    ev = evaluate(load(write))
    with pytest.raises(RequestError, match="periods are 2025-05, 2025-06"):
        ev.period_index("2025-07")
    assert ev.period_index(None) == 1
    assert ev.period_index("latest") == 1
    assert ev.period_index("2025-05") == 0


def test_missing_data_stays_missing_never_zero(write):
    csv = "period,first,repeat,base,pen\n2025-05,0.8,1.6,1150,\n2025-06,0.8,1.7,1200,40%\n"
    ev = evaluate(load(write, csv=csv))
    assert math.isnan(ev.values["vas_penetration"][0])
    assert math.isnan(ev.values["arpu"][0])
    assert not ev.warnings  # missing inputs are not a formula problem
    result = eval_result(ev, 0)
    root = result["nodes"][0]
    assert root["value"] is None and root["gap"] is None


def test_division_by_zero_gives_missing_and_a_warning_naming_node_and_period(write):
    text = """
    name: t
    data: {d: d.csv}
    root:
      id: conversion
      unit: "%"
      formula: buyers / visitors
      children:
        - {id: buyers, source: d.buyers}
        - {id: visitors, source: d.visitors}
    """
    ev = evaluate(load(write, text, "period,buyers,visitors\nA,5,100\nB,5,0\n"))
    assert ev.values["conversion"][0] == pytest.approx(0.05)
    assert math.isnan(ev.values["conversion"][1])
    [warning] = ev.warnings
    assert warning.code == "W201"
    assert "'conversion'" in warning.message and "period B" in warning.message
    assert (warning.span.line, warning.span.column) == (6, 12)


def test_observed_value_is_kept_beside_the_computed_one(write):
    text = """
    name: t
    data: {d: d.csv}
    root:
      id: retained
      formula: prev * rate
      source: d.observed
      children:
        - {id: prev, source: d.prev}
        - {id: rate, unit: "%", source: d.rate}
    """
    ev = evaluate(load(write, text, "period,prev,rate,observed\n2025-06,6500,92%,6000\n"))
    node = eval_result(ev, 0)["nodes"][0]
    assert node["value"] == pytest.approx(5980.0)
    assert node["observed"] == 6000.0
    assert node["observed_gap"] == pytest.approx(20.0)


def test_a_shared_driver_feeds_every_parent_and_is_listed_once(write):
    text = """
    name: t
    root:
      id: total
      formula: a + b
      children:
        - id: a
          formula: 2 * price
          children:
            - {id: price, value: 10}
        - id: b
          formula: 3 * price
          children:
            - {ref: price}
    """
    write("t.yaml", text)
    ev = evaluate(load_tree("t.yaml"))
    assert ev.values["total"][0] == pytest.approx(50.0)
    result = eval_result(ev, 0)
    assert [n["id"] for n in result["nodes"]] == ["total", "a", "price", "b"]
    assert ev.tree.leaves == ["price"]


def test_a_file_without_periods_holds_for_every_period(write):
    write("p.csv", "period,x\n2025-05,1\n2025-06,2\n")
    write("c.csv", "y\n10\n")
    write("t.yaml", """
        name: t
        data: {p: p.csv, c: c.csv}
        root:
          id: total
          formula: x * y
          children:
            - {id: x, source: p.x}
            - {id: y, source: c.y}
        """)
    ev = evaluate(load_tree("t.yaml"))
    assert ev.values["total"].tolist() == [10.0, 20.0]


def test_guardrails_are_evaluated_and_breaches_flagged(write):
    text = ARPU + """
guardrails:
  - {id: complaint_rate, unit: "%", source: d.pen, max: 0.39}
"""
    ev = evaluate(load(write, text))
    result = eval_result(ev, 1)
    assert result.to_json()["guardrails"] == [{
        "id": "complaint_rate", "name": "complaint_rate", "unit": "%", "value": 0.4,
        "min": None, "max": 0.39, "breached": True, "direction": "up", "owner": None}]
    assert eval_result(ev, 0)["guardrails"][0]["breached"] is False


@pytest.mark.parametrize("value, benchmark, direction, expected", [
    (4200, 5376, "up", "behind"),
    (0.08, 0.05, "down", "behind"),
    (0.04, 0.05, "down", "ahead"),
    (3.2, 3.2, "up", "on_par"),
    (1.0, None, "up", None),
])
def test_status_is_judged_with_the_direction(value, benchmark, direction, expected):
    assert status(value, benchmark, direction) == expected


def test_compute_evaluates_a_batch_of_variants_in_one_pass(write):
    loaded = load(write)
    inputs = leaf_inputs(loaded)
    batch = dict(inputs)
    batch["base_service"] = np.stack([inputs["base_service"], inputs["base_service"] * 1.01])
    values = compute(loaded.tree, batch)
    assert values["arpu"].shape == (2, 2)
    assert values["arpu"][1, 1] - values["arpu"][0, 1] == pytest.approx(30.0)


def test_an_invalid_tree_raises_with_every_error(write):
    write("t.yaml", "name: t\nroot:\n  id: t\n  formula: a + b\n  children:\n    - {id: a}\n")
    with pytest.raises(NsmError) as caught:
        load_tree("t.yaml")
    codes = [d.code for d in caught.value.diagnostics]
    assert codes == ["E203", "E110"] or sorted(codes) == ["E110", "E203"]

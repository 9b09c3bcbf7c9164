"""The tree-quality rules of `nsm check`: each finds its problem at the exact place, and a
node's `ignore:` silences it there."""

from __future__ import annotations

import json

import pytest

from nsm_cli.check.rules import RULES

CASES = [
    # (code, tree text, files, line, column); `# ignore-here` marks where `ignore:` goes
    ("W401", """\
        name: Revenue
        data:
          d: d.csv
        root:
          id: revenue
          # ignore-here
          formula: a + b
          source: d.revenue
          children:
            - {id: a, source: d.a}
            - {id: b, source: d.b}
        """, {"d.csv": "period,revenue,a,b\n2025-05,300,100,200\n2025-06,1500,800,500\n"},
     8, 11),
    ("W402", """\
        name: Revenue
        root:
          id: revenue
          # ignore-here
          formula: visits + price
          children:
            - {id: visits, unit: 次, value: 2.5}
            - {id: price, unit: 元, value: 1680}
        """, {}, 5, 21),
    ("W403", """\
        name: Deep
        root:
          id: l1
          formula: l2 * 2
          children:
            - id: l2
              formula: l3 * 2
              children:
                - id: l3
                  formula: l4 * 2
                  children:
                    - id: l4
                      formula: l5 * 2
                      children:
                        - id: l5
                          # ignore-here
                          value: 1
        """, {}, 15, 19),
    ("W404", """\
        name: Shallow
        root:
          id: spend
          # ignore-here
          formula: a + b
          children:
            - {id: a, value: 1}
            - {id: b, value: 2}
        """, {}, 3, 3),
    ("W405", """\
        name: Wide
        root:
          id: total
          # ignore-here
          formula: a + b + c + d + e + f
          children:
            - {id: a, value: 1}
            - {id: b, value: 1}
            - {id: c, value: 1}
            - {id: d, value: 1}
            - {id: e, value: 1}
            - {id: f, value: 1}
        """, {}, 7, 5),
    ("W406", """\
        name: Visits
        root:
          id: visits
          formula: first * 2
          children:
            - id: first
              # ignore-here
              value: 0.8
              benchmark: 0.85
        """, {}, 6, 7),
    ("W407", """\
        name: Visits
        root:
          id: visits
          formula: first * 2
          children:
            - id: first
              # ignore-here
              value: 0.8
              owner: 客服团队
              actions: [首保提醒]
        """, {}, 6, 7),
    ("W408", """\
        name: Visits
        data:
          d: d.csv
        root:
          id: visits
          # ignore-here
          formula: first * 2
          children:
            - {id: first, source: d.first}
        """, {"d.csv": "period,first,total,note\n2025-06,0.8,2.5,text here\n"}, 3, 6),
    ("W409", """\
        name: Revenue
        root:
          id: revenue
          # ignore-here
          unit: 元
          formula: buyers * price
          children:
            - {id: buyers, unit: 人, value: 900}
            - {id: price, unit: 元, value: 555}
        """, {}, 5, 9),
    ("W411", """\
        name: Retention
        data:
          d: d.csv
        root:
          id: retained
          formula: active * retention
          children:
            - {id: active, source: d.active}
            - id: retention
              unit: "%"
              # ignore-here
              source: d.retention
        """, {"d.csv": "period,active,retention\n2025-06,1000,6.39\n"}, 12, 15),
    ("W412", """\
        name: Buyers
        data:
          d: d.csv
        root:
          id: buyers
          formula: visitors * conversion
          children:
            - {id: visitors, source: {data: d, column: visitors, agg: sum}}
            - id: conversion
              unit: "%"
              # ignore-here
              source: {data: d, column: conversion, agg: mean}
        """, {"d.csv": "period,visitors,conversion\n2025-06,10,50%\n2025-06,990,2%\n"},
     12, 15),
    ("W201", """\
        name: Ratio
        root:
          id: ratio
          # ignore-here
          formula: a / b
          children:
            - {id: a, value: 1}
            - {id: b, value: 0}
        """, {}, 5, 12),
]


def findings(run, code: str) -> list[tuple[int, int]]:
    result = json.loads(run.stdout)
    return [(d["line"], d["column"]) for d in result["diagnostics"] if d["code"] == code]


@pytest.mark.parametrize(("code", "tree", "files", "line", "column"), CASES,
                         ids=[case[0] for case in CASES])
def test_each_rule_reports_its_code_at_the_exact_place(nsm, write, code, tree, files, line,
                                                       column):
    for name, text in files.items():
        write(name, text)
    write("tree.yaml", tree)
    run = nsm("check", "tree.yaml", "--format", "json")
    assert findings(run, code) == [(line, column)], run.stdout
    assert run.code == 0 and run.stderr == ""   # warnings alone pass without --strict


@pytest.mark.parametrize(("code", "tree", "files", "line", "column"), CASES,
                         ids=[case[0] for case in CASES])
def test_ignore_on_the_node_silences_the_rule(nsm, write, code, tree, files, line, column):
    for name, text in files.items():
        write(name, text)
    write("tree.yaml", tree.replace("# ignore-here", f"ignore: [{code}]   # on purpose"))
    run = nsm("check", "tree.yaml", "--format", "json")
    assert run.code == 0
    assert findings(run, code) == []


def test_every_rule_is_registered_once_with_what_it_needs():
    assert list(RULES) == [f"W4{i:02d}" for i in range(1, 13)]
    names = [rule.NAME for rule in RULES.values()]
    assert len(set(names)) == len(names)
    for code, rule in RULES.items():
        assert code == rule.CODE
        assert rule.SEVERITY in ("warning", "info")
        assert rule.__doc__ and rule.SUMMARY and rule.BAD_SNIPPET and rule.GOOD_SNIPPET


@pytest.mark.parametrize("code", list(RULES))
def test_each_rules_bad_example_has_the_finding_and_its_good_example_not(nsm, write, code):
    rule = RULES[code]
    for name, text in getattr(rule, "FILES", {}).items():
        write(name, text)
    write("bad.yaml", rule.BAD)
    write("good.yaml", rule.GOOD)
    bad = json.loads(nsm("check", "bad.yaml", "--format", "json").stdout)
    good = json.loads(nsm("check", "good.yaml", "--format", "json").stdout)
    assert bad["errors"] == good["errors"] == 0, (bad, good)
    assert code in [d["code"] for d in bad["diagnostics"]]
    assert code not in [d["code"] for d in good["diagnostics"]]


def test_mece_message_gives_both_numbers_the_period_and_the_gap(nsm, write):
    code, tree, files, *_ = CASES[0]
    write("d.csv", files["d.csv"])
    write("tree.yaml", tree)
    run = nsm("check", "tree.yaml", "--format", "json")
    [message] = [d["message"] for d in json.loads(run.stdout)["diagnostics"]
                 if d["code"] == "W401"]
    # 2025-06: observed 1,500, formula 800 + 500 = 1,300: +200 / 1,300 = +15.38%
    assert "observed 1,500 (d.revenue) in 2025-06" in message
    assert "a + b gives 1,300: +15.38%, beyond the 1% tolerance" in message


def test_mece_within_the_tolerance_is_quiet_and_the_mau_tree_is_within_1_percent(nsm, write):
    write("d.csv", "period,total,a,b\n2025-06,1009,500,500\n")   # +0.9%
    write("tree.yaml", """\
        name: T
        data: {d: d.csv}
        root:
          id: total
          formula: a + b
          source: d.total
          children: [{id: a, source: d.a}, {id: b, source: d.b}]
        """)
    assert findings(nsm("check", "tree.yaml", "--format", "json"), "W401") == []


@pytest.mark.parametrize(("formula", "units", "clash"), [
    ("a + b", ("元", "元"), False),
    ("a + b", ("元", "次"), True),
    ("a - b", ("人", "辆"), True),
    ("a * b + c", ("人", "%", "人"), False),         # 人 × % is 人
    ("a * b + c", ("次", "元", "元"), False),         # 次 × 元 is unknown: not judged
    ("(1 - a) * (1 - b)", ("%", "%"), False),
    ("a / b + c", ("元", "元", "元"), True),          # 元 / 元 is a plain number
    ("max(a, b) + c", ("人", "人", "元"), True),
    ("a + b", ("元", None), False),                  # a node without unit is not judged
])
def test_units_are_followed_through_the_formula(nsm, write, formula, units, clash):
    kids = "\n".join(f"    - {{id: {name}, value: 1{', unit: ' + repr(unit) if unit else ''}}}"
                     for name, unit in zip("abc", units, strict=False))
    write("tree.yaml", f"name: T\nroot:\n  id: r\n  formula: {formula}\n  children:\n{kids}\n")
    run = nsm("check", "tree.yaml", "--format", "json", "--select", "W402")
    assert bool(findings(run, "W402")) is clash, run.stdout


def test_thresholds_come_from_the_config(nsm, write):
    _, tree, *_ = CASES[2]   # five levels
    write("tree.yaml", tree)
    write("pyproject.toml", "[tool.nsm]\nmax_depth = 5\nmax_children = 1\n")
    run = nsm("check", "tree.yaml", "--format", "json")
    assert findings(run, "W403") == []
    assert findings(run, "W405") == []  # one child each: not more than 1


def test_structure_rules_still_run_when_the_data_is_broken(nsm, write):
    write("tree.yaml", """\
        name: T
        data: {d: missing.csv}
        root:
          id: r
          formula: a + b
          children: [{id: a, source: d.a}, {id: b, value: 1}]
        """)
    run = nsm("check", "tree.yaml", "--format", "json")
    codes = [d["code"] for d in json.loads(run.stdout)["diagnostics"]]
    assert run.code == 1
    assert "E303" in codes and "W404" in codes
    assert "W401" not in codes and "W408" not in codes   # these need the data


@pytest.mark.parametrize("column", ["id", "customer_id", "order-id", "orderId", "用户ID",
                                    "订单编号"])
def test_identifier_columns_are_never_unused_metrics(nsm, write, column):
    write("d.csv", f"period,first,{column}\n2025-06,0.8,1001\n")
    write("tree.yaml", "name: t\ndata: {d: d.csv}\nroot: {id: first, source: d.first}\n")
    run = nsm("check", "tree.yaml", "--format", "json")
    assert findings(run, "W408") == []
    write("d.csv", "period,first,total\n2025-06,0.8,1001\n")
    assert findings(nsm("check", "tree.yaml", "--format", "json"), "W408") == [(2, 11)]


def test_percent_as_number_message_shows_the_fix(nsm, write):
    code, tree, files, *_ = [case for case in CASES if case[0] == "W411"][0]
    write("d.csv", files["d.csv"])
    write("tree.yaml", tree)
    [message] = [d["message"] for d in json.loads(nsm("check", "tree.yaml", "--format",
                                                      "json").stdout)["diagnostics"]
                 if d["code"] == "W411"]
    assert "(6.39 shows as 639%): write the cells as 6.39% or 0.0639" in message

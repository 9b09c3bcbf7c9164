"""`nsm goal-seek`: what each lever alone must reach, solved by a bracketing root-finder.

Hand-computed values are in trees/README.md ("Goal-seek" tables) and below;
nonlinear and non-monotonic formulas, domains and infeasible targets are
written in tmp_path.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from conftest import TREES
from rich.console import Console

from nsm_cli.analysis.goalseek import brent, goal_seek, parse_target, scan_points, solve
from nsm_cli.data.load import load_tree
from nsm_cli.render.goalseek_formats import GOALSEEK_FORMATS
from nsm_cli.tree.changes import parse_assignment


def seek(path: str | Path, **options) -> dict:
    path = TREES / f"{path}.yaml" if isinstance(path, str) else path
    return goal_seek(load_tree(str(path)), **options)


def by_id(result: dict) -> dict[str, dict]:
    return {row["id"]: row for row in result["levers"]}


def render(result: dict, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(GOALSEEK_FORMATS["text"](result))
    return console.file.getvalue()


def one_period_tree(write, formula: str, leaves: dict[str, float], leaf_extra: str = "",
                    root_extra: str = "") -> Path:
    """`root = formula` over leaves with one period of data; extra YAML for the leaves/root."""
    kids = "\n".join(f"    - id: {name}\n      source: d.{name}{leaf_extra}" for name in leaves)
    write("d.csv", "period," + ",".join(leaves) + "\np1,"
          + ",".join(repr(v) for v in leaves.values()) + "\n")
    return write("t.yaml", f"version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n  id: root\n"
                 f"  formula: {formula}\n{root_extra}  children:\n{kids}\n")


# ---------------------------------------------------------------- the bundled trees


def test_funnel_to_600000_needs_a_contact_rate_of_72_07_percent(nsm):
    run = nsm("goal-seek", TREES / "funnel.yaml", "--target", "600000", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert (result["root_value"], result["target"]) == (499500.0, 600000.0)
    contact = by_id(result)["contact_rate"]
    # 600,000 / (10,000 × 30% × 50% × 555) = 0.720720…
    assert contact["required"] == pytest.approx(600000 / (10000 * 0.3 * 0.5 * 555), rel=1e-12)
    assert round(contact["required"], 6) == 0.720721
    assert contact["change"] == pytest.approx(0.120721, abs=1e-6)
    assert contact["change_pct"] == pytest.approx(0.2012, abs=1e-4)
    assert contact["feasible"] is True and contact["reason"] is None


def test_funnel_text_reads_in_percent_and_points(nsm):
    run = nsm("goal-seek", TREES / "funnel.yaml", "--target", "600,000")
    assert run.code == 0
    row = next(line for line in run.stdout.splitlines() if line.startswith("接触率"))
    assert row.split() == ["接触率", "服务顾问团队", "60%", "→", "72.07%", "+12.07", "pp",
                           "+20.1%", "✓"]
    assert run.stdout.startswith("Goal-seek for 增值服务收入: 499,500 元 → target 600,000 元 "
                                 "(+100,500 元, +20.1%) · 2025-06")


def test_arpu_to_5000_says_what_each_leaf_alone_would_need():
    result = seek("arpu", target=5000)
    rows = by_id(result)
    # arpu = (first_purchase + repeat_visits) × (base_service + vas_penetration × vas_price)
    expected = {
        "first_purchase": 5000 / 1680 - 1.7,      # 1.276190…
        "repeat_visits": 5000 / 1680 - 0.8,       # 2.176190…
        "base_service": 5000 / 2.5 - 480,         # 1,520
        "vas_penetration": (2000 - 1200) / 1200,  # 66.67%
        "vas_price": (2000 - 1200) / 0.4,         # 2,000
    }
    assert list(rows) == list(expected)
    for leaf, required in expected.items():
        assert rows[leaf]["required"] == pytest.approx(required, rel=1e-12), leaf
        assert rows[leaf]["feasible"] is True
    assert round(rows["repeat_visits"]["required"], 4) == 2.1762
    assert rows["base_service"]["change"] == pytest.approx(320)
    assert rows["base_service"]["change_pct"] == pytest.approx(0.266667, abs=1e-6)


def test_the_target_comes_from_the_file_when_not_given():
    result = seek("arpu")
    assert result["target"] == 5000.0 and result["target_source"] == "file"
    assert by_id(result)["base_service"]["required"] == pytest.approx(1520)


def test_an_interior_node_can_be_a_lever():
    rows = by_id(seek("arpu", levers=["visits"]))
    assert list(rows) == ["visits"]
    assert rows["visits"]["required"] == pytest.approx(5000 / 1680, rel=1e-12)
    assert rows["visits"]["leaf"] is False


def test_a_rate_that_would_need_more_than_100_percent_is_infeasible(nsm):
    run = nsm("goal-seek", TREES / "mau.yaml", "--format", "json")
    rows = by_id(json.loads(run.stdout))
    first = rows["first_service_rate"]
    # 8,400 − 5,980 − 800 = 1,620 new actives from 1,500 deliveries: 108%
    assert first["feasible"] is False and first["required"] is None and first["change"] is None
    assert first["would_need"] == pytest.approx(1.08, rel=1e-12)
    assert first["reason"] == ("even at 100% the root reaches only 8,280 人; it would need 108% "
                               "(above 100%, the top of its range)")
    assert rows["recall_rate"]["required"] == pytest.approx(0.244, rel=1e-12)
    assert rows["deliveries"]["required"] == pytest.approx(2025, rel=1e-12)


def test_infeasible_text_says_why(nsm):
    run = nsm("goal-seek", TREES / "mau.yaml")
    assert run.code == 0
    row = next(line for line in run.stdout.splitlines() if line.startswith("新客首次服务率"))
    assert "—" in row and "✗ impossible" in row
    assert ("✗ 新客首次服务率 (first_service_rate): even at 100% the root reaches only 8,280 人"
            in run.stdout)


def test_a_scenario_that_fixes_an_ancestor_cuts_the_levers_below(nsm):
    result = seek("arpu", scenario="li_plan")
    rows = by_id(result)
    assert result["root_value"] == pytest.approx(5040)
    assert rows["first_purchase"]["feasible"] is False
    assert "'visits' is fixed by the scenario" in rows["first_purchase"]["reason"]
    # 5,000 = 2.8 × (1,200 + 0.5 × price) → price = (5000/2.8 − 1200)/0.5
    assert rows["vas_price"]["required"] == pytest.approx((5000 / 2.8 - 1200) / 0.5, rel=1e-10)


def test_a_set_on_the_lever_itself_is_replaced_by_the_solution():
    result = seek("funnel", target=600000, sets=[parse_assignment("contact_rate=0.8")])
    contact = by_id(result)["contact_rate"]
    assert contact["value"] == 0.8 and result["root_value"] == pytest.approx(666000)
    assert contact["required"] == pytest.approx(0.720721, abs=1e-6)


def test_a_rate_root_takes_a_percent_target():
    rows = by_id(seek("journey", target=parse_target("80%")))
    assert rows["churn_delivery"]["required"] == pytest.approx(0.0157722497, abs=1e-9)
    assert rows["churn_delivery"]["change"] < 0


# ---------------------------------------------------------------- nonlinear formulas


def test_sqrt(write):
    path = one_period_tree(write, "sqrt(a) * b", {"a": 16.0, "b": 2.0})
    rows = by_id(seek(path, target=10))
    assert rows["a"]["required"] == pytest.approx(25.0, rel=1e-12)   # (10 / 2)^2
    assert rows["b"]["required"] == pytest.approx(2.5, rel=1e-12)


def test_quotient(write):
    path = one_period_tree(write, "cost / units", {"cost": 1200.0, "units": 300.0})
    rows = by_id(seek(path, target=3))
    assert rows["units"]["required"] == pytest.approx(400.0, rel=1e-12)
    assert rows["cost"]["required"] == pytest.approx(900.0, rel=1e-12)


def test_non_monotonic_takes_the_root_nearest_the_current_value(write):
    # root = x × (10 − x): 16 at x = 2; 21 at x = 3 and at x = 7
    path = one_period_tree(write, "x * (10 - x) + y", {"x": 2.0, "y": 0.0})
    row = by_id(seek(path, target=21, levers=["x"]))["x"]
    assert row["required"] == pytest.approx(3.0, rel=1e-12)
    assert row["solutions"] == 2 and "also 7" in row["reason"]


def test_non_monotonic_out_of_reach(write):
    path = one_period_tree(write, "x * (10 - x) + y", {"x": 2.0, "y": 0.0})
    row = by_id(seek(path, target=30, levers=["x"]))["x"]
    assert row["feasible"] is False and row["would_need"] is None
    assert row["reason"] == "even at 5 the root reaches only 25"


def test_a_node_domain_bounds_the_search(write):
    path = one_period_tree(write, "a + b", {"a": 2.0, "b": 1.0},
                           leaf_extra="\n      domain: [1, 5]")
    rows = by_id(seek(path, target=7))
    assert rows["a"]["feasible"] is False and rows["a"]["would_need"] == pytest.approx(6.0)
    assert "above 5, the top of its range" in rows["a"]["reason"]
    assert rows["b"]["required"] == pytest.approx(5.0)


def test_an_unbounded_domain_allows_negative_values(write):
    path = one_period_tree(write, "a + b", {"a": 2.0, "b": 1.0},
                           leaf_extra="\n      domain: [null, null]")
    rows = by_id(seek(path, target=-10))
    assert rows["a"]["required"] == pytest.approx(-11.0) and rows["a"]["feasible"] is True


def test_a_count_cannot_go_negative(write):
    path = one_period_tree(write, "a + b", {"a": 2.0, "b": 1.0})
    row = by_id(seek(path, target=0.5))["a"]
    assert row["feasible"] is False and row["would_need"] == pytest.approx(-0.5)
    assert row["reason"] == ("even at 0 the root stays at 1; it would need −0.5 "
                             "(below 0, the bottom of its range)")


def test_far_targets_expand_the_bracket_geometrically(write):
    path = one_period_tree(write, "a * b", {"a": 2.0, "b": 3.0})
    row = by_id(seek(path, target=6e12))["a"]
    assert row["required"] == pytest.approx(2e12, rel=1e-12)


def test_already_on_target(write):
    path = one_period_tree(write, "a * b", {"a": 2.0, "b": 3.0})
    row = by_id(seek(path, target=6))["a"]
    assert (row["required"], row["change"], row["feasible"]) == (2.0, 0.0, True)


# ---------------------------------------------------------------- the root-finder


@pytest.mark.parametrize(("fn", "a", "b", "root"), [
    (lambda x: x - 0.5, 0.0, 1.0, 0.5),
    (lambda x: math.cos(x) - x, 0.0, 1.0, 0.7390851332151607),
    (lambda x: x ** 3 - 2, 0.0, 2.0, 2 ** (1 / 3)),
    (lambda x: math.exp(x) - 10, -5.0, 5.0, math.log(10)),
    (lambda x: (x - 1e-7) * 1e9, 0.0, 1.0, 1e-7),
    (lambda x: x, 0.0, 1.0, 0.0),                    # a root at the bracket's end
])
def test_brent_finds_the_root_to_machine_precision(fn, a, b, root):
    found = brent(fn, a, b, fn(a), fn(b))
    assert found == pytest.approx(root, rel=1e-12, abs=1e-300)


def test_brent_refuses_a_non_bracket():
    with pytest.raises(ValueError, match="bracket"):
        brent(lambda x: x * x + 1, -1.0, 1.0, 2.0, 2.0)


def test_a_pole_is_not_a_root():
    import numpy as np

    # 1/(x − 3) changes sign across x = 3 but never equals 0
    found = solve(lambda xs: np.where(xs == 3, np.nan, 1 / (xs - 3)), 0.0, 2.0, 0.0, 10.0)
    assert found["roots"] == []


def test_scan_points_stay_within_the_domain():
    points = scan_points(0.6, 0.0, 1.0)
    assert points.min() == 0.0 and points.max() == 1.0 and 0.6 in points
    open_ended = scan_points(10.0, 0.0, math.inf)
    assert open_ended.min() == 0.0 and open_ended.max() > 1e19


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("args", "message"), [
    (["--lever", "nope"], "--lever nope: no such node in the tree"),
    (["--lever", "vas_revenue"], "--lever vas_revenue: that is the root"),
    (["--target", "lots"], "--target lots: expected a number"),
    (["--period", "2030-01"], "--period 2030-01: no such period"),
    (["--scenario", "nope"], "--scenario nope: no such scenario"),
    (["--format", "yaml"], "--format yaml: choose one of text, json, markdown"),
])
def test_wrong_usage_exits_2(nsm, args, message):
    run = nsm("goal-seek", TREES / "funnel.yaml", *args)
    assert run.code == 2 and run.stdout == ""
    assert message in run.stderr


def test_no_target_anywhere_is_wrong_usage(nsm, write):
    path = one_period_tree(write, "a * b", {"a": 2.0, "b": 3.0})
    run = nsm("goal-seek", path)
    assert run.code == 2
    assert "--target: the root 'root' has no target" in run.stderr


def test_missing_data_for_the_period_is_an_error(nsm, write):
    write("d.csv", "period,a,b\np1,1,\n")
    write("t.yaml", "version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n  id: root\n"
          "  formula: a * b\n  children:\n    - id: a\n      source: d.a\n"
          "    - id: b\n      source: d.b\n")
    run = nsm("goal-seek", "t.yaml", "--target", "5")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("t.yaml:12:15: 'b' has no data for p1 in d.b")
    assert "[E310]" in run.stderr


def test_json_has_nothing_else_on_stdout(nsm):
    run = nsm("goal-seek", TREES / "arpu.yaml", "--format", "json")
    result = json.loads(run.stdout)
    assert set(result["levers"][0]) >= {"id", "name", "value", "required", "change",
                                        "change_pct", "feasible", "reason"}
    assert result["root"] == "arpu" and result["root_value"] == 4200.0


def test_text_rendered_at_a_fixed_width():
    text = render(seek("arpu"), width=120)
    assert text.startswith("Goal-seek for ARPU(客户年度消费额): 4,200 元 → target 5,000 元 "
                           "from the file (+800 元, +19.0%) · 2025-06")
    row = next(line for line in text.splitlines() if line.startswith("基础服务"))
    assert row.split() == ["基础服务", "服务顾问团队", "1,200", "元", "→", "1,520", "元",
                           "+320", "元", "+26.7%", "✓"]

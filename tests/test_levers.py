"""`nsm rank-levers`: the articles' lever numbers, honest gaps, the tornado, and the engine's maths.

Hand-computed values are in trees/README.md ("Levers" tables); the engine that
pushes every step up the tree at once is checked against re-evaluating the
whole tree per leaf on random trees.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import TREES
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from nsm_cli.analysis.evaluate import compute, evaluate
from nsm_cli.analysis.levers import (
    LeverOptions,
    levers_result,
    parse_step,
    rank_levers,
)
from nsm_cli.data.load import load_tree
from nsm_cli.diagnostics import RequestError
from nsm_cli.render.levers_formats import LEVERS_FORMATS, bar, decimals, level_text
from nsm_cli.tree.changes import parse_assignment


def levers(tree: str | Path, **options) -> dict:
    path = TREES / f"{tree}.yaml" if isinstance(tree, str) else tree
    return rank_levers(load_tree(str(path)), **options)


def by_id(result: dict) -> dict[str, dict]:
    return {row["id"]: row for row in result["levers"]}


def render(result: dict, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(LEVERS_FORMATS["text"](result))
    return console.file.getvalue()


# ---------------------------------------------------------------- the articles' numbers


def test_mau_with_points_gives_the_articles_65_50_15():
    result = levers("mau", points=True)
    assert result["root_value"] == 7980.0 and result["period"] == "2025-06"
    assert result["mode"] == "points" and result["step"] == 0.01
    rows = by_id(result)
    # exactly, after json_number's rounding of float noise
    assert rows["retention_rate"]["delta"] == 65.0
    assert rows["recall_rate"]["delta"] == 50.0
    assert rows["first_service_rate"]["delta"] == 15.0
    assert rows["retention_rate"]["potential"] == 195.0
    assert rows["retention_rate"]["new_value"] == 0.93
    assert [row["id"] for row in result["levers"]] == [
        "retention_rate", "prev_active", "recall_rate", "first_service_rate", "deliveries",
        "dormant"]
    assert [row["rank"] for row in result["levers"]] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("tree, points, expected", [
    # (id, value, stepped, delta, delta_pct, elasticity, potential) from trees/README.md
    ("mau", True, [
        ("retention_rate", 0.92, 0.93, 65, 0.008145, 0.7494, 195),
        ("prev_active", 6500, 6565, 59.8, 0.007494, 0.7494, None),
        ("recall_rate", 0.16, 0.17, 50, 0.006266, 0.1003, 100),
        ("first_service_rate", 0.8, 0.81, 15, 0.00188, 0.1504, 75),
        ("deliveries", 1500, 1515, 12, 0.001504, 0.1504, None),
        ("dormant", 5000, 5050, 8, 0.001003, 0.1003, None)]),
    ("mau", False, [
        ("prev_active", 6500, 6565, 59.8, 0.007494, 0.7494, None),
        ("retention_rate", 0.92, 0.9292, 59.8, 0.007494, 0.7494, 195),
        ("deliveries", 1500, 1515, 12, 0.001504, 0.1504, None),
        ("first_service_rate", 0.8, 0.808, 12, 0.001504, 0.1504, 75),
        ("dormant", 5000, 5050, 8, 0.001003, 0.1003, None),
        ("recall_rate", 0.16, 0.1616, 8, 0.001003, 0.1003, 100)]),
    ("arpu", False, [
        ("base_service", 1200, 1212, 30, 0.007143, 0.7143, 125),
        ("repeat_visits", 1.7, 1.717, 28.56, 0.0068, 0.68, 1092),
        ("first_purchase", 0.8, 0.808, 13.44, 0.0032, 0.32, 84),
        ("vas_penetration", 0.4, 0.404, 12, 0.002857, 0.2857, 450),
        ("vas_price", 1200, 1212, 12, 0.002857, 0.2857, -100)]),
    ("arpu", True, [
        ("base_service", 1200, 1212, 30, 0.007143, 0.7143, 125),
        ("vas_penetration", 0.4, 0.41, 30, 0.007143, 0.2857, 450),
        ("repeat_visits", 1.7, 1.717, 28.56, 0.0068, 0.68, 1092),
        ("first_purchase", 0.8, 0.808, 13.44, 0.0032, 0.32, 84),
        ("vas_price", 1200, 1212, 12, 0.002857, 0.2857, -100)]),
    ("funnel", True, [
        ("interest_rate", 0.3, 0.31, 16650, 0.033333, 1, 166500),
        ("purchase_rate", 0.5, 0.51, 9990, 0.02, 1, 0),
        ("contact_rate", 0.6, 0.61, 8325, 0.016667, 1, 166500),
        ("visitors", 10000, 10100, 4995, 0.01, 1, None),
        ("avg_price", 555, 560.55, 4995, 0.01, 1, -4500)]),
    ("journey", True, [
        ("churn_first_service", 0.08, 0.07, 0.00839325, 0.01087, -0.087, 0.0167865),
        ("churn_routine", 0.07, 0.06, 0.008303, 0.010753, -0.0753, 0.016606),
        ("churn_delivery", 0.05, 0.04, 0.0081282, 0.010526, -0.0526, 0.0162564),
        ("churn_first_repair", 0.05, 0.04, 0.0081282, 0.010526, -0.0526, 0.0162564)]),
    ("journey", False, [
        ("churn_first_service", 0.08, 0.0792, 0.00067146, 0.00087, -0.087, 0.0167865),
        ("churn_routine", 0.07, 0.0693, 0.00058121, 0.000753, -0.0753, 0.016606),
        ("churn_delivery", 0.05, 0.0495, 0.00040641, 0.000526, -0.0526, 0.0162564),
        ("churn_first_repair", 0.05, 0.0495, 0.00040641, 0.000526, -0.0526, 0.0162564)]),
])
def test_levers_equal_the_hand_computed_tables(tree, points, expected):
    result = levers(tree, points=points)
    assert [row["id"] for row in result["levers"]] == [item[0] for item in expected]
    for row, (_id, value, stepped, delta, pct, elasticity, potential) in zip(
            result["levers"], expected, strict=True):
        assert row["value"] == pytest.approx(value, rel=1e-12)
        assert row["new_value"] == pytest.approx(stepped, rel=1e-12)
        assert row["delta"] == pytest.approx(delta, rel=1e-9)
        assert row["delta_pct"] == pytest.approx(pct, abs=6e-7 if pct < 0.01 else 6e-6)
        assert row["elasticity"] == pytest.approx(elasticity, abs=6e-5)
        if potential is None:
            assert row["potential"] is None and row["benchmark"] is None
        else:
            assert row["potential"] == pytest.approx(potential, rel=1e-9, abs=1e-9)
        assert row["reason"] is None


def test_funnel_every_factor_moves_the_root_by_the_same_amount():
    rows = levers("funnel")["levers"]
    assert {row["delta"] for row in rows} == {4995.0}
    assert [row["id"] for row in rows] == ["visitors", "contact_rate", "interest_rate",
                                           "purchase_rate", "avg_price"]  # ties: tree order


def test_lowering_a_churn_rate_raises_retention():
    for row in levers("journey")["levers"]:
        assert row["direction"] == "down"
        assert row["new_value"] < row["value"]
        assert row["delta"] > 0 and row["potential"] > 0
        assert row["elasticity"] < 0  # the leaf went down, the root up


def test_sort_by_potential_ranks_by_the_gap_to_benchmark():
    result = levers("arpu", sort="potential")
    assert [row["id"] for row in result["levers"]] == [
        "repeat_visits", "vas_penetration", "base_service", "vas_price", "first_purchase"]
    mau = levers("mau", points=True, sort="potential")
    assert [(row["id"], row["rank"]) for row in mau["levers"]] == [
        ("retention_rate", 1), ("recall_rate", 2), ("first_service_rate", 3),
        ("prev_active", None), ("deliveries", None), ("dormant", None)]


def test_another_period_and_a_larger_step():
    rows = by_id(levers("mau", points=True, period="2025-04", step=0.02))
    # 2025-04: 6,300 × 91%; +2 points → 6,300 × 0.02 = 126
    assert rows["retention_rate"]["delta"] == pytest.approx(126.0)
    assert rows["recall_rate"]["delta"] == pytest.approx(4500 * 0.02)


def test_top_keeps_the_strongest_and_counts_the_rest():
    result = levers("mau", points=True, top=2)
    assert [row["id"] for row in result["levers"]] == ["retention_rate", "prev_active"]
    assert result["hidden"] == 4 and result["total"] == 6


# ---------------------------------------------------------------- scenarios and --set


def test_a_scenario_that_fixes_an_interior_node_stops_the_leaves_below_it():
    result = levers("arpu", scenario="li_plan")
    assert result["root_value"] == pytest.approx(5040.0)
    rows = by_id(result)
    for leaf in ("first_purchase", "repeat_visits"):
        assert rows[leaf]["delta"] == 0.0
        assert "visits" in rows[leaf]["reason"] and "fixed at 2.8" in rows[leaf]["reason"]
        assert rows[leaf]["potential"] == 0.0
    # penetration is 50% under the plan: per visit 1,212 + 600 = 1,812 → 2.8 × 12 = 33.6
    assert rows["base_service"]["delta"] == pytest.approx(33.6)
    assert rows["vas_penetration"]["value"] == pytest.approx(0.5)
    assert rows["vas_penetration"]["delta"] == pytest.approx(2.8 * 0.005 * 1200)
    assert [row["id"] for row in result["levers"]][-2:] == ["first_purchase", "repeat_visits"]


def test_set_on_a_leaf_is_the_new_base_and_relative_changes_carry_through():
    rows = by_id(levers("mau", points=True, sets=[parse_assignment("retention_rate=+3pp")]))
    assert rows["retention_rate"]["value"] == pytest.approx(0.95)
    assert rows["retention_rate"]["new_value"] == pytest.approx(0.96)
    assert rows["retention_rate"]["delta"] == pytest.approx(65.0)
    assert rows["retention_rate"]["potential"] == 0.0
    # per_visit +10%: base_service +12 → per_visit +13.2 → arpu +2.5 × 13.2 = 33
    rows = by_id(levers("arpu", sets=[parse_assignment("per_visit=+10%")]))
    assert rows["base_service"]["delta"] == pytest.approx(33.0)


# ---------------------------------------------------------------- trees written here


def write_tree(folder: Path, body: str, csv: str | None = None) -> Path:
    path = folder / "t.yaml"
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    if csv is not None:
        (folder / "d.csv").write_text(textwrap.dedent(csv).lstrip("\n"), encoding="utf-8")
    return path


def test_a_leaf_without_data_is_listed_with_its_reason_never_ranked_as_zero(tmp_path):
    path = write_tree(tmp_path, """
        name: t
        data: {d: d.csv}
        root:
          id: total
          formula: a * b
          children:
            - {id: a, source: d.a}
            - {id: b, source: d.b}
        """, """
        period,a,b
        2025-05,10,2
        2025-06,12,
        """)
    result = levers(path)
    rows = by_id(result)
    assert rows["b"]["delta"] is None and rows["b"]["rank"] is None
    assert rows["b"]["reason"] == "no data for 2025-06 in d.b"
    assert rows["a"]["delta"] is None
    assert rows["a"]["reason"] == "total has no value for 2025-06 (no data for b)"
    assert result["root_value"] is None
    text = render(result)
    assert "Not ranked (no delta):" in text
    assert "b (b): no data for 2025-06 in d.b" in text
    # the month with data ranks normally
    assert by_id(levers(path, period="2025-05"))["b"]["delta"] == pytest.approx(10 * 0.02)


def test_a_stepped_rate_stays_within_0_to_100_percent(tmp_path):
    path = write_tree(tmp_path, """
        name: t
        root:
          id: total
          formula: n * (r + s) + c
          children:
            - {id: n, value: 1000}
            - {id: r, unit: "%", value: 0.995}
            - {id: s, unit: "%", value: 0}
            - {id: c, unit: "%", value: 0.005, direction: down}
        """)
    rows = by_id(levers(path, points=True))
    assert rows["r"]["new_value"] == 1.0 and rows["r"]["clipped"]
    assert rows["r"]["delta"] == pytest.approx(5.0)
    assert rows["r"]["reason"] == "capped at 100%, the top of its range"
    assert rows["c"]["new_value"] == 0.0 and rows["c"]["reason"].startswith("capped at 0%")
    assert rows["s"]["new_value"] == pytest.approx(0.01)  # points move a rate at 0
    rows = by_id(levers(path))
    assert rows["s"]["delta"] == 0.0 and rows["s"]["elasticity"] is None
    assert rows["s"]["reason"] == "its value is 0: a relative step leaves it at 0"
    path.write_text(path.read_text().replace("0.995", "1.0"))
    rows = by_id(levers(path, points=True))
    assert rows["r"]["delta"] == 0.0 and rows["r"]["new_value"] == 1.0
    assert rows["r"]["reason"].startswith("already at 100%")


def test_a_shared_driver_is_one_lever_moving_every_place_it_feeds(tmp_path):
    path = write_tree(tmp_path, """
        name: t
        root:
          id: revenue
          formula: online + store
          children:
            - id: online
              formula: price * online_orders
              children:
                - {id: price, value: 50}
                - {id: online_orders, value: 100}
            - id: store
              formula: price * store_orders
              children:
                - {ref: price}
                - {id: store_orders, value: 300}
        """)
    result = levers(path)
    assert [row["id"] for row in result["levers"]] == ["price", "store_orders",
                                                       "online_orders"]
    price = result["levers"][0]
    assert price["shared"] is True
    assert price["delta"] == pytest.approx(0.5 * 400)  # both places at once
    assert price["elasticity"] == pytest.approx(1.0)
    assert "price ↪" in render(result)


# ---------------------------------------------------------------- properties


def tree_file(formula: str, values: list[float], units: list[str | None] | None = None) -> str:
    units = units or [None] * len(values)
    kids = "\n".join(
        f"    - {{id: x{i}, value: {v!r}" + (f", unit: '{u}'" if u else "") + "}"
        for i, (v, u) in enumerate(zip(values, units, strict=True)))
    return f"name: p\nroot:\n  id: root\n  formula: {formula}\n  children:\n{kids}\n"


def levers_of(text: str, **options) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(text, encoding="utf-8")
        return levers(path, **options)


positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
steps = st.floats(min_value=1e-4, max_value=0.5, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(positive, min_size=1, max_size=6), steps)
def test_in_a_pure_product_of_positive_leaves_every_elasticity_is_1(values, step):
    formula = " * ".join(f"x{i}" for i in range(len(values)))
    result = levers_of(tree_file(formula, values), step=step)
    for row in result["levers"]:
        assert row["elasticity"] == pytest.approx(1.0, rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.lists(positive, min_size=1, max_size=6), steps)
def test_in_a_pure_sum_the_elasticities_add_up_to_1(values, step):
    formula = " + ".join(f"x{i}" for i in range(len(values)))
    result = levers_of(tree_file(formula, values), step=step)
    assert sum(row["elasticity"] for row in result["levers"]) == pytest.approx(1.0, rel=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(positive, min_size=1, max_size=5), st.booleans(), st.sampled_from(["+", "*"]))
def test_a_step_of_0_gives_delta_0_for_every_leaf(values, points, operator):
    formula = f" {operator} ".join(f"x{i}" for i in range(len(values)))
    units = ["%" if i % 2 else None for i in range(len(values))]
    rates = [min(v, 1.0) if u else v for v, u in zip(values, units, strict=True)]
    result = levers_of(tree_file(formula, rates, units), step=0.0, points=points)
    for row in result["levers"]:
        assert row["delta"] == 0.0 and row["elasticity"] is None
        assert row["new_value"] == row["value"]


@st.composite
def random_trees(draw):
    """A random tree (+ − * / over 2–3 children, up to 3 levels, one shared leaf) as YAML."""
    counter = iter(range(1000))
    leaves: list[str] = []

    def node(depth: int, indent: str) -> list[str]:
        node_id = f"n{next(counter)}"
        if depth == 3 or (depth > 0 and draw(st.booleans())):
            leaves.append(node_id)
            value = draw(st.floats(min_value=0.1, max_value=100, allow_nan=False))
            return [f"{indent}- {{id: {node_id}, value: {value!r}}}"]
        kids = [node(depth + 1, indent + "    ") for _ in range(draw(st.integers(2, 3)))]
        ids = [kid[0].split("id: ")[1].split(",")[0].split("}")[0] for kid in kids]
        formula = ids[0]
        for kid in ids[1:]:
            formula += f" {draw(st.sampled_from(['+', '-', '*', '/']))} {kid}"
        lines = [f"{indent}- id: {node_id}", f"{indent}  formula: {formula}",
                 f"{indent}  children:"]
        for kid in kids:
            lines += kid
        return lines

    body = node(0, "")
    root_id = body[0].split("id: ")[1]
    rest = [line[2:] for line in body[1:]]
    return "name: r\nroot:\n  id: " + root_id + "\n" + "\n".join("  " + ln for ln in rest) + "\n"


@settings(max_examples=60, deadline=None)
@given(random_trees(), st.floats(min_value=0, max_value=0.3, allow_nan=False))
def test_the_batched_engine_equals_re_evaluating_the_tree_per_leaf(text, step):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.yaml"
        path.write_text(text, encoding="utf-8")
        loaded = load_tree(str(path))
        ev = evaluate(loaded)
        result = levers_result(ev, 0, LeverOptions(step=step))
    tree = loaded.tree
    root = float(ev.values[tree.root][0])
    for row in result["levers"]:
        inputs = dict(ev.inputs)
        leaf = float(ev.inputs[row["id"]][0])
        inputs[row["id"]] = np.array([leaf * (1 + step)])  # leaves are > 0, unitless, up
        with np.errstate(all="ignore"):
            again = float(compute(tree, inputs)[tree.root][0]) - root
        if not math.isfinite(again) or not math.isfinite(root):
            assert row["delta"] is None
        else:
            assert row["delta"] == pytest.approx(again, rel=1e-9, abs=1e-9 * max(1, abs(root)))


# ---------------------------------------------------------------- options


@pytest.mark.parametrize("text, amount, points", [
    ("1%", 0.01, False), ("0.5%", 0.005, False), ("2", 0.02, False), ("+1%", 0.01, False),
    ("1 %", 0.01, False), ("1pp", 0.01, True), ("0.5pt", 0.005, True), ("2PP", 0.02, True),
    ("0", 0.0, False), ("−0%", 0.0, False),
])
def test_step_reads_percent_and_points(text, amount, points):
    assert parse_step(text) == (pytest.approx(amount), points)


@pytest.mark.parametrize("text, words", [
    ("abc", "expected a percentage"), ("", "expected a percentage"), ("%", "expected"),
    ("-1%", "must not be negative"), ("1e999", "finite"), ("1x", "expected"),
])
def test_a_bad_step_is_refused(text, words):
    with pytest.raises(RequestError, match=words):
        parse_step(text)


def test_unknown_sort_is_a_usage_error():
    with pytest.raises(RequestError, match="choose one of delta, potential"):
        levers("mau", sort="size")


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("size, largest, expected", [
    (65, 65, "█" * 20),
    (59.8, 65, "█" * 18 + "▍"),  # 147.2 eighths
    (50, 65, "█" * 15 + "▍"),
    (8, 65, "██▌"),
    (0.001, 65, "▏"),  # never invisible when it moves the root
    (0, 65, ""),
    (-65, 65, "█" * 20),
])
def test_bars_use_eighths_of_a_cell(size, largest, expected):
    assert bar(size, largest) == expected


def test_column_decimals_are_exact_when_cheap_else_three_significant_digits():
    assert decimals([65, 59.8, 50, 15, 12, 8], "人") == 1
    assert decimals([30, 28.56, 13.44, 12], "元") == 2
    assert decimals([16650, 9990, 8325, 4995], "元") == 0
    assert decimals([0.00839325, 0.008303], "%") == 3  # in points: 0.839, 0.830
    assert level_text(1.717, "次") == "1.717" and level_text(560.55, "元") == "560.55"
    assert level_text(0.9292, "%") == "92.92%" and level_text(6565.0, "人") == "6,565"


def test_text_is_a_ranked_table_with_a_tornado():
    text = render(levers("mau", points=True))
    lines = text.splitlines()
    assert lines[0] == ("Levers for MAU(月活跃客户数) = 7,980 人 · 2025-06 · "
                        "step +1 pt (rates) / +1% (others)")
    assert lines[1].split() == ["#", "lever", "owner", "value", "→", "stepped", "Δ", "MAU",
                                "(人)", "benchmark", "potential"]
    rows = lines[2:8]
    assert rows[0].split()[:9] == ["1", "月留存率", "服务体验组", "92%", "→", "93%", "+65.0",
                                   "95%", "+195"]
    assert rows[1].split()[:7] == ["2", "上月活跃客户", "运营团队", "6,500", "→", "6,565",
                                   "+59.8"]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [row.split()[6] for row in rows] == ["+65.0", "+59.8", "+50.0", "+15.0", "+12.0",
                                                "+8.0"]
    # the bars shrink with the delta; the longest fills the room the numbers leave
    lengths = [len(row.split()[-1]) for row in rows]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] >= 8
    assert all(len(line) <= 100 for line in lines)


@pytest.mark.parametrize("width", [60, 70, 80, 90, 100, 140])
def test_numbers_are_never_cut_on_narrow_terminals(width):
    from rich.cells import cell_len

    text = render(levers("arpu"), width=width)
    assert all(cell_len(line) <= width for line in text.splitlines())
    for number in ("+30.00", "+28.56", "+13.44", "1,212", "1.717"):
        assert number in text


def test_text_notes_reasons_and_scenario():
    text = render(levers("arpu", scenario="li_plan"))
    assert "scenario li_plan" in text.splitlines()[0]
    assert "首次购买 *" in text
    assert "* 首次购买: no effect: '年消费频次' (visits) is fixed at 2.8" in text.replace("\n", " ")


def test_a_percent_root_shows_changes_in_points():
    text = render(levers("journey", points=True))
    assert "+0.839 pp" in text and "Levers for 12个月留存率 = 77.22%" in text


# ---------------------------------------------------------------- the command line


def test_cli_mau_table(nsm):
    run = nsm("rank-levers", TREES / "mau.yaml", "--points")
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout.startswith("Levers for MAU(月活跃客户数) = 7,980 人 · 2025-06")
    assert "+65.0" in run.stdout and "█" in run.stdout


def test_cli_json_is_valid_and_alone_on_stdout(nsm):
    run = nsm("rank-levers", TREES / "mau.yaml", "--points", "--format", "json")
    assert run.code == 0
    result = json.loads(run.stdout)
    for key in ("root", "root_value", "period", "step", "mode", "levers"):
        assert key in result
    assert (result["root"], result["root_value"], result["mode"]) == ("mau", 7980.0, "points")
    first = result["levers"][0]
    for key in ("id", "name", "value", "new_value", "delta", "delta_pct", "elasticity",
                "benchmark", "potential"):
        assert key in first
    assert (first["id"], first["delta"], first["potential"]) == ("retention_rate", 65.0, 195.0)


@pytest.mark.parametrize("args, code, words", [
    (["--sort", "size"], 2, "--sort size: choose one of delta, potential"),
    (["--step", "abc"], 2, "--step abc: expected a percentage"),
    (["--step", "-1%"], 2, "must not be negative"),
    (["--top", "0"], 2, "--top"),
    (["--period", "2030-01"], 2, "no such period"),
    (["--scenario", "nope"], 2, "no such scenario"),
    (["--format", "yaml"], 2, "choose one of text, json, markdown"),
])
def test_cli_usage_errors_exit_2_with_a_message(nsm, args, code, words):
    run = nsm("rank-levers", TREES / "mau.yaml", *args)
    assert run.code == code
    assert run.stdout == ""
    assert words in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_step_in_points_turns_points_on(nsm):
    run = nsm("rank-levers", TREES / "mau.yaml", "--step", "1pp", "-f", "json")
    assert json.loads(run.stdout)["mode"] == "points"
    run = nsm("rank-levers", TREES / "mau.yaml", "--step", "2", "-f", "json", "--top", "1")
    result = json.loads(run.stdout)
    assert result["step"] == 0.02 and result["levers"][0]["delta"] == pytest.approx(119.6)


def test_cli_invalid_tree_exits_1_with_file_line_column(nsm, write):
    write("t.yaml", "name: t\nroot:\n  id: t\n  formla: a\n")
    run = nsm("rank-levers", "t.yaml")
    assert run.code == 1
    assert run.stdout == ""
    assert "t.yaml:4:3: unknown key 'formla' in a node (did you mean 'formula'?) [E104]" \
        in run.stderr.splitlines()


def test_cli_help(nsm):
    run = nsm("rank-levers", "--help")
    assert run.code == 0
    for option in ("--step", "--points", "--top", "--sort", "--period", "--scenario",
                   "--set", "--format"):
        assert option in run.stdout


def test_the_readme_shows_a_real_run():
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ nsm rank-levers trees/mau.yaml --points\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    fresh = render(levers("mau", points=True), width=100)
    assert shown.splitlines() == [line.rstrip() for line in fresh.splitlines()]

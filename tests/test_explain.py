"""`nsm explain`: contributions that add up exactly and do not depend on the order of terms.

Hand-computed values are in trees/README.md ("Explain" tables) and in the
worked examples below; the invariants (efficiency, symmetry of term order) are
checked with hypothesis on random trees.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import TREES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rich.console import Console

from nsm_cli.analysis.explain import explain, log_mean
from nsm_cli.data.load import load_tree
from nsm_cli.diagnostics import NsmError, RequestError
from nsm_cli.render.explain_formats import EXPLAIN_FORMATS


def run_explain(path: str | Path, **options) -> dict:
    path = TREES / f"{path}.yaml" if isinstance(path, str) else path
    return explain(load_tree(str(path)), **options)


def by_id(result: dict) -> dict[str, dict]:
    return {row["id"]: row for row in result["contributions"]}


def render(result: dict, fmt: str = "text", width: int = 100) -> str:
    rendered = EXPLAIN_FORMATS[fmt](result)
    if isinstance(rendered, str):
        return rendered
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(rendered)
    return console.file.getvalue()


def assert_adds_up(result: dict) -> None:
    total = math.fsum(row["contribution"] for row in result["contributions"])
    scale = max(abs(result["change"]), abs(result["from_value"]), abs(result["to_value"]))
    assert abs(total - result["change"]) <= 1e-9 * scale


def two_period_tree(write, formula: str, leaves: dict[str, tuple[float, float]],
                    extra: str = "") -> Path:
    """A one-level tree `root = formula` over leaves with values in periods p1 and p2."""
    kids = "\n".join(f"    - id: {name}\n      source: d.{name}" for name in leaves)
    write("d.csv", "period," + ",".join(leaves) + "\n"
          + "p1," + ",".join(repr(v[0]) for v in leaves.values()) + "\n"
          + "p2," + ",".join(repr(v[1]) for v in leaves.values()) + "\n")
    return write("t.yaml", f"version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n  id: root\n"
                 f"  formula: {formula}\n{extra}  children:\n{kids}\n")


# ---------------------------------------------------------------- worked examples


def test_mau_may_to_june_attributes_exactly_284(nsm):
    run = nsm("explain", TREES / "mau.yaml", "--from", "2025-05", "--to", "2025-06",
              "--format", "json")
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    result = json.loads(run.stdout)
    assert (result["from_value"], result["to_value"], result["change"]) == (7696.0, 7980.0, 284.0)
    assert result["method"] == "shapley" and result["exact"] is True
    rows = by_id(result)
    # retained = prev_active × retention_rate: 100 × (0.91 + 0.92)/2 and 0.01 × (6,400 + 6,500)/2
    assert rows["prev_active"]["contribution"] == pytest.approx(91.5, abs=1e-9)
    assert rows["retention_rate"]["contribution"] == pytest.approx(64.5, abs=1e-9)
    assert rows["deliveries"]["contribution"] == pytest.approx(80.0, abs=1e-9)
    assert rows["dormant"]["contribution"] == pytest.approx(48.0, abs=1e-9)
    assert rows["first_service_rate"]["contribution"] == 0.0
    assert rows["recall_rate"]["contribution"] == 0.0
    assert rows["retention_rate"]["share"] == pytest.approx(64.5 / 284, abs=1e-6)
    assert [row["id"] for row in result["contributions"]] == [
        "prev_active", "deliveries", "retention_rate", "dormant",
        "first_service_rate", "recall_rate"]
    assert math.fsum(row["contribution"] for row in result["contributions"]) == 284.0


def test_the_default_periods_are_the_last_two(nsm):
    default = nsm("explain", TREES / "mau.yaml", "--format", "json")
    explicit = nsm("explain", TREES / "mau.yaml", "--from", "2025-05", "--to", "2025-06",
                   "--format", "json")
    assert default.code == 0 and default.stdout == explicit.stdout


@pytest.mark.parametrize(("tree", "expected"), [
    ("arpu", {"repeat_visits": 66.365333, "vas_penetration": 58.906667, "base_service": 24.75,
              "vas_price": 19.306667, "first_purchase": 16.591333}),
    ("funnel", {"interest_rate": 32322.5, "visitors": 24035.0, "avg_price": 4242.5,
                "contact_rate": 0.0, "purchase_rate": 0.0}),
    ("journey", {"churn_first_service": 0.008304, "churn_routine": 0.008214,
                 "churn_first_repair": 0.008041, "churn_delivery": 0.0}),
])
def test_bundled_trees_match_the_hand_computed_shapley_values(tree, expected):
    result = run_explain(tree)
    rows = by_id(result)
    for leaf, value in expected.items():
        assert rows[leaf]["contribution"] == pytest.approx(value, abs=1e-6), leaf
    assert_adds_up(result)


def test_a_product_of_two_factors_matches_the_closed_form(write):
    x0, x1, y0, y1 = 120.0, 150.0, 0.3, 0.25
    path = two_period_tree(write, "x * y", {"x": (x0, x1), "y": (y0, y1)})
    rows = by_id(run_explain(path))
    assert rows["x"]["contribution"] == pytest.approx((x1 - x0) * (y0 + y1) / 2, rel=1e-12)
    assert rows["y"]["contribution"] == pytest.approx((y1 - y0) * (x0 + x1) / 2, rel=1e-12)


def test_revenue_traffic_conversion_price(write):
    path = two_period_tree(write, "traffic * conversion * price",
                           {"traffic": (1000, 1200), "conversion": (0.04, 0.05),
                            "price": (50, 48)})
    result = run_explain(path)
    rows = by_id(result)
    assert result["change"] == pytest.approx(880.0)
    assert round(rows["traffic"]["contribution"], 2) == 440.67
    assert round(rows["conversion"]["contribution"], 2) == 538.67
    assert round(rows["price"]["contribution"], 2) == -99.33
    assert_adds_up(result)


def test_reordering_the_formula_changes_no_contribution(write):
    first = by_id(run_explain(two_period_tree(
        write, "traffic * conversion * price",
        {"traffic": (1000, 1200), "conversion": (0.04, 0.05), "price": (50, 48)})))
    second = by_id(run_explain(two_period_tree(
        write, "price * traffic * conversion",
        {"price": (50, 48), "traffic": (1000, 1200), "conversion": (0.04, 0.05)})))
    for leaf in first:
        assert second[leaf]["contribution"] == pytest.approx(first[leaf]["contribution"],
                                                             rel=1e-12)


def test_no_change_gives_zero_contributions_and_no_share(write):
    path = two_period_tree(write, "a + b", {"a": (3.0, 3.0), "b": (4.0, 4.0)})
    result = run_explain(path)
    assert result["change"] == 0.0 and result["changed"] == 0
    assert all(row["contribution"] == 0 and row["share"] is None
               for row in result["contributions"])


# ---------------------------------------------------------------- sampling beyond --max-exact


def test_twenty_changed_leaves_are_sampled_and_still_add_up_exactly(write):
    leaves = {f"x{i}": (1.0 + i / 100, 1.1 + i / 50) for i in range(20)}
    path = two_period_tree(write, " * ".join(leaves), leaves)
    result = run_explain(path, samples=300, seed=7)
    assert result["exact"] is False and result["changed"] == 20
    assert result["samples"] == 600 and result["seed"] == 7
    assert_adds_up(result)
    assert all(row["error"] > 0 for row in result["contributions"])
    # the same seed gives the same estimate; another seed another, but still adding up
    assert run_explain(path, samples=300, seed=7) == result
    other = run_explain(path, samples=300, seed=8)
    assert other["contributions"] != result["contributions"]
    assert_adds_up(other)


def test_sampled_estimates_agree_with_the_exact_values_within_their_error(write):
    leaves = {f"x{i}": (1.0 + i / 10, 1.5 + i / 7) for i in range(6)}
    path = two_period_tree(write, "x0 * x1 * x2 + x3 * x4 / x5 + x0 * x3", leaves)
    exact = by_id(run_explain(path))
    sampled = run_explain(path, max_exact=0, samples=2000)
    assert_adds_up(sampled)
    for row in sampled["contributions"]:
        assert abs(row["contribution"] - exact[row["id"]]["contribution"]) <= \
            5 * row["error"] + 1e-9


def test_antithetic_pairs_are_exact_for_two_factor_products():
    # each product of two leaves has only pairwise interaction: a permutation and its reverse
    # average to the exact Shapley value, so the sampled MAU numbers are exact
    rows = by_id(run_explain("mau", max_exact=0, samples=5))
    assert rows["retention_rate"]["contribution"] == pytest.approx(64.5, abs=1e-9)
    assert rows["retention_rate"]["error"] == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- LMDI


def logarithmic_mean(a: float, b: float) -> float:
    """L(a, b) = (a − b) / (ln a − ln b), L(a, a) = a: the LMDI weight, written out here."""
    return a if a == b else (a - b) / (math.log(a) - math.log(b))


def test_log_mean():
    assert log_mean(5.0, 5.0) == 5.0
    assert log_mean(4.0, 1.0) == pytest.approx(3 / math.log(4))
    assert log_mean(1.0 + 1e-12, 1.0) == pytest.approx(1.0)


def test_lmdi_on_a_product_follows_the_log_mean_formula(write):
    path = two_period_tree(write, "x * y", {"x": (120.0, 150.0), "y": (0.3, 0.25)})
    result = run_explain(path, method="lmdi")
    weight = logarithmic_mean(150 * 0.25, 120 * 0.3)
    rows = by_id(result)
    assert result["method"] == "lmdi"
    assert rows["x"]["contribution"] == pytest.approx(weight * math.log(150 / 120), rel=1e-12)
    assert rows["y"]["contribution"] == pytest.approx(weight * math.log(0.25 / 0.3), rel=1e-12)
    assert_adds_up(result)


def test_lmdi_handles_quotients_powers_and_the_funnel():
    result = run_explain("funnel", method="lmdi")
    assert_adds_up(result)
    rows = by_id(result)
    assert rows["interest_rate"]["contribution"] == pytest.approx(
        logarithmic_mean(499500, 438900) * math.log(0.30 / 0.28), rel=1e-9)


def test_lmdi_quotient_and_sqrt(write):
    path = two_period_tree(write, "sqrt(a) * b / c", {"a": (4.0, 9.0), "b": (2.0, 3.0),
                                                   "c": (5.0, 4.0)})
    result = run_explain(path, method="lmdi")
    weight = logarithmic_mean(3 * 3 / 4, 2 * 2 / 5)
    rows = by_id(result)
    assert rows["a"]["contribution"] == pytest.approx(weight * 0.5 * math.log(9 / 4))
    assert rows["c"]["contribution"] == pytest.approx(-weight * math.log(4 / 5))
    assert_adds_up(result)


def test_lmdi_gives_the_whole_change_to_a_factor_that_leaves_zero(write):
    path = two_period_tree(write, "a * b", {"a": (0.0, 2.0), "b": (3.0, 5.0)})
    rows = by_id(run_explain(path, method="lmdi"))
    assert rows["a"]["contribution"] == 10.0 and rows["b"]["contribution"] == 0.0


@pytest.mark.parametrize(("formula", "values", "message"), [
    ("a + b", {"a": (1.0, 2.0), "b": (3.0, 4.0)}, "is a sum"),
    ("a - b", {"a": (5.0, 6.0), "b": (3.0, 4.0)}, "is a difference"),
    ("log(a) * b", {"a": (5.0, 6.0), "b": (3.0, 4.0)}, "uses log()"),
    ("a * b", {"a": (-1.0, 2.0), "b": (3.0, 4.0)}, "'a' is -1 in p1"),
    ("a * b", {"a": (0.0, 2.0), "b": (0.0, 4.0)}, "not unique"),
])
def test_lmdi_refuses_what_is_not_a_product_of_positive_factors(nsm, write, formula, values,
                                                                message):
    path = two_period_tree(write, formula, values)
    run = nsm("explain", path, "--method", "lmdi")
    assert run.code == 2 and run.stdout == ""
    assert message in run.stderr and "--method shapley" in run.stderr


# ---------------------------------------------------------------- what people see


def test_text_shows_the_tree_and_a_waterfall(nsm):
    run = nsm("explain", TREES / "mau.yaml")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Why MAU(月活跃客户数) moved · 2025-05 → 2025-06 · 7,696 人 → "
                               "7,980 人 (+284 人, +3.7%) · Shapley, exact over 4 changed")
    row = next(line for line in lines if "月留存率" in line and "──" in line)
    assert row.split()[-6:] == ["91%", "92%", "+1.0", "pp", "+64.5", "22.7%"]
    assert any(line.split()[:4] == ["├──", "留存客户", "5,824", "人"] and "+156.0" in line
               for line in lines)
    # siblings largest first: 上月活跃客户 (+91.5) above 月留存率 (+64.5)
    assert run.stdout.index("上月活跃客户") < run.stdout.index("月留存率")
    waterfall = lines[lines.index(next(line for line in lines if line.startswith("waterfall"))):]
    assert waterfall[1].split()[:2] == ["2025-05", "MAU(月活跃客户数)"]
    assert waterfall[2].split()[:3] == ["上月活跃客户", "+91.5", "7,787.5"]
    assert waterfall[5].split()[:3] == ["沉睡客户数", "+48.0", "7,980.0"]
    assert waterfall[6].split()[:4] == ["2025-06", "MAU(月活跃客户数)", "+284.0", "7,980.0"]
    assert "█" in waterfall[2]
    assert "Unchanged or without effect (0): 新客首次服务率, 召回成功率" in run.stdout


def test_text_of_a_falling_rate_root_uses_points_and_light_bars(write):
    path = two_period_tree(write, "a * b", {"a": (0.5, 0.4), "b": (0.9, 0.95)},
                           extra="  unit: '%'\n")
    text = render(run_explain(path))
    # a: −10 pp × (90% + 95%)/2 = −9.25 pp; b: +5 pp × (50% + 40%)/2 = +2.25 pp
    assert "45% → 38% (−7.0 pp)" in text
    assert "−9.25 pp" in text and "+2.25 pp" in text and "−7.00 pp" in text
    assert "░" in text and "█" in text


def test_sampled_text_shows_the_error(write):
    leaves = {f"x{i}": (1.0 + i / 100, 1.1 + i / 50) for i in range(4)}
    path = two_period_tree(write, " * ".join(leaves), leaves)
    text = render(run_explain(path, max_exact=2, samples=50), width=200)
    assert "± error" in text and "sampled over 4 changed leaves (100 permutations" in text


def test_markdown_lists_every_leaf_and_the_total():
    text = render(run_explain("mau"), "markdown")
    assert "| 月留存率 | 91% | 92% | +64.5 | 22.7% |" in text
    assert "| **MAU(月活跃客户数)** | 7,696 人 | 7,980 人 | **+284.0** | 100% |" in text


# ---------------------------------------------------------------- bad input


def test_a_leaf_without_data_is_an_error_that_points_at_its_source(nsm, write):
    write("d.csv", "period,a,b\np1,1,2\np2,,3\n")
    write("t.yaml", """\
        version: 1
        name: t
        data:
          d: d.csv
        root:
          id: root
          formula: a + b
          children:
            - id: a
              source: d.a
            - id: b
              source: d.b
        """)
    run = nsm("explain", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("t.yaml:10:15: 'a' has no data for p2 in d.a")
    assert "[E310]" in run.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2025-13"], "--from 2025-13: no such period"),
    (["--to", "2024-06"], "--to 2024-06: no such period"),
    (["--method", "chain"], "--method chain: choose one of shapley, lmdi"),
    (["--max-exact", "30"], "--max-exact 30: give a number from 0 to 20"),
    (["--format", "xml"], "--format xml: choose one of text, json, markdown"),
])
def test_wrong_usage_exits_2(nsm, args, message):
    run = nsm("explain", TREES / "mau.yaml", *args)
    assert run.code == 2 and run.stdout == ""
    assert message in run.stderr


def test_one_period_is_not_enough(write):
    write("d.csv", "period,a\np1,1\n")
    path = write("t.yaml", "version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n  id: root\n"
                 "  formula: a * 2\n  children:\n    - id: a\n      source: d.a\n")
    with pytest.raises(RequestError, match="only one period"):
        run_explain(path)


def test_a_mix_without_a_value_is_reported(write):
    # a / (b - c): at p1 b - c = 1, at p2 = 1, but the mix (b from p2, c from p1) gives 0
    path = two_period_tree(write, "a / (b - c)", {"a": (1.0, 2.0), "b": (3.0, 4.0),
                                                   "c": (2.0, 3.0)})
    # b new, c old: 4 - 2 = 2; b old, c new: 3 - 3 = 0 → no value
    with pytest.raises(NsmError, match="mix of the two periods"):
        run_explain(path)


# ---------------------------------------------------------------- properties on random trees

OPS = ("+", "*", "-", "/")


@st.composite
def shapes(draw, depth: int = 0):
    """A random tree: a leaf, or an operator over 2–3 subtrees (differences/quotients: 2)."""
    if depth == 2 or (depth > 0 and draw(st.booleans())):
        return "leaf"
    op = draw(st.sampled_from(OPS))
    count = 2 if op in "-/" else draw(st.integers(2, 3))
    return (op, [draw(shapes(depth + 1)) for _ in range(count)])


def tree_files(shape, values: list[tuple[float, float]], reverse: bool) -> tuple[str, str]:
    """YAML and CSV text for a shape; `reverse` lists every sum's and product's terms backwards."""
    counter = {"leaf": 0, "node": 0}
    lines: list[str] = []
    leaves: list[str] = []

    def emit(node, indent: str, top: bool) -> str:
        if node == "leaf":
            name = f"l{counter['leaf']}"
            counter["leaf"] += 1
            leaves.append(name)
            lines.append(f"{indent}{'' if top else '- '}id: {name}")
            lines.append(f"{indent}{'' if top else '  '}source: d.{name}")
            return name
        op, kids = node
        name = "root" if top else f"n{counter['node']}"
        counter["node"] += 1
        head = indent if top else indent + "- "
        body = indent if top else indent + "  "
        lines.append(f"{head}id: {name}")
        at = len(lines)
        lines.append(f"{body}children:")
        names = [emit(kid, body + "  ", False) for kid in kids]
        terms = list(reversed(names)) if reverse and op in "+*" else names
        lines.insert(at, f"{body}formula: {f' {op} '.join(terms)}")
        return name

    emit(shape, "  ", True)
    yaml = "version: 1\nname: random\ndata:\n  d: d.csv\nroot:\n" + "\n".join(lines) + "\n"
    pairs = values[:len(leaves)]
    csv = ("period," + ",".join(leaves) + "\n" + "p1," + ",".join(repr(a) for a, _ in pairs)
           + "\np2," + ",".join(repr(b) for _, b in pairs) + "\n")
    return yaml, csv


def explain_text(yaml: str, csv: str) -> dict | None:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "d.csv").write_text(csv, encoding="utf-8")
        path = Path(folder, "t.yaml")
        path.write_text(textwrap.dedent(yaml), encoding="utf-8")
        try:
            return run_explain(path)
        except NsmError:
            return None  # a quotient by a difference that is 0 somewhere: not this property


positive = st.floats(0.5, 100.0, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), values=st.lists(st.tuples(positive, positive), min_size=27,
                                        max_size=27))
def test_contributions_add_up_and_ignore_the_order_of_terms(shape, values):
    assume(shape != "leaf")
    forward = explain_text(*tree_files(shape, values, reverse=False))
    assume(forward is not None)
    assert_adds_up(forward)
    backward = explain_text(*tree_files(shape, values, reverse=True))
    assert backward is not None
    assert backward["change"] == pytest.approx(forward["change"], rel=1e-12, abs=1e-12)
    again = by_id(backward)
    scale = max(abs(forward["from_value"]), abs(forward["to_value"]), 1e-300)
    for row in forward["contributions"]:
        assert abs(again[row["id"]]["contribution"] - row["contribution"]) <= 1e-9 * scale


def test_a_shared_driver_counts_once_where_it_is_defined(write):
    write("d.csv", "period,a,b,c\np1,2,3,4\np2,3,3,5\n")
    path = write("t.yaml", """\
        version: 1
        name: shared
        data:
          d: d.csv
        root:
          id: root
          formula: x + y
          children:
            - id: x
              formula: a * b
              children:
                - id: a
                  source: d.a
                - id: b
                  source: d.b
            - id: y
              formula: a * c
              children:
                - ref: a
                - id: c
                  source: d.c
        """)
    result = run_explain(path)
    # root = a·b + a·c = a·(b + c): a moves 2 → 3 with b + c from 7 to 8: φa = 1 × 7.5, φc = 2.5
    rows = by_id(result)
    assert rows["a"]["contribution"] == pytest.approx(7.5)
    assert rows["c"]["contribution"] == pytest.approx(2.5)
    nodes = {node["id"]: node for node in result["nodes"]}
    assert nodes["x"]["contribution"] == pytest.approx(7.5)
    assert nodes["y"]["contribution"] == pytest.approx(2.5)
    assert nodes["root"]["children"] == ["x", "y"]
    text = render(result)
    assert "↪ a (shared: counted where it is defined)" in text

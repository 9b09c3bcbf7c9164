"""Text that fits: at 80, 100 and 120 columns, long English names and units, no number cut.

Every command is rendered at each width; no line may be wider than the terminal, every
hand-computed number must stand whole on one line, and every number of the JSON output
must show (its integer part, or rounded, with thousands separators, written here with
Python's own formatting, not nsm's).
"""

from __future__ import annotations

import json

import pytest
from rich.cells import cell_len

TREE = """
version: 1
name: Subscription revenue tree
data: {m: saas.csv}
root:
  id: mrr
  name: Monthly recurring revenue from all paying subscription customers
  unit: $
  formula: customers * arpa
  target: $150,000
  owner: Revenue operations
  alert: {min: 150000}
  children:
    - id: customers
      name: Paying subscription customers at the end of the month
      unit: customers
      formula: prev_customers * retention_rate + new_customers
      owner: Customer success
      children:
        - id: prev_customers
          name: Paying customers at the end of the previous month
          unit: customers
          source: m.prev_customers
          owner: Customer success
        - id: retention_rate
          name: Monthly logo retention rate of paying customers
          unit: "%"
          source: m.retention_rate
          benchmark: 97%
          owner: Customer success
        - id: new_customers
          name: New paying customers acquired during the month
          unit: customers
          source: m.new_customers
          benchmark: 400
          owner: Growth marketing
    - id: arpa
      name: Average revenue per account per month
      unit: $
      source: m.arpa
      benchmark: 120
      owner: Pricing and packaging
"""
CSV = """period,prev_customers,retention_rate,new_customers,arpa
2025-05,"1,180",95%,230,95
2025-06,"1,351",94%,260,97.5
"""
WIDTHS = (80, 100, 120)
# 2025-06: customers = 1,351 × 94% + 260 = 1,529.94; MRR = 1,529.94 × $97.50 = $149,169.15
# (target $150,000: −$830.85); gaps: 94% − 97% = −3.0 pp; 260 − 400 = −140 (−35.0%);
# $97.50 − $120 = −$22.50 (−18.8%)
EVAL_SHOWN = ["149,169", "150,000", "−830.9", "1,530", "1,351", "94%", "97%", "−3.0 pp",
              "260", "400", "−140 −35.0%", "97.50", "120", "−22.50 −18.8%", "✗"]
OWNER_WORDS = ["Revenue", "operations", "Customer", "success", "Growth", "marketing",
               "Pricing", "packaging"]
# 2025-05: customers = 1,180 × 95% + 230 = 1,351; MRR = 1,351 × $95 = $128,345
EXPLAIN_SHOWN = ["128,345", "149,169", "+20,824", "1,180", "1,351", "230", "260", "95%",
                 "94%", "−1.0 pp", "contribution", "share", "100.0%"]


@pytest.fixture
def saas(write):
    write("saas.csv", CSV)
    write("saas.yaml", TREE)
    write("other.yaml", TREE.replace("      source: m.arpa\n", "      value: 100\n"))
    return "saas.yaml"


def render(nsm, monkeypatch, width: int, *args: str):
    monkeypatch.setenv("COLUMNS", str(width))
    run = nsm(*args)
    assert run.code in (0, 3), run.stderr
    lines = run.stdout.splitlines()
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, f"wider than {width}: {too_wide}"
    return run.stdout


def whole(text: str, number: float) -> bool:
    """The number's digits appear on one line: integer part or rounded, with separators."""
    size = abs(number)
    return any(f"{form:,}" in line for line in text.splitlines()
               for form in (int(size), round(size)))


def numbers(rows: list[dict], *keys: str) -> list[float]:
    """The values under `keys` that are amounts (rates are checked by hand above)."""
    return [row[key] for row in rows for key in keys
            if row.get(key) is not None and row.get("unit", "$") != "%"
            and abs(row[key]) >= 10]


@pytest.mark.parametrize("width", WIDTHS)
def test_eval_fits(nsm, monkeypatch, saas, width):
    text = render(nsm, monkeypatch, width, "eval", saas)
    for shown in EVAL_SHOWN:
        assert any(shown in line for line in text.splitlines()), shown
    for word in OWNER_WORDS:
        assert word in text, word
    result = json.loads(nsm("eval", saas, "--format", "json").stdout)
    for number in numbers(result["nodes"], "value", "benchmark", "target", "target_gap", "gap"):
        assert whole(text, number), number


@pytest.mark.parametrize("width", WIDTHS)
def test_explain_fits(nsm, monkeypatch, saas, width):
    text = render(nsm, monkeypatch, width, "explain", saas)
    for shown in EXPLAIN_SHOWN:
        assert any(shown in line for line in text.splitlines()), shown
    result = json.loads(nsm("explain", saas, "--format", "json").stdout)
    amounts = [result["from_value"], result["to_value"], result["change"]]
    amounts += [row["contribution"] for row in result["contributions"]]
    amounts += numbers(result["nodes"], "from_value", "to_value")
    for number in amounts:
        assert whole(text, number), number


@pytest.mark.parametrize("width", WIDTHS)
def test_rank_levers_fits(nsm, monkeypatch, saas, width):
    text = render(nsm, monkeypatch, width, "rank-levers", saas)
    result = json.loads(nsm("rank-levers", saas, "--format", "json").stdout)
    for number in numbers(result["levers"], "value", "new_value", "delta"):
        assert whole(text, number), number
    assert "149,169" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_goal_seek_fits(nsm, monkeypatch, saas, width):
    text = render(nsm, monkeypatch, width, "goal-seek", saas)
    result = json.loads(nsm("goal-seek", saas, "--format", "json").stdout)
    for number in [result["root_value"], result["target"], result["gap"],
                   *numbers(result["levers"], "value", "required")]:
        assert whole(text, number), number
    # by hand: deliveries alone: (150,000 / 97.5 − 1,269.94) = 268.52 new customers
    assert "268.5" in text and "94.63%" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_alerts_fits(nsm, monkeypatch, saas, width):
    text = render(nsm, monkeypatch, width, "alerts", saas)
    assert "149,169" in text and "min $150,000" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_fits(nsm, monkeypatch, saas, width):
    text = render(nsm, monkeypatch, width, "diff", saas, "other.yaml")
    # arpa $97.50 → $100: MRR 1,529.94 × 100 = $152,994 (+$3,824.85, +2.6%)
    for shown in ("149,169", "152,994", "+$3,825", "+2.6%", "$97.50", "+$2.50"):
        assert any(shown in line for line in text.splitlines()), shown


@pytest.mark.parametrize("width", WIDTHS)
def test_eval_with_trend_and_comparison_fits(nsm, monkeypatch, saas, width):
    # more columns than 80 cells hold: the table continues below, names repeated
    text = render(nsm, monkeypatch, width, "eval", saas, "--trend", "--compare", "2025-05")
    for shown in EVAL_SHOWN + ["128,345", "+20,824 +16.2%", "95%", "−1.0 pp"]:
        assert any(shown in line for line in text.splitlines()), shown
    for word in OWNER_WORDS:
        assert word in text, word


GUARDED = TREE + """
guardrails:
  - id: churned_revenue
    name: Revenue lost to cancelled and downgraded subscriptions
    unit: $
    direction: down
    source: m.churned
    max: $5,000
    owner: Customer success operations
    alert: {falls_for: 1}
"""
# churned revenue 4,200 → 6,150: above the $5,000 bound, and worse for 1 period
GUARDED_CSV = CSV.replace("arpa\n", "arpa,churned\n").replace(",95\n", ",95,\"4,200\"\n")
GUARDED_CSV = GUARDED_CSV.replace(",97.5\n", ",97.5,\"6,150\"\n")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", [(), ("--trend",)])
def test_eval_guardrails_fit(nsm, monkeypatch, write, width, view):
    # the guardrails' table once cut its status ('✓ ok 🔔 falls_for 2' → '✓') and owners
    write("saas.csv", GUARDED_CSV)
    write("saas.yaml", GUARDED)
    text = render(nsm, monkeypatch, width, "eval", "saas.yaml", *view)
    guardrails = text[text.index("Guardrails"):]
    for shown in ("$6,150", "≤ $5,000", "✗ breached", "🔔 falls_for 1"):
        assert any(shown in line for line in guardrails.splitlines()), shown
    if view:
        assert "▲ +1,950 +46.4% ✗" in guardrails   # 6,150 − 4,200, / 4,200
    for word in ("Revenue", "cancelled", "downgraded", "subscriptions", "Customer", "success",
                 "operations"):
        assert word in guardrails, word


@pytest.mark.parametrize("width", WIDTHS)
def test_rank_levers_legend_explains_only_the_columns_shown(nsm, monkeypatch, width):
    # at 80 columns the benchmark columns make room for the bars: the legend then said
    # "potential: the leaf alone at its benchmark" under a table without that column
    from conftest import TREES

    text = render(nsm, monkeypatch, width, "rank-levers", TREES / "arpu.yaml")
    header = next(line for line in text.splitlines() if line.startswith("#"))
    shown = "potential" in header.split()
    assert shown == (width > 80)
    assert ("potential: the leaf alone at its benchmark" in " ".join(text.split())) == shown

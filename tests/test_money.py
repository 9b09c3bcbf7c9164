"""Money reads as people write it: `$76,109`, `¥4,200`, `€`, `£` before the number; `元` after."""

from __future__ import annotations

import json

import pytest
from conftest import TREES

from nsm_cli.numbers import value_text


@pytest.mark.parametrize(("value", "unit", "signed", "shown"), [
    (76109.0, "$", False, "$76,109"),
    (4200.0, "¥", False, "¥4,200"),
    (4200.0, "￥", False, "￥4,200"),
    (12.5, "€", False, "€12.50"),
    (-830.85, "£", False, "−£830.9"),
    (300.0, "$", True, "+$300"),
    (4200.0, "元", False, "4,200 元"),
    (4200.0, "USD", False, "4,200 USD"),
])
def test_currency_symbols_go_first(value, unit, signed, shown):
    assert value_text(value, unit, signed=signed) == shown


TREE = """
version: 1
name: Sales
data: {s: s.csv}
root:
  id: revenue
  name: Revenue
  unit: $
  formula: buyers * price
  target: "$90,000"
  children:
    - {id: buyers, name: Buyers, source: s.buyers, benchmark: "1,000"}
    - {id: price, name: Price, unit: $, source: s.price, benchmark: "$80"}
"""


def test_money_strings_are_numbers_in_yaml_too(nsm, write):
    write("s.csv", 'period,buyers,price\n2025-01,"1,100",$69.19\n')
    write("t.yaml", TREE)
    run = nsm("eval", "t.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    nodes = {n["id"]: n for n in json.loads(run.stdout)["nodes"]}
    assert nodes["revenue"]["target"] == 90000.0
    assert nodes["price"]["benchmark"] == 80.0 and nodes["buyers"]["benchmark"] == 1000.0
    # 1,100 × $69.19 = $76,109 against $90,000: $13,891 short
    assert nodes["revenue"]["value"] == pytest.approx(76109.0)
    text = nsm("eval", "t.yaml")
    line = next(line for line in text.stdout.splitlines() if line.startswith("Revenue"))
    assert "$76,109" in line and "$90,000" in line and "✗ −$13,891" in line


def test_a_money_string_that_is_no_number_is_refused(nsm, write):
    write("s.csv", "period,buyers,price\n2025-01,1,2\n")
    write("t.yaml", TREE.replace('"$90,000"', '"$90,00"'))
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    # the one number grammar: a comma before two digits is a decimal comma, refused with advice
    assert run.stderr == ("t.yaml:9:11: 'target': '$90,00': decimal commas are not read (a "
                          "comma only groups thousands, like 1,200): write 90.00 [E112]\n")


def test_a_met_target_is_ticked(nsm):
    # ARPU is 4,200 元 against a 5,000 元 target: 800 short
    run = nsm("eval", TREES / "arpu.yaml")
    line = next(line for line in run.stdout.splitlines() if line.startswith("ARPU("))
    assert "5,000 元" in line and "✗ −800 元" in line


def test_observed_belongs_to_the_base_view_only(nsm):
    base = nsm("eval", TREES / "mau.yaml")
    assert "≠ 8,000 人" in base.stdout and "observed" in base.stdout.splitlines()[1]
    scenario = nsm("eval", TREES / "mau.yaml", "--scenario", "retention_first")
    assert scenario.code == 0
    assert "≠" not in scenario.stdout and "observed" not in scenario.stdout
    # 6,500 × 95% + 1,200 + 800 = 8,175 人, +195 人 (+2.4%) against the base 7,980 人
    line = next(line for line in scenario.stdout.splitlines() if line.startswith("MAU("))
    assert "8,175 人" in line and "+195 人 +2.4%" in line

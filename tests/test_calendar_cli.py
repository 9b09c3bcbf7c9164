"""Calendar periods through the commands: any spelling on the command line, grains that clash."""

from __future__ import annotations

import json

import pytest

TREE = """
name: t
data:
  m: m.csv
root:
  id: total
  formula: a * 2
  children:
    - {id: a, source: m.a}
"""
# month names sort by time: Mar 1997 is not the latest; 1997-10 comes after 1997-9
MONTHS = "period,a\nJan 1997,1\nFeb 1997,2\nOct 1997,10\nMar 1997,3\nSep 1997,9\n"


def test_latest_is_the_last_month_in_time_not_in_text(nsm, write):
    write("m.csv", MONTHS)
    run = nsm("eval", write("t.yaml", TREE), "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["period"] == "1997-10"
    assert result["periods"] == ["1997-01", "1997-02", "1997-03", "1997-09", "1997-10"]
    assert result["nodes"][0]["value"] == 20.0


@pytest.mark.parametrize("spelling", ["1997-02", "1997-2", "1997/02", "199702", "1997年2月",
                                      "Feb 1997", "February 1997"])
def test_period_option_accepts_every_spelling(nsm, write, spelling):
    write("m.csv", MONTHS)
    run = nsm("eval", write("t.yaml", TREE), "--format", "json", "--period", spelling)
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["period"], result["nodes"][0]["value"]) == ("1997-02", 4.0)


def test_explain_from_and_to_and_compare_accept_any_spelling(nsm, write):
    write("m.csv", MONTHS)
    tree = write("t.yaml", TREE)
    run = nsm("explain", tree, "--from", "Jan 1997", "--to", "1997年3月", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["from"], result["to"], result["change"]) == ("1997-01", "1997-03", 4.0)
    run = nsm("eval", tree, "--compare", "1997-9", "--format", "json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["compare"] == "1997-09"


def test_tree_period_key_accepts_any_spelling(nsm, write):
    write("m.csv", MONTHS)
    tree = write("t.yaml", TREE.replace("name: t", "name: t\nperiod: Sept 1997"))
    run = nsm("eval", tree, "--format", "json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["period"] == "1997-09"


def test_an_unknown_period_is_a_usage_error_in_canonical_form(nsm, write):
    write("m.csv", MONTHS)
    run = nsm("eval", write("t.yaml", TREE), "--period", "1998-1")
    assert run.code == 2
    assert run.stdout == ""
    assert "--period 1998-1: no such period" in run.stderr


def test_blocks_at_different_grains_are_e312_naming_both(nsm, write):
    write("m.csv", "period,a\n2025-05,1\n2025-06,2\n")
    write("d.csv", "period,b\n2025-06-01,1\n2025-06-02,2\n")
    tree = write("t.yaml", """
        name: t
        data:
          monthly: m.csv
          daily: d.csv
        root:
          id: total
          formula: a + b
          children:
            - {id: a, source: monthly.a}
            - {id: b, source: daily.b}
        """)
    run = nsm("eval", tree)
    assert run.code == 1
    assert run.stdout == ""
    assert "[E312]" in run.stderr
    assert "data 'monthly' has monthly periods but data 'daily' has daily periods" in run.stderr
    assert "Traceback" not in run.stderr
    check = nsm("check", tree, "--format", "json")
    codes = [d["code"] for d in json.loads(check.stdout)["diagnostics"]]
    assert check.code == 1 and "E312" in codes

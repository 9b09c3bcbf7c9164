"""Alert rules: parsing with exact file:line:column, firing and quiet, `nsm alerts` exit codes."""

from __future__ import annotations

import io
import json
import math

import pytest
from conftest import TREES
from rich.console import Console

from nsm_cli.analysis.alerts import check_alerts
from nsm_cli.analysis.eval_result import eval_result
from nsm_cli.analysis.evaluate import evaluate
from nsm_cli.analysis.results import AlertsResult
from nsm_cli.data.load import inspect_tree, load_tree
from nsm_cli.render.alerts_formats import ALERTS_FORMATS

# line 11 holds `alert: ALERT`; a flow mapping `{` stands at column 14
TREE = """\
name: t
data:
  d: d.csv
root:
  id: total
  unit: 元
  formula: a + b
  children:
    - id: a
      source: d.a
      alert: ALERT
    - id: b
      source: d.b
"""
CSV = "period,a,b\n2025-01,1,2\n2025-02,2,2\n"


@pytest.mark.parametrize("alert, code, column, words", [
    ("{fals_for: 2}", "E104", 15,
     "unknown alert rule 'fals_for' in alert of 'a' (did you mean 'falls_for'?)"),
    ("{when: 2}", "E104", 15, "rules are min, max, falls_for, change_below, change_above"),
    ("{falls_for: 0}", "E114", 26, "'falls_for' must be at least 1 period, not 0"),
    ("{falls_for: -3}", "E114", 26, "at least 1 period"),
    ("{falls_for: 1.5}", "E114", 26, "'falls_for' must be a whole number of periods, not 1.5"),
    ("{falls_for: two}", "E103", 26, "whole number of periods (like 2), not text"),
    ("{falls_for: true}", "E103", 26, "not true/false"),
    ("{min: lots}", "E103", 20, "'min' must be a number (like 4.5 or 92%), not text"),
    ("{max: [1, 2]}", "E103", 20, "'max' must be a single value, not a list"),
    ("{max: {x: 1}}", "E103", 20, "'max' must be a single value, not a mapping"),
    ("{change_below: -5}", "E114", 29, "not the bare number -5: write the unit"),
    ("{change_below: down}", "E114", 29, "must be a change like -5% (relative) or -2pp"),
    ("{change_above: 2pp}", "E114", 29, "in percentage points, but the unit of 'a' is not %"),
    ("{min: 10, max: 5}", "E114", 20, "min 10 is above max 5, so the alert would always fire"),
    ("{}", "E114", 14, "alert of 'a' has no rules"),
    ("5", "E103", 14, "'alert' must be a mapping, not a number"),
])
def test_a_bad_rule_is_an_error_at_its_place(nsm, write, alert, code, column, words):
    write("d.csv", CSV)
    write("t.yaml", TREE.replace("ALERT", alert))
    _, diagnostics = inspect_tree("t.yaml")
    [found] = [d for d in diagnostics if d.is_error]
    assert (found.code, found.span.line, found.span.column) == (code, 11, column)
    assert words in found.message
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert f"t.yaml:11:{column}: " in run.stderr and f"[{code}]" in run.stderr
    assert nsm("alerts", "t.yaml").code == 1


def test_every_bad_rule_is_reported_at_once(write):
    write("d.csv", CSV)
    write("t.yaml", TREE.replace("ALERT", "{falls_for: 0, change_below: x, mxa: 1}"))
    _, diagnostics = inspect_tree("t.yaml")
    assert [(d.code, d.span.column) for d in diagnostics] == [
        ("E114", 26), ("E114", 43), ("E104", 46)]


def test_good_rules_load(write):
    write("d.csv", CSV)
    write("t.yaml", TREE.replace(
        "ALERT", "{min: 1, max: '1,000', falls_for: 2, change_below: −5%, change_above: +5 %}"))
    loaded, diagnostics = inspect_tree("t.yaml")
    assert loaded is not None and diagnostics == []


# one metric `m` over periods 1..n, with a rule; what fires in the last period
SERIES_TREE = """\
name: s
data:
  d: d.csv
root:
  id: m
  name: 留存率
  unit: UNIT
  direction: DIRECTION
  source: d.m
  alert: RULE
"""


def fire(write, values, rule, unit="%", direction="up", period=None):
    rows = "\n".join(f"{i + 1},{'' if v is None else v}" for i, v in enumerate(values))
    write("d.csv", "period,m\n" + rows + "\n")
    text = (SERIES_TREE.replace("UNIT", f'"{unit}"').replace("DIRECTION", direction)
            .replace("RULE", rule))
    write("s.yaml", text)
    ev = evaluate(load_tree("s.yaml"))
    return check_alerts(ev, ev.period_index(period))


@pytest.mark.parametrize("values, rule, direction, message", [
    (["93%", "92.5%", "92%", "91%"], "falls_for: 3", "up",
     "留存率 fell for 3 periods in a row: 93% → 92.5% → 92% → 91%"),
    (["90%", "92%", "91%", "90%"], "falls_for: 2", "up",
     "留存率 fell for 2 periods in a row: 92% → 91% → 90%"),
    (["90%", "92%", "91%"], "falls_for: 1", "up", "留存率 fell since 2: 92% → 91%"),
    (["5%", "6%", "7%"], "falls_for: 2", "down",
     "留存率 rose for 2 periods in a row (lower is better): 5% → 6% → 7%"),
    (["90%", "89%"], "min: 90%", "up", "留存率 is 89%, below the minimum 90%"),
    (["90%", "91%"], "max: 0.9", "up", "留存率 is 91%, above the maximum 90%"),
    (["50%", "47%"], "change_below: -5%", "up",
     "留存率 changed −6% since 1 (50% → 47%), below −5%"),
    (["50%", "47%"], "change_below: -2pp", "up",
     "留存率 changed −3.0 pp since 1 (50% → 47%), below −2.0 pp"),
    # change rules are about the raw change: they do not mirror for direction: down
    (["5%", "6%"], "change_above: +10%", "down",
     "留存率 changed +20% since 1 (5% → 6%), above +10%"),
])
def test_a_rule_fires_with_its_message(write, values, rule, direction, message):
    report = fire(write, values, "{" + rule + "}", direction=direction)
    [alert] = report["fired"]
    assert alert["message"] == message
    assert alert["id"] == "m" and alert["source"] == "alert"
    assert report["checked"] == 1 and report["skipped"] == []


@pytest.mark.parametrize("values, rule, direction", [
    (["93%", "92%", "92%", "91%"], "falls_for: 3", "up"),    # a flat month breaks the run
    (["90%", "92%", "91%", "90%"], "falls_for: 3", "up"),
    (["93%", "92%", "91%"], "falls_for: 2", "down"),          # falling churn is good news
    (["5%", "6%", "7%"], "falls_for: 1", "up"),
    (["90%", "90%"], "min: 90%", "up"),                       # at the bound is not below it
    (["90%", "90%"], "max: 90%", "up"),
    (["50%", "47.5%"], "change_below: -5%", "up"),            # exactly −5% is not below
    (["50%", "49%"], "change_below: -2pp", "up"),
    (["5%", "5.5%"], "change_above: +10%", "down"),
])
def test_a_rule_stays_quiet(write, values, rule, direction):
    report = fire(write, values, "{" + rule + "}", direction=direction)
    assert report["fired"] == [] and report["skipped"] == []


@pytest.mark.parametrize("values, rule, reason", [
    (["91%", None, "90%"], "falls_for: 2", "a value is missing in 1…3"),
    (["91%"], "falls_for: 1", "needs 2 periods up to 1, the data has 1"),
    ([0, 5], "change_above: +5%", "1 is 0: a relative change cannot be told"),
    (["91%", None], "min: 95%", "no value for 2"),
])
def test_a_rule_that_cannot_be_judged_is_skipped_with_a_reason(write, values, rule, reason):
    report = fire(write, values, "{" + rule + "}")
    assert report["fired"] == []
    assert [s["reason"] for s in report["skipped"]] == [reason]


def test_fired_alert_carries_the_values_that_made_it_fire(write):
    report = fire(write, ["93%", "92%", "90%"], "{falls_for: 2, min: 91%}", period="3")
    by_rule = {a["rule"]: a for a in report["fired"]}
    assert by_rule["falls_for"]["periods"] == ["1", "2", "3"]
    assert by_rule["falls_for"]["values"] == [0.93, 0.92, 0.9]
    assert math.isclose(by_rule["falls_for"]["change"], -0.02)
    assert by_rule["falls_for"]["change_pct"] == -0.0217391     # −0.02 / 0.92, 6 digits
    assert by_rule["min"]["value"] == 0.9 and by_rule["min"]["threshold"] == 0.91
    assert report["checked"] == 2


def test_a_selected_earlier_period_is_judged_on_its_own_window(write):
    assert fire(write, ["93%", "92%", "95%"], "{falls_for: 1}", period="2")["fired"]
    assert not fire(write, ["93%", "92%", "95%"], "{falls_for: 1}")["fired"]


# the bundled trees: MAU's complaint rate rises 2.4% → 2.8% → 3.4% (max 3%);
# the journey's 12-month retention is 74.76% in 2025-05 (min 75%)

def test_alerts_on_the_mau_tree_exit_3_with_both_guardrail_alerts(nsm):
    run = nsm("alerts", TREES / "mau.yaml", "--format", "json")
    assert run.code == 3, run.stderr
    result = json.loads(run.stdout)
    assert result["period"] == "2025-06" and result["checked"] == 6
    assert [(a["id"], a["rule"], a["source"]) for a in result["fired"]] == [
        ("complaint_rate", "max", "bound"), ("complaint_rate", "falls_for", "alert")]
    assert result["fired"][1]["values"] == [0.024, 0.028, 0.034]
    assert result["fired"][1]["message"] == \
        "投诉率 rose for 2 periods in a row (lower is better): 2.4% → 2.8% → 3.4%"
    assert result["fired"][0]["value"] == 0.034 and result["fired"][0]["threshold"] == 0.03


@pytest.mark.parametrize("args, code, fired", [
    ([], 0, []),
    (["--period", "2025-05"], 3, [("retention_12m", "min"), ("churn_routine", "change_above")]),
    (["--period", "2025-04"], 3, [("retention_12m", "min")]),
    # (1 − 8%) × 92% × 93% × 95% = 74.78%: a what-if that would breach
    (["--set", "churn_delivery=+3pp"], 3, [("retention_12m", "min")]),
])
def test_alerts_on_the_journey_tree_exit_code_follows_what_fires(nsm, args, code, fired):
    run = nsm("alerts", TREES / "journey.yaml", "--format", "json", *args)
    assert run.code == code, run.stderr
    assert [(a["id"], a["rule"]) for a in json.loads(run.stdout)["fired"]] == fired


def test_alerts_text_lists_what_fired(nsm):
    run = nsm("alerts", TREES / "journey.yaml", "--period", "2025-05")
    assert run.code == 3
    lines = run.stdout.splitlines()
    assert lines[0] == "客户旅程留存树 · alerts for 2025-05 · 2 fired of 3 rules checked"
    assert "12个月留存率 is 74.76%, below the minimum 75%" in run.stdout
    assert any("常规保养流失率" in line and "change_above +10%" in line for line in lines)


def test_quiet_and_empty_trees_exit_0(nsm):
    run = nsm("alerts", TREES / "journey.yaml")
    assert (run.code, run.stdout.splitlines()[1]) == (0, "✓ no alert fired")
    run = nsm("alerts", TREES / "arpu.yaml")
    assert run.code == 0 and "no alert rules" in run.stdout


@pytest.mark.parametrize("args, code, words", [
    (["--period", "2030-01"], 2, "no such period"),
    (["--format", "yaml"], 2, "choose one of text, json, markdown"),
    (["--scenario", "nope"], 2, "no such scenario"),
])
def test_alerts_usage_errors_exit_2(nsm, args, code, words):
    run = nsm("alerts", TREES / "mau.yaml", *args)
    assert (run.code, run.stdout) == (code, "")
    assert words in run.stderr


def test_alerts_help_documents_exit_3(nsm):
    run = nsm("alerts", "--help")
    assert run.code == 0 and "3 at least one alert fired" in run.stdout


def test_eval_marks_firing_nodes(nsm):
    run = nsm("eval", TREES / "journey.yaml", "--period", "2025-05", "--format", "json")
    result = json.loads(run.stdout)
    nodes = {n["id"]: n for n in result["nodes"]}
    assert [a["rule"] for a in nodes["retention_12m"]["alerts"]] == ["min"]
    assert nodes["churn_routine"]["alerts"][0]["rule_text"] == "change_above +10%"
    assert "alerts" not in nodes["churn_delivery"]       # no alert: block, shape unchanged
    assert len(result["alerts"]["fired"]) == 2
    text = nsm("eval", TREES / "journey.yaml", "--period", "2025-05").stdout
    assert "12个月留存率 🔔 min 75%" in text and "常规保养流失率 🔔 change_above +10%" in text
    markdown = nsm("eval", TREES / "mau.yaml", "--format", "markdown").stdout
    assert "| 投诉率 | 3.4% | ≤ 3% | ✗ breached 🔔 falls_for 2 |" in markdown


def test_alerts_text_in_a_fixed_width_console():
    ev = evaluate(load_tree(str(TREES / "mau.yaml")))
    result = eval_result(ev, ev.period_index(None), trend=6)
    console = Console(width=100, file=io.StringIO(), color_system=None)
    report = result.alerts
    console.print(ALERTS_FORMATS["text"](AlertsResult(
        tree="MAU", file="mau.yaml", period="2025-06", scenario=None, root="mau",
        fired=report.fired, checked=report.checked, skipped=report.skipped, warnings=[])))
    text = console.file.getvalue()
    assert "MAU · alerts for 2025-06 · 2 fired of 6 rules checked" in text
    assert "🔔  投诉率 (guardrail)  max 3% (bound)" in text

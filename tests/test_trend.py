"""Trends: the sparkline, period-on-period changes, `nsm eval --trend/--last/--compare`."""

from __future__ import annotations

import io
import json
import math

import pytest
from conftest import TREES
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from nsm_cli.analysis.eval_result import eval_result
from nsm_cli.analysis.evaluate import evaluate
from nsm_cli.analysis.results import Compare
from nsm_cli.analysis.trend import BARS, change, sparkline, verdict, window
from nsm_cli.data.load import load_tree
from nsm_cli.render.eval_formats import EVAL_FORMATS, move_text

NAN = float("nan")


@pytest.mark.parametrize("values, line", [
    ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█"),
    ([8, 1], "█▁"),
    ([0.91, 0.91, 0.92], "▁▁█"),
    ([7422.0, 7696.0, 7980.0], "▁▄█"),        # (7696 − 7422) / 558 × 7 = 3.44 → ▄
    ([5, 5, 5], "▄▄▄"),                         # flat: a straight line at mid height
    ([0.1 + 0.2, 0.3], "▄▄"),                   # float noise is flat too
    ([42], "▄"),
    ([None, 1, NAN, 3], "·▁·█"),
    ([NAN, NAN], "··"),
    ([], ""),
    ([-10, 0, 10], "▁▅█"),                      # 0 is 0.5 × 7 = 3.5 → rounds to 4 → ▅
])
def test_sparkline(values, line):
    assert sparkline(values) == line


@given(st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9)), max_size=30))
def test_sparkline_has_one_cell_per_value_and_spans_min_to_max(values):
    line = sparkline(values)
    assert len(line) == len(values)
    present = [v for v, c in zip(values, line, strict=True) if v is not None]
    assert all((c == "·") == (v is None) for v, c in zip(values, line, strict=True))
    if present and max(present) - min(present) > 1e-6 * max(1.0, abs(max(present))):
        bars = [c for c in line if c != "·"]
        assert BARS[0] in bars and BARS[-1] in bars
        top = line[values.index(max(present))]
        assert top == BARS[-1]


@pytest.mark.parametrize("previous, current, expected", [
    (7696.0, 7980.0, (284.0, 0.0369023)),
    (0.91, 0.92, (0.01, 0.010989)),
    (0.0, 5.0, (5.0, None)),            # relative change from 0 cannot be told
    (-10.0, -5.0, (5.0, 0.5)),          # relative to |previous|
    (None, 5.0, (None, None)),
    (NAN, 5.0, (None, None)),
    (0.1 + 0.2, 0.3, (0.0, 0.0)),
])
def test_change(previous, current, expected):
    assert change(previous, current) == expected


@pytest.mark.parametrize("delta, direction, word", [
    (1.0, "up", "better"), (-1.0, "up", "worse"), (1.0, "down", "worse"),
    (-1.0, "down", "better"), (0.0, "up", "flat"), (None, "up", None),
])
def test_verdict_follows_the_direction(delta, direction, word):
    assert verdict(delta, direction) == word


def test_window_stops_at_the_first_period():
    assert list(window(5, 3)) == [3, 4, 5]
    assert list(window(1, 6)) == [0, 1]


@pytest.mark.parametrize("move, unit, text", [
    ({"change": 284.0, "change_pct": 0.0369023, "verdict": "better"}, "人", "▲ +284 +3.7% ✓"),
    ({"change": 0.006, "change_pct": 0.214286, "verdict": "worse"}, "%", "▲ +0.6 pp ✗"),
    ({"change": -0.01, "change_pct": -0.1, "verdict": "better"}, "%", "▼ −1.0 pp ✓"),
    ({"change": 0.0, "change_pct": 0.0, "verdict": "flat"}, "人", "= 0"),
    ({"change": 0.0, "change_pct": 0.0, "verdict": "flat"}, "%", "= 0.0 pp"),
    ({"change": None, "change_pct": None, "verdict": None}, "人", ""),
])
def test_move_text_reads_without_colour(move, unit, text):
    assert move_text(Compare(period="2025-05", value=None, **move), unit) == text


TREE = """
    name: t
    data:
      d: d.csv
    root:
      id: total
      unit: 元
      formula: a + b
      children:
        - {id: a, unit: 元, source: d.a}
        - {id: b, unit: 元, source: d.b}
    guardrails:
      - {id: churn, unit: "%", source: d.r, direction: down, max: 45%}
    """
CSV = """
    period,a,b,r
    2025-01,100,10,50%
    2025-02,120,10,45%
    2025-03,,10,40%
    2025-04,90,10,42%
    """


@pytest.fixture
def small(write):
    write("d.csv", CSV)
    return write("t.yaml", TREE)


def by_id(result):
    return {n["id"]: n for n in result["nodes"] + result["guardrails"]}


def test_trend_json_lists_the_last_periods_with_exact_values(nsm, small):
    run = nsm("eval", small, "--trend", "--last", "3", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["trend"] == {"last": 3, "periods": ["2025-02", "2025-03", "2025-04"]}
    nodes = by_id(result)
    # 2025-03 has no `a`: the total is missing there, so no change against the previous period
    assert nodes["total"]["trend"] == {
        "periods": ["2025-02", "2025-03", "2025-04"], "values": [130.0, None, 100.0],
        "sparkline": "█·▁", "previous_period": "2025-03", "previous": None,
        "change": None, "change_pct": None, "verdict": None}
    assert nodes["b"]["trend"]["sparkline"] == "▄▄▄"
    assert nodes["b"]["trend"]["change"] == 0.0 and nodes["b"]["trend"]["verdict"] == "flat"
    churn = nodes["churn"]["trend"]
    assert churn["values"] == [0.45, 0.4, 0.42]
    assert churn["change"] == pytest.approx(0.02) and churn["change_pct"] == 0.05
    assert churn["verdict"] == "worse"     # churn is direction: down


def test_trend_defaults_to_six_periods_and_stops_at_the_selected_one(nsm, small):
    run = nsm("eval", small, "--trend", "--period", "2025-02", "--format", "json")
    nodes = by_id(json.loads(run.stdout))
    assert nodes["total"]["trend"]["periods"] == ["2025-01", "2025-02"]
    assert nodes["total"]["trend"]["values"] == [110.0, 130.0]
    assert nodes["total"]["trend"]["change"] == 20.0
    assert nodes["total"]["trend"]["change_pct"] == 0.181818        # 20 / 110
    assert nodes["total"]["trend"]["verdict"] == "better"
    assert nodes["churn"]["trend"]["verdict"] == "better"            # 50% → 45%, down is good
    without = json.loads(nsm("eval", small, "--format", "json").stdout)
    assert without["trend"] is None and "trend" not in without["nodes"][0]


def test_last_alone_turns_the_trend_on(nsm, small):
    result = json.loads(nsm("eval", small, "--last", "2", "--format", "json").stdout)
    assert result["trend"]["periods"] == ["2025-03", "2025-04"]


def test_compare_json_gives_the_other_period_and_the_change_from_it(nsm, small):
    run = nsm("eval", small, "--compare", "2025-01", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["compare"] == "2025-01"
    nodes = by_id(result)
    assert nodes["total"]["compare"] == {"period": "2025-01", "value": 110.0, "change": -10.0,
                                         "change_pct": -0.0909091, "verdict": "worse"}
    assert nodes["churn"]["compare"]["change"] == pytest.approx(-0.08)
    assert nodes["churn"]["compare"]["verdict"] == "better"


@pytest.mark.parametrize("args, words", [
    (["--compare", "2025-13"], "--compare 2025-13: no such period (did you mean"),
    (["--last", "0"], "--last"),
])
def test_bad_trend_options_are_usage_errors(nsm, small, args, words):
    run = nsm("eval", small, *args)
    assert run.code == 2
    assert run.stdout == ""
    assert words in run.stderr


def render(result, width=160) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(EVAL_FORMATS["text"](result))
    return console.file.getvalue()


def test_text_shows_sparklines_and_moves_on_the_mau_tree():
    ev = evaluate(load_tree(str(TREES / "mau.yaml")))
    text = render(eval_result(ev, ev.period_index(None), trend=6))
    lines = text.splitlines()
    assert lines[0] == "MAU 指标树 · period 2025-06 · trend 2025-04…2025-06"
    assert lines[1].split()[:4] == ["metric", "value", "trend", "vs"]
    root = lines[2]
    assert "7,980 人" in root and "▁▄█" in root and "▲ +284 +3.7% ✓" in root
    assert any("月留存率" in line and "▁▁█" in line and "▲ +1.0 pp ✓" in line for line in lines)
    assert any("投诉率" in line and "▲ +0.6 pp ✗" in line for line in lines)
    assert any("服务满意度" in line and "▁█▁" in line and "▼ −0.10 −2.1% ✗" in line
               for line in lines)


def test_text_and_markdown_show_the_compared_period():
    ev = evaluate(load_tree(str(TREES / "mau.yaml")))
    result = eval_result(ev, ev.period_index(None), compare=ev.period_index("2025-04"))
    text = render(result)
    assert "compared with 2025-04" in text.splitlines()[0]
    assert any(line.startswith("MAU") and "7,422 人" in line and "▲ +558 +7.5% ✓" in line
               for line in text.splitlines())
    markdown = EVAL_FORMATS["markdown"](result)
    assert "| metric | value | 2025-04 | vs 2025-04 | benchmark |" in markdown
    assert "| **MAU(月活跃客户数)** | 7,980 人 | 7,422 人 | ▲ +558 +7.5% ✓ |" in markdown


def test_markdown_trend_column_on_the_journey_tree(nsm):
    run = nsm("eval", TREES / "journey.yaml", "--trend", "--format", "markdown")
    assert run.code == 0
    assert "| └ 首保后流失率 | 8% | `██▁` | ▼ −1.0 pp ✓ |" in run.stdout


def test_trend_of_a_scenario_uses_the_changed_values(nsm):
    run = nsm("eval", TREES / "mau.yaml", "--scenario", "retention_first", "--trend",
              "--format", "json")
    root = json.loads(run.stdout)["nodes"][0]["trend"]
    # every period with retention +3pp: 6,300×94% + 1,014 + 675, … , 6,500×95% + 1,200 + 800
    assert root["values"] == pytest.approx([7611.0, 7888.0, 8175.0])
    assert math.isclose(root["change"], 287.0)

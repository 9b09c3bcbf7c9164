"""The Python API: the README's notebook example runs as shown, and the CLI is one client."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, TREES

import nsm_cli as nsm
from nsm_cli import api
from nsm_cli.diagnostics import NsmError, RequestError

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_example_prints_what_the_readme_shows(monkeypatch):
    section = README.split("## Python API", 1)[1]
    code, shown = re.findall(r"```(?:python|text)\n(.*?)```", section, flags=re.S)[:2]
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 — our own README
    assert out.getvalue() == shown


def test_hand_computed_values():
    tree = nsm.load(TREES / "arpu.yaml")
    # ARPU = visits × per_visit: 2.5 × 1,680 = 4,200; Li's plan: 2.8 × 1,800 = 5,040
    assert nsm.evaluate(tree, period="2025-06").nodes[0].value == pytest.approx(4200.0)
    assert nsm.evaluate(tree, scenario="li_plan").nodes[0].value == pytest.approx(5040.0)
    # a plain number sets visits (3 × 1,680 = 5,040); a signed one adds (2.5 + 0.5 = 3)
    assert nsm.evaluate(tree, set={"visits": 3}).nodes[0].value == pytest.approx(5040.0)
    assert nsm.evaluate(tree, set=["visits=+0.5"]).nodes[0].value == pytest.approx(5040.0)


@pytest.mark.parametrize(("call", "args"), [
    (lambda path: nsm.evaluate(path), ["eval"]),
    (lambda path: nsm.rank_levers(path), ["rank-levers"]),
    (lambda path: nsm.explain(path), ["explain"]),
    (lambda path: nsm.goal_seek(path, target="5,000"), ["goal-seek", "--target", "5,000"]),
    (lambda path: nsm.alerts(path), ["alerts"]),
    (lambda path: nsm.forecast(path, seed=0), ["forecast", "--seed", "0"]),
])
def test_results_serialise_to_the_commands_json(nsm_run, call, args):
    path = TREES / "arpu.yaml"
    run = nsm_run(args[0], path, *args[1:], "--format", "json")
    assert json.loads(run.stdout) == call(path).to_json()


@pytest.fixture
def nsm_run(nsm):
    return nsm


def test_errors_name_the_parameter_not_an_option():
    with pytest.raises(RequestError, match="^period 1999: no such period"):
        nsm.evaluate(TREES / "arpu.yaml", period="1999")
    with pytest.raises(RequestError, match="^step -1%: the step must not be negative"):
        nsm.rank_levers(TREES / "arpu.yaml", step="-1%")
    with pytest.raises(RequestError, match="^horizon 0: give 1 to 120 periods"):
        nsm.forecast(TREES / "arpu.yaml", horizon=0)
    with pytest.raises(NsmError):
        nsm.load(TREES / "README.md")


def test_import_stays_light():
    code = "import sys, nsm_cli; print(sorted(m for m in ('numpy', 'rich', 'typer', " \
           "'yaml') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout
    assert out.strip() == "[]"


def test_a_trend_of_no_periods_is_refused_by_name():
    # evaluate(trend=0) raised IndexError from deep inside the trend window
    for last in (0, -3):
        with pytest.raises(RequestError, match=f"^trend {last}: give a number of periods"):
            nsm.evaluate(TREES / "mau.yaml", trend=last)


def test_one_lever_or_one_change_as_text_is_one_not_its_characters():
    # levers="visits" was read as the levers 'v', 'i', 's'…; set="visits=2.8" likewise
    tree = nsm.load(TREES / "arpu.yaml")
    sought = nsm.goal_seek(tree, target=5040, levers="visits")
    assert [lever.id for lever in sought.levers] == ["visits"]
    assert sought.levers[0].required == pytest.approx(3.0)   # 5,040 / 1,680 visits
    assert nsm.evaluate(tree, set="visits=2.8").nodes[0].value == pytest.approx(4704.0)  # × 1,680


def test_a_period_given_as_a_number_is_its_label():
    # period=202506 raised TypeError; a number is read as the label it spells (a month)
    assert nsm.alerts(TREES / "mau.yaml", period=202506).period == "2025-06"
    with pytest.raises(RequestError, match="^period 2031: no such period"):
        nsm.evaluate(TREES / "mau.yaml", period=2031)


def test_the_errors_are_caught_by_the_names_the_readme_gives():
    # README: bad input raises nsm.NsmError or nsm.RequestError; neither was on the package
    with pytest.raises(nsm.RequestError):
        nsm.evaluate(TREES / "mau.yaml", period="1999")
    with pytest.raises(nsm.NsmError):
        nsm.load(TREES / "README.md")
    assert nsm.NsmError is NsmError and nsm.RequestError is RequestError


def test_the_library_names_no_command_line_option(write):
    """The library speaks of periods, points and what-if changes; only the CLI says --period."""
    with pytest.raises(RequestError) as caught:
        nsm.rank_levers(TREES / "arpu.yaml", step="abc")
    assert str(caught.value) == ("step abc: expected a percentage such as 1%, 0.5% or 2 (= 2%), "
                                 "or points such as 1pp (implies points)")
    held = nsm.rank_levers(TREES / "arpu.yaml", set={"visits": "2.8"})
    reason = next(lever.reason for lever in held.levers if lever.id == "first_purchase")
    assert reason == ("no effect: '年消费频次' (visits) is fixed at 2.8 by a what-if change, "
                      "so this leaf no longer moves the root")
    sought = nsm.goal_seek(TREES / "arpu.yaml", target=5000, set={"visits": "2.8"})
    reason = next(lever.reason for lever in sought.levers if lever.id == "first_purchase")
    assert reason == ("the root does not move with first_purchase: 'visits' is fixed by the "
                      "scenario or a what-if change")
    write("d.csv", "period,a,b\np1,1,\np2,2,3\n")
    write("t.yaml", "version: 1\nname: t\ndata:\n  d: d.csv\nroot:\n  id: root\n"
          "  formula: a * b\n  children:\n    - id: a\n      source: d.a\n"
          "    - id: b\n      source: d.b\n")
    with pytest.raises(NsmError) as caught:
        nsm.goal_seek("t.yaml", target=5, period="p1")
    assert str(caught.value) == ("t.yaml:12:15: 'b' has no data for p1 in d.b: goal-seek needs "
                                 "the root's value; fill the data or choose another period "
                                 "[E310]")
    with pytest.raises(NsmError) as caught:
        nsm.explain("t.yaml")
    assert str(caught.value) == ("t.yaml:12:15: 'b' has no data for p1 in d.b: explain needs "
                                 "every leaf in both periods; fill the data or choose other "
                                 "periods [E310]")


def test_the_command_line_adds_its_option_names(nsm):
    run = nsm("rank-levers", TREES / "mau.yaml", "--step", "abc")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == ("nsm: error: --step abc: expected a percentage such as 1%, 0.5% or 2 "
                          "(= 2%), or points such as 1pp (implies --points)\n")


def test_segment_errors_name_the_parameter_and_keep_their_exit_code(nsm):
    """The data layer says `by`/`where`; the command line says --by/--where (exit 1 both)."""
    with pytest.raises(RequestError) as caught:
        api.by_segment(TREES / "regions.yaml", by="city")
    assert str(caught.value) == ("by city: no data block lists 'city' under segments; "
                                 "declared segment columns are region, store")
    with pytest.raises(RequestError) as caught:
        api.by_segment(TREES / "regions.yaml", by="region", where={"region": "华西"})
    assert str(caught.value).startswith("where region=华西: no rows of data 'orders' (")
    run = nsm("eval", TREES / "regions.yaml", "--by", "city")
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr == ("nsm: error: --by city: no data block lists 'city' under segments; "
                          "declared segment columns are region, store\n")


def test_segments_by_parameter(write):
    """trees/regions.yaml in 2025-06: 华北 has 5 orders of 13 items; 华北 and 天津店: 2 orders
    of 3 and 1 items, 4 in all."""
    by = api.evaluate(TREES / "regions.yaml", by="region", where=["store=天津店"])
    assert by.nodes[0].value == 4
    assert [s.segment for s in by.segments] == ["华北"]
    kept = api.evaluate(TREES / "regions.yaml", where={"region": "华北"})
    assert kept.nodes[0].value == 13 and kept.where == {"region": "华北"}
    with pytest.raises(RequestError) as caught:
        api.evaluate(TREES / "regions.yaml", by="region", trend=3)
    assert str(caught.value) == "trend: does not combine with by (region)"
    with pytest.raises(RequestError) as caught:
        api.rank_levers(TREES / "regions.yaml", by="region", set={"orders": 10})
    assert str(caught.value).startswith("set orders=10: a new value for 'orders' (10) cannot "
                                        "be split into segments")
    assert str(caught.value).endswith("; with by region give a relative change (+10%, x1.1) "
                                      "or, for a rate, points (+2pp)")

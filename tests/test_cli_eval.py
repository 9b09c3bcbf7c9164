"""`nsm eval` on the bundled trees: the worked examples' numbers, every format, clean errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT, TREES
from rich.console import Console

from nsm_cli.analysis.eval_result import eval_result
from nsm_cli.analysis.evaluate import evaluate
from nsm_cli.data.load import load_tree
from nsm_cli.render.eval_formats import EVAL_FORMATS


def nodes_of(stdout: str) -> dict[str, dict]:
    return {node["id"]: node for node in json.loads(stdout)["nodes"]}


@pytest.mark.parametrize("tree, args, node, value", [
    ("arpu", [], "arpu", 4200.0),
    ("arpu", [], "visits", 2.5),
    ("arpu", [], "per_visit", 1680.0),
    ("arpu", [], "value_added", 480.0),
    ("arpu", ["--scenario", "li_plan"], "per_visit", 1800.0),
    ("arpu", ["--scenario", "li_plan"], "arpu", 5040.0),
    ("mau", [], "mau", 7980.0),
    ("mau", [], "retained", 5980.0),
    ("mau", [], "new_active", 1200.0),
    ("mau", [], "woken", 800.0),
    ("mau", ["--period", "2025-05"], "mau", 7696.0),
    ("funnel", [], "vas_revenue", 499500.0),
    ("funnel", [], "buyers", 900.0),
    ("funnel", ["--scenario", "contact_80"], "vas_revenue", 666000.0),
    ("funnel", ["--set", "contact_rate=80%"], "vas_revenue", 666000.0),
    ("funnel", ["--set", "contact_rate=+20pp"], "vas_revenue", 666000.0),
    ("journey", [], "retention_12m", 0.95 * 0.92 * 0.93 * 0.95),
    # orders: raw rows rolled up by month (trees/README.md works every value out by hand)
    ("orders", [], "revenue", 700.0),
    ("orders", [], "buyers", 5.0),
    ("orders", [], "paid_orders", 6.0),
    ("orders", [], "order_value", 116.666666667),  # 700 / 6, as JSON's 12 digits give it
    ("orders", ["--period", "Apr 2025"], "buyers", 3.0),
    ("orders", ["--period", "2025-4"], "orders_per_buyer", 1.66666666667),  # 5 / 3
    ("orders", ["--period", "2025年5月"], "revenue", 600.0),
    ("orders", ["--period", "2025-05"], "buyers", 4.0),
])
def test_values_equal_the_hand_computed_ones(nsm, tree, args, node, value):
    run = nsm("eval", TREES / f"{tree}.yaml", "--format", "json", *args)
    assert run.code == 0, run.stderr
    assert nodes_of(run.stdout)[node]["value"] == pytest.approx(value, rel=1e-12)


def test_json_has_the_contract_shape_and_nothing_else_on_stdout(nsm):
    run = nsm("eval", TREES / "mau.yaml", "--format", "json")
    result = json.loads(run.stdout)
    assert result["tree"] == "MAU 指标树"
    assert result["period"] == "2025-06"
    assert result["scenario"] is None
    assert result["root"] == "mau"
    root = result["nodes"][0]
    for key in ("id", "name", "parent", "depth", "unit", "value", "observed", "benchmark", "gap",
                "gap_pct", "target", "status"):
        assert key in root
    assert root["parent"] is None and root["depth"] == 0
    assert root["observed"] == 8000.0
    retention = nodes_of(run.stdout)["retention_rate"]
    assert retention["gap"] == pytest.approx(-0.03)
    assert retention["gap_pct"] == pytest.approx(-0.03 / 0.95, abs=1e-6)
    assert retention["status"] == "behind"
    guard = {g["id"]: g for g in result["guardrails"]}
    assert any(g["breached"] for g in guard.values())


def test_nodes_are_in_pre_order(nsm):
    run = nsm("eval", TREES / "arpu.yaml", "--format", "json")
    ids = [n["id"] for n in json.loads(run.stdout)["nodes"]]
    assert ids == ["arpu", "visits", "first_purchase", "repeat_visits", "per_visit",
                   "base_service", "value_added", "vas_penetration", "vas_price"]


def show(rendered, width=110) -> str:
    """What a renderer's output looks like on a terminal: strings as they are, rich through rich."""
    if isinstance(rendered, str):
        return rendered
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(rendered)
    return console.file.getvalue()


def render(result, width=110) -> str:
    return show(EVAL_FORMATS["text"](result), width)


def test_text_aligns_chinese_names_and_shows_units_and_gaps():
    ev = evaluate(load_tree(str(TREES / "arpu.yaml")))
    text = render(eval_result(ev, ev.period_index(None)))
    lines = text.splitlines()
    assert "4,200 元" in text and "40%" in text and "−15.0 pp" in text
    assert any(line.startswith("│   ├── 首次购买") for line in lines)
    # every value cell ends in the same terminal column, whatever the width of the names
    from rich.cells import cell_len
    value_lines = [line for line in lines[1:] if " 元" in line]
    assert len(value_lines) >= 5
    ends = {cell_len(line[: line.index(" 元") + 2]) for line in value_lines}
    assert len(ends) == 1


def test_observed_mismatch_is_marked(nsm):
    run = nsm("eval", TREES / "mau.yaml")
    assert run.code == 0
    assert "≠ 6,000 人" in run.stdout and "≠ 8,000 人" in run.stdout


ROOT_VALUES = {"arpu": ("4,200 元", 4200.0), "mau": ("7,980 人", 7980.0),
               "funnel": ("499,500 元", 499500.0), "journey": ("77.22%", 0.95 * 0.92 * 0.93 * 0.95)}


@pytest.mark.parametrize("tree", list(ROOT_VALUES))
def test_every_registered_format_renders_every_bundled_tree(tree):
    ev = evaluate(load_tree(str(TREES / f"{tree}.yaml")))
    result = eval_result(ev, ev.period_index(None))
    name = ev.tree.nodes[ev.tree.root].name
    shown, value = ROOT_VALUES[tree]
    for format_name, renderer in EVAL_FORMATS.items():
        text = show(renderer(result), width=200)  # the renderer under test, not another
        if format_name == "json":
            root = json.loads(text)["nodes"][0]
            assert (root["name"], root["value"]) == (name, pytest.approx(value, rel=1e-12))
        else:
            assert name in text and shown in text, (tree, format_name)


def test_markdown_is_a_table(nsm):
    run = nsm("eval", TREES / "funnel.yaml", "--format", "markdown")
    assert run.code == 0
    lines = run.stdout.splitlines()
    assert lines[0].startswith("### ")
    assert lines[2].startswith("| metric | value")
    assert "499,500 元" in run.stdout


@pytest.mark.parametrize("args, words", [
    (["--period", "2030-01"], "no such period"),
    (["--scenario", "nope"], "no such scenario"),
    (["--set", "nope=1"], "no such node"),
    (["--set", "contact_rate"], "expected ID=CHANGE"),
    (["--format", "yaml"], "choose one of text, json, markdown, mermaid, dot"),
])
def test_usage_errors_exit_2_with_a_message(nsm, args, words):
    run = nsm("eval", TREES / "funnel.yaml", *args)
    assert run.code == 2
    assert run.stdout == ""
    assert words in run.stderr
    assert "Traceback" not in run.stderr


def test_invalid_tree_exits_1_with_file_line_column(nsm, write):
    write("t.yaml", "name: t\nroot:\n  id: t\n  formla: a\n")
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert run.stdout == ""
    assert "t.yaml:4:3: unknown key 'formla' in a node (did you mean 'formula'?) [E104]" \
        in run.stderr.splitlines()


def test_hostile_formula_is_refused_and_never_run(nsm, write, tmp_path):
    marker = tmp_path / "pwned"
    write("t.yaml", f"""
        name: t
        root:
          id: t
          formula: __import__('os').system('touch {marker}')
          children:
            - {{id: a, value: 1}}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert "E202" in run.stderr
    assert not marker.exists()


def test_python_m_nsm_cli_runs_as_a_fresh_process():
    proc = subprocess.run(
        [sys.executable, "-m", "nsm_cli", "eval", "trees/funnel.yaml", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["nodes"][0]["value"] == 499500.0


def colours(text: str) -> set[int]:
    """The SGR colour parameters (30–49, 90–107) in text; bold and dim are not colours."""
    found = set()
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        found |= {int(p) for p in params.split(";") if p and (30 <= int(p) <= 49
                                                             or 90 <= int(p) <= 107)}
    return found


def test_no_color_output_has_no_colour_codes(nsm, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as on a terminal: colour unless NO_COLOR
    monkeypatch.delenv("NO_COLOR")
    assert colours(nsm("eval", TREES / "mau.yaml").stdout)
    monkeypatch.setenv("NO_COLOR", "1")
    run = nsm("eval", TREES / "mau.yaml")
    assert colours(run.stdout) == set() and "7,980 人" in run.stdout
    monkeypatch.delenv("FORCE_COLOR")  # piped: no escape codes at all
    assert "\x1b[" not in nsm("eval", TREES / "mau.yaml").stdout


@pytest.mark.parametrize("columns", ["abc", "-5", "0", " "])
def test_a_meaningless_columns_setting_is_ignored_not_a_crash(nsm, monkeypatch, columns):
    monkeypatch.delenv("COLUMNS", raising=False)
    wide = nsm("eval", TREES / "mau.yaml").stdout
    monkeypatch.setenv("COLUMNS", columns)
    run = nsm("eval", TREES / "mau.yaml")
    assert (run.code, run.stderr, run.stdout) == (0, "", wide)
    monkeypatch.setenv("COLUMNS", "60")
    assert nsm("eval", TREES / "mau.yaml").stdout != wide  # the setting is read at all


@pytest.mark.parametrize(("argv", "code", "stream", "expected"), [
    # a big output, written whole before the process ends without freeing its objects
    (["eval", "trees/mau.yaml", "--format", "json"], 0, "stdout", '"tree":'),
    (["eval", "trees/regions.yaml", "--by", "region", "--format", "json"], 0, "stdout",
     '"segments":'),
    (["eval", "trees/no_such.yaml"], 1, "stderr", "no such file"),
    (["eval", "trees/mau.yaml", "--period", "1999-01"], 2, "stderr", "--period"),
    (["alerts", "trees/mau.yaml"], 3, "stdout", "fired"),
])
def test_the_console_entry_flushes_everything_and_keeps_the_exit_code(argv, code, stream,
                                                                     expected):
    proc = subprocess.run([sys.executable, "-m", "nsm_cli", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stderr
    assert expected in getattr(proc, stream)
    if argv[-1] == "json":
        json.loads(proc.stdout)   # complete: nothing left in a buffer

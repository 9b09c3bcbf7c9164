"""Hostile input, round two (issue 17): names that are markup or terminal control sequences,
FIFOs, odd environments and stdouts, domains, reserved ids. Never a traceback, never a
hang, every message on one line, nothing written anywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, TREES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsm_cli.diagnostics import escape_control
from nsm_cli.tree.formula import FUNCTIONS

PYTHON = sys.executable
# a control character of any kind: C0 but \n, DEL, C1, line separators, bidi overrides
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MARKUP = ["[/]", "元[/人]", "[bold]", "[/bold]", "[link=http://x]x[/link]", ":smile:", "[red",
          "\\[x]", "[[", "]]"]
CONTROL = ["\x1b[2J", "\x1b]0;pwned\x07", "\r", "\x07", "\n", "\x08", "\u202e", "\x9b31m", "\t"]

TEMPLATE = """\
name: {title}
data:
  d: d.csv
root:
  id: total
  name: {root_name}
  unit: {root_unit}
  formula: a * b
  target: 900
  children:
    - id: a
      name: {a_name}
      unit: {a_unit}
      owner: {owner}
      source: d.a
      benchmark: 12
    - id: b
      name: {b_name}
      unit: "%"
      source: d.b
      alert: {{min: 90%}}
guardrails:
  - id: g
    name: {g_name}
    unit: {a_unit}
    source: d.g
    max: 1
"""
CSV = "period,a,b,g\n2025-05,10,50%,0\n2025-06,11,60%,5\n"
COMMANDS = [
    ("eval",), ("eval", "--trend"), ("eval", "--compare", "2025-05"),
    ("eval", "--format", "markdown"), ("rank-levers",), ("explain",), ("goal-seek",),
    ("alerts",), ("check",), ("check", "--format", "github"),
]


def tree_text(names: dict[str, str]) -> str:
    """The template with every name as a YAML double-quoted string (JSON escapes are YAML)."""
    fields = {"title": "t", "root_name": "r", "root_unit": "元", "a_name": "a", "a_unit": "人",
              "owner": "o", "b_name": "b", "g_name": "g"}
    fields.update(names)
    return TEMPLATE.format(**{k: yaml_quoted(v) for k, v in fields.items()})


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar: every character but plain ASCII as a \\u/\\U escape."""
    out = []
    for char in text:
        code = ord(char)
        if 0x20 <= code < 0x7F and char not in '"\\':
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def files_in(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}


def run_everything(nsm, folder: Path) -> list[tuple[tuple[str, ...], object]]:
    before = files_in(folder)
    runs = [(command, nsm(command[0], "tree.yaml", *command[1:])) for command in COMMANDS]
    assert files_in(folder) == before   # nothing written, nothing touched
    return runs


def assert_clean(command, run) -> None:
    expected = {"alerts": (0, 3), "check": (0, 1)}.get(command[0], (0,))
    assert run.code in expected, (command, run.stderr)
    assert "Traceback" not in run.stderr
    assert not RAW_CONTROL.search(run.stdout), (command, run.stdout)
    assert not RAW_CONTROL.search(run.stderr), (command, run.stderr)


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")


# -- names are text, never markup; control characters are escaped ------------------------------

@pytest.mark.parametrize("name", MARKUP + [f"客户{c}数" for c in CONTROL])
def test_every_command_prints_a_hostile_name_as_text(nsm, write, wide, tmp_path, name):
    write("d.csv", CSV)
    write("tree.yaml", tree_text({"root_name": name, "a_name": name, "a_unit": name,
                                  "owner": name, "b_name": name, "g_name": name}))
    for command, run in run_everything(nsm, tmp_path):
        assert_clean(command, run)
        if command[0] in ("eval", "rank-levers", "explain", "goal-seek", "alerts"):
            shown = name.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
            shown = re.sub("[\x00-\x1f\x7f-\x9f\u202a-\u202e]",
                           lambda m: (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                                      else f"\\u{ord(m.group()):04x}"), shown)
            assert shown in run.stdout, (command, shown, run.stdout)


def test_json_keeps_names_exactly_as_written(nsm, write):
    name = "元[/人]\x1b[2J"
    write("d.csv", CSV)
    write("tree.yaml", tree_text({"a_name": name}))
    run = nsm("eval", "tree.yaml", "--format", "json")
    assert run.code == 0
    nodes = {n["id"]: n for n in json.loads(run.stdout)["nodes"]}
    assert nodes["a"]["name"] == name          # JSON escapes control characters itself
    assert "\\u001b" in run.stdout and "\x1b" not in run.stdout


NAMES = st.lists(st.one_of(st.sampled_from(MARKUP + CONTROL),
                           st.text(st.characters(exclude_categories=("Cs",)), max_size=3)),
                 min_size=1, max_size=4).map("".join)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, unit=NAMES)
def test_fuzz_names_and_units_never_break_a_command(nsm, write, wide, tmp_path, name, unit):
    write("d.csv", CSV)
    write("tree.yaml", tree_text({"a_name": name, "a_unit": unit, "owner": name,
                                  "b_name": unit, "title": name}))
    for command, run in run_everything(nsm, tmp_path):
        if command[0] == "check" and run.code == 1:   # e.g. a unit that is only spaces
            assert "Traceback" not in run.stderr
            continue
        assert_clean(command, run)


def test_escape_control_shows_each_character_once():
    assert escape_control("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert escape_control("line\nnext\r\t\x07") == "line\\nnext\\r\\t\\x07"
    assert escape_control("\u202eevil\x9b") == "\\u202eevil\\x9b"
    assert escape_control("元[/人] 92%") == "元[/人] 92%"


def test_a_newline_in_a_path_keeps_the_diagnostic_on_one_line(nsm, write, tmp_path):
    path = tmp_path / "bad\nname.yaml"
    path.write_text("name: x\nroot: {id: 1x, value: 1}\n", encoding="utf-8")
    run = nsm("eval", str(path.name))
    assert run.code == 1
    [line] = run.stderr.splitlines()
    assert line.startswith("bad\\nname.yaml:2:") and "[E106]" in line


def test_a_newline_in_a_csv_header_keeps_the_diagnostic_on_one_line(nsm, write):
    write("d.csv", 'period,"a\nb\x1b[2J"\n2025-06,1\n')
    write("tree.yaml", "name: x\ndata: {d: d.csv}\nroot: {id: r, source: d.a}\n")
    run = nsm("eval", "tree.yaml")
    assert run.code == 1
    assert len(run.stderr.splitlines()) == 1 and "\x1b" not in run.stderr
    assert run.stderr.startswith("tree.yaml:3:")


# -- FIFOs and other files that are not regular ---------------------------------------------------

def run_cli(*args: str, timeout: float = 15, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", **kwargs.pop("env", {})}
    return subprocess.run([PYTHON, "-m", "nsm_cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_the_tree_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "tree.yaml")
    run = run_cli("eval", "tree.yaml", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr == ("tree.yaml:1:1: tree.yaml is not a regular file (a FIFO or a device "
                          "would block) [E100]\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_among_the_yaml_files_of_a_folder_is_refused_the_others_checked(tmp_path):
    (tmp_path / "trees").mkdir()
    os.mkfifo(tmp_path / "trees" / "a.yaml")
    (tmp_path / "trees" / "b.yaml").write_text("name: x\nroot: {id: r, value: 1}\n")
    run = run_cli("check", "trees", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1
    found = [(d["file"], d["code"]) for d in json.loads(run.stdout)["diagnostics"]
             if d["severity"] == "error"]
    assert found == [("trees/a.yaml", "E100")]
    assert json.loads(run.stdout)["files"] == 2


@pytest.mark.parametrize("command", [("eval",), ("rank-levers",), ("alerts",),
                                     ("report", "-o", "r.html"), ("diff", "a.yaml")])
def test_a_folder_as_the_tree_is_refused_in_one_line(nsm, write, command):
    # `nsm eval .` printed a traceback: the handle was opened before the folder was seen
    write("a.yaml", "name: x\nroot: {id: r, value: 1}\n")
    run = nsm(command[0], ".", *command[1:])
    assert run.code == 1
    assert run.stderr == ".:1:1: . is a folder, not a tree file [E100]\n"
    assert run.stdout == ""


def test_a_device_as_the_tree_is_refused(nsm):
    run = nsm("eval", os.devnull)
    assert run.code == 1 and "not a regular file" in run.stderr


# -- environment, configuration and stdout --------------------------------------------------------

ENV_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                   max_size=6)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=st.one_of(st.sampled_from(["abc", " ", "", "-5", "0", "²", "99999999999999",
                                          "1e3", "80 ", "٣"]), ENV_TEXT),
       nsm_format=st.one_of(st.sampled_from(["bogus", "", "JSON", "json ", "\x1b[2J"]),
                            ENV_TEXT))
def test_fuzz_environment_values_never_give_a_traceback(nsm, monkeypatch, columns, nsm_format):
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("NSM_FORMAT", nsm_format)
    for args in (["eval", str(TREES / "mau.yaml")], ["check", str(TREES / "mau.yaml")]):
        run = nsm(*args)
        assert run.code in (0, 2), run.stderr
        assert not RAW_CONTROL.search(run.stderr)
        if run.code == 2:
            assert run.stderr.startswith("nsm: error: --format") and run.stdout == ""


def test_a_pyproject_that_is_not_utf8_is_a_clear_usage_error(nsm, write, tmp_path):
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.nsm]\nselect = ["E"]\n# caf\xe9 \xff\n')
    write("tree.yaml", "name: x\nroot: {id: r, value: 1}\n")
    run = nsm("check", "tree.yaml")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.endswith("pyproject.toml: cannot read it as TOML: it is not UTF-8 text "
                               "(TOML files are UTF-8); save it as UTF-8\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_full_disk_on_stdout_is_said_once(fmt):
    with open("/dev/full", "w") as full:
        run = subprocess.run([PYTHON, "-m", "nsm_cli", "eval", str(TREES / "mau.yaml"),
                              "--format", fmt], stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=15)
    assert run.returncode == 1
    assert run.stderr == "nsm: error: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_said_once():
    run = subprocess.run([PYTHON, "-m", "nsm_cli", "eval", str(TREES / "mau.yaml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         timeout=15, preexec_fn=lambda: os.close(1))
    assert run.returncode == 1
    assert run.stderr.startswith("nsm: error: standard output is closed")


def test_an_ascii_stdout_gets_escapes_not_a_traceback():
    run = run_cli("eval", str(TREES / "mau.yaml"), env={"PYTHONIOENCODING": "ascii"})
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.isascii()
    assert "MAU \\u6307\\u6807\\u6811" in run.stdout     # MAU 指标树
    assert "7,980 \\u4eba" in run.stdout                  # 7,980 人


def big_tree(folder: Path, leaves: int, groups: int = 10) -> Path:
    """root = g0 + … + g9, each group the sum of its leaves; leaf i is i + 1 (all in YAML)."""
    lines = ["name: big", "root:", "  id: total", "  target: 1",
             "  formula: " + " + ".join(f"g{k}" for k in range(groups)), "  children:"]
    per = leaves // groups
    for k in range(groups):
        kids = [f"x{k * per + j}" for j in range(per)]
        lines += [f"    - id: g{k}", "      formula: " + " + ".join(kids), "      children:"]
        lines += [f"        - {{id: {kid}, value: {int(kid[1:]) + 1}}}" for kid in kids]
    path = folder / "big.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_broken_pipe_exits_141_quietly(tmp_path):
    tree = big_tree(tmp_path, 1000)
    for fmt in ("text", "json"):
        reader = subprocess.Popen([PYTHON, "-m", "nsm_cli", "eval", str(tree), "--format", fmt],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        reader.stdout.close()                     # the reader is gone before nsm writes
        _, err = reader.communicate(timeout=15)
        assert reader.returncode == 141, err
        assert err == b""


# -- goal-seek over 1,000 levers: one batched pass per step --------------------------------------

def test_goal_seek_over_1000_leaves_gives_every_lever_by_hand(nsm, tmp_path):
    tree = big_tree(tmp_path, 1000)
    # the root is 1 + 2 + … + 1000 = 500,500; a sum moves one for one with each leaf, so
    # leaf i (value i + 1) must reach i + 1 + (600,500 − 500,500) = i + 100,001
    run = nsm("goal-seek", tree, "--target", "600500", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["root_value"] == 500500.0
    levers = {lever["id"]: lever for lever in result["levers"]}
    assert len(levers) == 1000
    for i in range(1000):
        lever = levers[f"x{i}"]
        assert lever["feasible"] and lever["solutions"] == 1
        assert lever["required"] == pytest.approx(i + 100_001, rel=1e-12)
    # lowering the root by more than a leaf holds makes every lever fail at 0, with the reason
    run = nsm("goal-seek", tree, "--target", "400000", "--lever", "x5", "--format", "json")
    small = {lever["id"]: lever for lever in json.loads(run.stdout)["levers"]}["x5"]
    assert small["feasible"] is False and small["would_need"] == pytest.approx(6 - 100_500)


# -- explain: memory bounded whatever the tree --------------------------------------------------

def shared_tree(folder: Path, groups: int = 10, per: int = 100, players: int = 16) -> Path:
    """1,000 products m_i = p_(i mod 16) × c_i summed in 10 groups: every product depends on a
    changed leaf, so the old exact Shapley kept 2^16 variants of ~1,000 nodes (> 500 MB)."""
    lines = ["name: shared", "data: {d: d.csv}", "root:", "  id: total",
             "  formula: " + " + ".join(f"g{k}" for k in range(groups)), "  children:"]
    defined = set()
    for k in range(groups):
        ids = [f"m{k * per + j}" for j in range(per)]
        lines += [f"    - id: g{k}", "      formula: " + " + ".join(ids), "      children:"]
        for node_id in ids:
            i = int(node_id[1:])
            p = f"p{i % players}"
            lines += [f"        - id: {node_id}", f"          formula: {p} * c{i}",
                      "          children:"]
            lines.append(f"            - {{ref: {p}}}" if p in defined
                         else f"            - {{id: {p}, source: d.{p}}}")
            defined.add(p)
            lines.append(f"            - {{id: c{i}, value: {i % 7 + 1}}}")
    (folder / "d.csv").write_text(
        "period," + ",".join(f"p{k}" for k in range(players)) + "\n"
        "2025-05," + ",".join(str(k + 1) for k in range(players)) + "\n"
        "2025-06," + ",".join(str(2 * (k + 1)) for k in range(players)) + "\n")
    path = folder / "shared.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_explain_of_a_wide_shared_tree_stays_under_500_mb(tmp_path):
    tree = shared_tree(tmp_path)
    probe = textwrap.dedent(f"""
        import resource, subprocess, sys
        run = subprocess.run([{PYTHON!r}, "-m", "nsm_cli", "explain", {str(tree)!r},
                              "--format", "json"], capture_output=True, text=True)
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        sys.stderr.write(f"PEAK {{peak_kb}}\\n")
        sys.exit(run.returncode)
    """)
    run = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    peak_mb = int(run.stderr.rsplit("PEAK ", 1)[1]) / 1024
    assert peak_mb < 500, peak_mb
    result = json.loads(run.stdout)
    assert result["exact"] is True and result["changed"] == 16
    # linear in the p's: p_k's contribution is its change (k + 1) × Σ c_i over i ≡ k (mod 16)
    contribution = {row["id"]: row["contribution"] for row in result["contributions"]}
    for k in range(16):
        weights = sum(i % 7 + 1 for i in range(1000) if i % 16 == k)
        assert contribution[f"p{k}"] == pytest.approx((k + 1) * weights, rel=1e-9)


# -- domains and reserved ids ---------------------------------------------------------------------

DOMAIN_TREE = """\
name: x
data: {d: d.csv}
root:
  id: retained
  unit: 人
  formula: active * retention
  children:
    - {id: active, unit: 人, source: d.active}
    - {id: retention, unit: "%", source: d.retention}
"""


def test_a_rate_of_160_percent_warns_in_eval_and_check_and_rank_levers_says_why(nsm, write):
    write("d.csv", "period,active,retention\n2025-06,6500,160%\n")
    write("tree.yaml", DOMAIN_TREE)
    run = nsm("eval", "tree.yaml", "--format", "json")
    assert run.code == 0 and json.loads(run.stdout)["nodes"][0]["value"] == 10400.0
    assert run.stderr == (
        "tree.yaml:9:42: warning: 'retention' is 160% in 2025-06, outside 0%–100% (a rate): "
        "check the data (a percent written as a whole number?), or give the node a domain: "
        "[low, high] if such values are real [W410]\n")
    check = json.loads(nsm("check", "tree.yaml", "--format", "json").stdout)
    assert [(d["code"], d["line"]) for d in check["diagnostics"]
            if d["code"] == "W410"] == [("W410", 9)]
    levers = json.loads(nsm("rank-levers", "tree.yaml", "--points", "--format",
                            "json").stdout)["levers"]
    retention = {lever["id"]: lever for lever in levers}["retention"]
    assert retention["reason"] == ("160% is outside its range (0%–100%): fix the data, or give "
                                   "the node a domain: [low, high]")
    assert "already" not in retention["reason"]


def test_a_negative_count_warns_and_a_domain_allows_it(nsm, write):
    write("d.csv", "period,active,retention\n2025-06,-5,50%\n")
    write("tree.yaml", DOMAIN_TREE)
    run = nsm("eval", "tree.yaml")
    assert run.code == 0
    assert [line.split(": warning: ")[1].split(" in ")[0] for line in run.stderr.splitlines()] \
        == ["'retained' is −2.50 人", "'active' is −5 人"]
    write("tree.yaml", DOMAIN_TREE.replace("unit: 人, source: d.active}",
                                           "unit: 人, source: d.active, domain: [null, null]}")
          .replace("  unit: 人\n", "  unit: 人\n  domain: [null, null]\n", 1))
    assert nsm("eval", "tree.yaml").stderr == ""


def test_in_range_values_and_unitless_negatives_are_quiet(nsm, write):
    write("d.csv", "period,active,retention\n2025-06,6500,100%\n")
    write("tree.yaml", DOMAIN_TREE.replace("unit: 人, source", "source"))
    assert nsm("eval", "tree.yaml").stderr == ""
    write("d.csv", "period,active,retention\n2025-06,-6500,0%\n")
    write("tree.yaml", DOMAIN_TREE.replace("unit: 人", "unit: 元"))
    assert nsm("eval", "tree.yaml").stderr == ""   # money may be negative (a loss)


@pytest.mark.parametrize("reserved, kind", [*[(f, "a function") for f in sorted(FUNCTIONS)],
                                            ("lambda", "a keyword"), ("if", "a keyword"),
                                            ("None", "a keyword")])
def test_a_reserved_word_as_an_id_is_refused_at_the_id(nsm, write, reserved, kind):
    write("tree.yaml", f"""\
        name: x
        root:
          id: r
          formula: a * 2
          children:
            - {{id: a, value: 1}}
            - id: {reserved}
              value: 2
        """)
    run = nsm("check", "tree.yaml", "--format", "json")
    errors = [d for d in json.loads(run.stdout)["diagnostics"] if d["code"] == "E106"]
    assert [(d["line"], d["column"]) for d in errors] == [(7, 11)]
    assert errors[0]["message"] == (f"id '{reserved}' is reserved: it is {kind} in formulas; "
                                    f"choose another id, e.g. {reserved}_value")


# -- the fast table layout reads like rich's ----------------------------------------------------

@pytest.mark.parametrize("args", [["alerts", "trees/mau.yaml"],
                                  ["alerts", "trees/journey.yaml", "--period", "2025-05"],
                                  ["eval", "trees/mau.yaml", "--trend"],
                                  ["rank-levers", "trees/mau.yaml", "--points"],
                                  ["goal-seek", "trees/funnel.yaml", "--target", "600000"]])
def test_the_line_by_line_layout_of_big_tables_matches_rich(nsm, monkeypatch, args):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    normal = nsm(*args)
    monkeypatch.setattr("nsm_cli.render.text_table.FAST_ROWS", 0)
    fast = nsm(*args)
    assert fast.code == normal.code
    assert [line.rstrip() for line in fast.stdout.splitlines()] == \
        [line.rstrip() for line in normal.stdout.splitlines()]


def test_the_line_by_line_layout_fits_a_narrow_terminal_without_cutting_numbers(nsm, monkeypatch):
    from rich.cells import cell_len

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr("nsm_cli.render.text_table.FAST_ROWS", 0)
    run = nsm("alerts", "trees/mau.yaml")
    assert run.code == 3
    lines = run.stdout.splitlines()[1:]    # the title line is not part of the table
    assert all(cell_len(line.rstrip()) <= 60 for line in lines), lines
    assert "3.4%" in run.stdout and "max 3% (bound)" in run.stdout


def test_sampling_that_would_take_long_is_capped_with_w202(nsm, monkeypatch):
    # mau: 10 nodes, 4 leaves changed from 2025-05 to 2025-06, 4 formulas: 2 × 5 × 4 = 40
    # evaluations per pair; a budget of 400 affords 10 pairs of the 1,000 asked
    monkeypatch.setattr("nsm_cli.analysis.explain.MAX_WORK", 400)
    run = nsm("explain", TREES / "mau.yaml", "--max-exact", "0", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["samples"] == 20 and result["changed"] == 4
    assert sum(row["contribution"] for row in result["contributions"]) == pytest.approx(284)
    [note] = [w for w in result["warnings"] if w["code"] == "W202"]
    assert note["message"].startswith("4 leaves changed in a tree of 10 nodes: sampled 10 "
                                      "permutation pairs instead of 1,000")


def test_sampling_that_would_take_minutes_is_refused(nsm, monkeypatch):
    monkeypatch.setattr("nsm_cli.analysis.explain.MAX_WORK", 30)
    run = nsm("explain", TREES / "mau.yaml", "--max-exact", "0")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == ("nsm: error: --method shapley: 4 leaves changed in a tree of 10 nodes: "
                          "even 2 sampled orders of them would take minutes; use --method lmdi "
                          "for a tree of products, or compare periods closer together\n")


# -- Markdown for pull-request comments: names are text, never HTML or links ----------------------

MARKUP_TREE = """
name: "<img src=https://example.com/t.png> tree"
data: {d: d.csv}
root:
  id: r
  name: "<img src=https://example.com/r.png> root"
  unit: "<b>u</b>"
  owner: "![pixel](https://example.com/p.png)"
  formula: a + b
  target: 30
  children:
    - {id: a, source: d.a, name: "a <details>", owner: "[click](https://example.com)",
       benchmark: 15}
    - {id: b, source: d.b, unit: "%", benchmark: 30%}
guardrails:
  - {id: g, source: d.a, name: "<img src=x> g", unit: "<i>", max: 5, alert: {falls_for: 1}}
"""


@pytest.mark.parametrize("command", [("eval",), ("eval", "--trend"), ("rank-levers",),
                                     ("explain",), ("goal-seek",), ("alerts",),
                                     ("diff", "t.yaml"), ("check",), ("forecast",)])
def test_markdown_shows_names_and_units_as_text_never_html_or_links(nsm, write, command):
    # a tree from a pull request named `<img src=…>` put a remote image into the comment
    write("d.csv", "period,a,b\n2025-05,10,20%\n2025-06,12,25%\n")
    write("t.yaml", MARKUP_TREE)
    run = nsm(command[0], "t.yaml", *command[1:], "--format", "markdown")
    assert run.code in (0, 1, 3), run.stderr
    assert "<" not in run.stdout and ">" not in run.stdout.replace("→", "")
    assert not re.search(r"(?<!\\)\[", run.stdout), "an unescaped [ makes a link or an image"
    if command[0] != "check":
        assert "&lt;img src=" in run.stdout   # shown, as text

"""`nsm check` on hostile files from strangers' pull requests: bounded, clear, never a traceback.

Includes a fuzz test: valid tree files mutated at random must give a clean result or
diagnostics with known codes, never a crash (E999) or a hang.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from types import SimpleNamespace

from conftest import TREES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_data import alarm

from nsm_cli.check import check_paths
from nsm_cli.check.catalogue import INTERNAL, catalogue
from nsm_cli.check.formats import CHECK_FORMATS
from nsm_cli.diagnostics import SEVERITIES


def only_codes(run) -> list[str]:
    return sorted({d["code"] for d in json.loads(run.stdout)["diagnostics"]})


def test_an_alias_bomb_is_refused(nsm, write):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    write("bomb.yaml", "\n".join(lines) + "\nname: x\nroot: {id: r, value: 1}\n")
    run = nsm("check", "bomb.yaml", "-f", "json")
    assert run.code == 1 and only_codes(run) == ["E102"]


def test_3000_levels_of_nesting_are_refused(nsm, write):
    write("flow.yaml", "name: x\nroot: " + "[" * 3000 + "]" * 3000 + "\n")
    write("block.yaml", "name: x\nroot:\n" + "".join("  " * (i + 1) + "a:\n"
                                                        for i in range(3000)))
    run = nsm("check", "flow.yaml", "block.yaml", "-f", "json")
    assert run.code == 1
    assert [d["code"] for d in json.loads(run.stdout)["diagnostics"]] == ["E102", "E102"]


def test_huge_numbers_and_power_towers(nsm, write):
    write("int.yaml", "name: x\nroot: {id: r, value: " + "9" * 5000 + "}\n")
    write("tower.yaml", """\
        name: x
        root:
          id: r
          formula: a ** 9 ** 9 ** 9 ** 9
          children: [{id: a, value: 9}]
        """)
    run = nsm("check", "int.yaml", "tower.yaml", "-f", "json", "--select", "E,W2")
    found = [(d["file"], d["code"]) for d in json.loads(run.stdout)["diagnostics"]]
    assert found == [("int.yaml", "E112"), ("tower.yaml", "W201")]


def test_a_100_mb_file_is_refused_without_reading_it(nsm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("big.yaml", "wb") as handle:
        handle.truncate(100 * 1024 * 1024)   # sparse: no 100 MB written
    run = nsm("check", "big.yaml", "-f", "json")
    assert only_codes(run) == ["E100"]
    assert "100.0 MB" in run.stdout


def test_binary_garbage_and_other_encodings(nsm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(bytes(range(256)) * 50)
    (tmp_path / "latin.yaml").write_bytes("name: café\n".encode("latin-1"))
    run = nsm("check", "bin.yaml", "latin.yaml", "-f", "json")
    assert run.code == 1 and only_codes(run) == ["E100"]


def test_a_data_path_outside_the_project_is_refused_and_never_read(nsm, write, tmp_path):
    outside = tmp_path.parent / "secret.csv"
    outside.write_text("period,root\n2025-06,TOP-SECRET-VALUE\n", encoding="utf-8")
    os.symlink(outside, tmp_path / "link.csv")
    write("passwd.yaml", "name: x\ndata:\n  p: ../../etc/passwd\nroot: {id: r, source: p.root}\n")
    write("up.yaml", "name: x\ndata:\n  p: ../secret.csv\nroot: {id: r, source: p.root}\n")
    write("link.yaml", "name: x\ndata:\n  p: link.csv\nroot: {id: r, source: p.root}\n")
    for fmt in CHECK_FORMATS:
        run = nsm("check", "passwd.yaml", "up.yaml", "link.yaml", "-f", fmt)
        assert run.code == 1
        assert "root:x:0" not in run.stdout + run.stderr
        assert "TOP-SECRET" not in run.stdout + run.stderr
    run = nsm("check", "passwd.yaml", "up.yaml", "link.yaml", "-f", "json", "--select", "E308")
    assert [d["line"] for d in json.loads(run.stdout)["diagnostics"]] == [3, 3, 3]


def test_a_crash_inside_nsm_is_reported_for_that_file_only(nsm, write, monkeypatch):
    """A rule with a bug (here: one that divides by zero on a root named 'boom') crashes."""
    from nsm_cli.check.rules import RULES

    def check(ctx):
        if ctx.tree.root == "boom":
            return iter([1 / 0])
        return iter([])

    broken = SimpleNamespace(CODE="W499", SEVERITY="warning", NEEDS_VALUES=False, check=check)
    monkeypatch.setitem(RULES, "W499", broken)  # the registry every rule is added to
    write("a.yaml", "name: a\nroot: {id: boom, value: 1}\n")
    write("b.yaml", "name: b\nroot: {id: r, value: 1}\n")
    result = check_paths(["a.yaml", "b.yaml"])
    assert [(d.span.file, d.span.line, d.code, d.message) for d in result.diagnostics
            if d.is_error] == [("a.yaml", 1, INTERNAL, "internal error (ZeroDivisionError): nsm "
                                "could not check this file; please report it with the file")]
    assert {d.code for d in result.diagnostics if d.span.file == "b.yaml"} == {
        "W404", "W406", "W407"}
    run = nsm("check", "a.yaml", "b.yaml")
    assert run.code == 1 and "Traceback" not in run.stdout + run.stderr
    assert "E999" in run.stdout and "b.yaml" in run.stdout


def test_a_fifo_among_the_tree_files_is_refused_not_waited_on(nsm, write, tmp_path):
    write("a.yaml", "name: a\nroot: {id: r, value: 1}\n")
    os.mkfifo(tmp_path / "pipe.yaml")
    with alarm(10):  # opening a FIFO blocks until someone writes: fail instead of hanging
        run = nsm("check", ".", "--format", "json")
    found = json.loads(run.stdout)["diagnostics"]
    assert [(d["file"], d["code"], d["message"]) for d in found if d["code"] == "E100"] == [
        ("pipe.yaml", "E100", "pipe.yaml is not a regular file (a FIFO or a device would block)")]
    assert {d["file"] for d in found} == {"a.yaml", "pipe.yaml"} and run.code == 1


# -- fuzz --------------------------------------------------------------------------------------

SEEDS = {name: (TREES / name).read_text(encoding="utf-8") for name in ("arpu.yaml", "mau.yaml")}
PUNCTUATION = list(":-[]{},&*!|>'\"#%@`?") + ["\t", "\n", "  ", "- ", ": ", "{{", "]]", "&a",
                                                    "*a", "!!python/none", "1e999", "0x", "ref: ",
                                                    "[/]", "元[/人]", "[bold]", "\x1b[2J",
                                                    "\\e[2J", "\r", "\u202e", "id: log\n"]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
HUGE = ["0", "-1", "1e308", "1e999", "nan", ".inf", "99999999999999999999999", "0.0000001",
        "-0", "1_000", "12%"]


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    lines = SEEDS[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "number"]))
        at = draw(st.integers(0, len(lines) - 1))
        if kind == "delete" and len(lines) > 1:
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "insert":
            text = draw(st.one_of(st.sampled_from(PUNCTUATION), st.text(max_size=4)))
            line = lines[at]
            col = draw(st.integers(0, len(line)))
            lines[at] = line[:col] + text + line[col:]
        else:
            numbers = list(NUMBER.finditer(lines[at]))
            if numbers:
                match = draw(st.sampled_from(numbers))
                new = draw(st.one_of(st.sampled_from(HUGE), st.integers().map(str)))
                lines[at] = lines[at][:match.start()] + new + lines[at][match.end():]
    return name, "".join(lines)


@settings(max_examples=120, deadline=3000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=mutated())
def test_mutated_tree_files_give_diagnostics_never_a_crash(tmp_path, case):
    name, text = case
    folder = tmp_path / "fuzz"
    if not folder.exists():
        folder.mkdir()
        for csv in TREES.glob("*.csv"):
            shutil.copy(csv, folder / csv.name)
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = check_paths([name])
    finally:
        os.chdir(cwd)
    known = catalogue()
    for d in result.diagnostics:
        assert d.code != INTERNAL, (d.message, text)
        assert d.code in known and d.severity in SEVERITIES
        assert d.span.line >= 1 and d.span.column >= 1
    for render in CHECK_FORMATS.values():
        render(result)   # every format renders whatever was found
    assert result.failed(strict=True) is bool(result.errors or result.warnings)

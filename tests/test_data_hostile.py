"""Data files from strangers: pipes, extra cells, empty files, huge cells, paths outside the
project, the same verdict on small and big files (#17's data items)."""

from __future__ import annotations

import json
import os

import pytest

import nsm_cli.data.engine as engine_module

TREE = """
name: t
data:
  d: {path}
root:
  id: total
  formula: a + b
  children:
    - {{id: a, source: d.a}}
    - {{id: b, source: d.b}}
"""


def tree(write, path: str = "d.csv", name: str = "t.yaml") -> str:
    write(name, TREE.format(path=path))
    return name


@pytest.fixture(params=["light", "engine"])
def route(request, monkeypatch):
    if request.param == "engine":
        monkeypatch.setattr(engine_module, "ENGINE_BYTES", 0)
    return request.param


def test_a_fifo_as_data_path_is_refused_without_blocking(nsm, write, tmp_path, route):
    os.mkfifo(tmp_path / "d.csv")
    run = nsm("eval", tree(write))
    assert run.code == 1
    assert run.stdout == ""
    assert "t.yaml:3:6: data 'd': d.csv is not a regular file" in run.stderr
    assert "[E303]" in run.stderr


def test_a_row_with_more_cells_than_the_header_is_an_error(nsm, write, route):
    write("d.csv", "period,a,b\n2025-05,1,2\n2025-06,1,200,3\n")  # an unquoted 1,200
    run = nsm("eval", tree(write))
    assert run.code == 1
    assert run.stdout == ""
    assert ("d.csv:3:4: this row has 4 cells but the header has 3: quote a cell that holds a "
            'comma ("1,200") or remove the extra cells [E304]') in run.stderr


def test_a_header_only_file_warns(nsm, write, route):
    write("d.csv", "period,a,b\n")
    run = nsm("check", tree(write), "--format", "json")
    found = [(d["code"], d["line"]) for d in json.loads(run.stdout)["diagnostics"]]
    assert ("W301", 3) in found
    assert run.code == 0
    assert nsm("check", "--strict", "t.yaml").code == 1


def test_a_semicolon_file_without_the_trees_columns_is_e302_small_or_big(nsm, write, route):
    rows = "".join(f"2025-{m:02d};{m};{m * 2}\n" for m in range(1, 13))
    write("d.csv", "period;a;b\n" + rows * (200 if route == "engine" else 1))
    run = nsm("eval", tree(write))
    assert run.code == 1
    assert run.stdout == ""
    assert "has no column 'a'" in run.stderr and "[E302]" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_giant_header_cell_is_a_cell_not_a_crash(nsm, write, route):
    write("d.csv", "period,a,b," + "x" * 200_000 + "\n2025-06,1,2,3\n")
    run = nsm("eval", tree(write), "--format", "json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["nodes"][0]["value"] == 3.0


# --- paths: the tree's own project decides, not the working folder ------------------------


def test_data_paths_are_judged_by_the_trees_project_from_any_folder(nsm, write, tmp_path,
                                                                    monkeypatch):
    write("proj/pyproject.toml", "[project]\nname = 'x'\n")
    write("proj/data/d.csv", "period,a,b\n2025-06,1,2\n")
    write("proj/trees/t.yaml", TREE.format(path="../data/d.csv"))
    write("secret.csv", "period,a,b\n2025-06,TOP-SECRET,2\n")
    write("proj/trees/out.yaml", TREE.format(path="../../secret.csv"))
    for folder in (tmp_path, tmp_path / "proj", tmp_path / "proj" / "trees", "/"):
        monkeypatch.chdir(folder)
        inside = nsm("eval", tmp_path / "proj/trees/t.yaml", "--format", "json")
        assert inside.code == 0, (folder, inside.stderr)
        assert json.loads(inside.stdout)["nodes"][0]["value"] == 3.0
        outside = nsm("eval", tmp_path / "proj/trees/out.yaml")
        assert outside.code == 1, folder
        assert "[E308]" in outside.stderr
        assert "TOP-SECRET" not in outside.stdout + outside.stderr


def test_without_a_project_marker_the_trees_folder_is_the_project(nsm, write, tmp_path):
    write("a/d.csv", "period,a,b\n2025-06,1,2\n")
    write("a/b/t.yaml", TREE.format(path="../d.csv"))
    run = nsm("eval", tmp_path / "a/b/t.yaml")
    assert run.code == 1
    assert "points outside the project" in run.stderr


def test_a_glob_match_outside_the_project_through_a_symlink_is_refused(nsm, write, tmp_path):
    write("proj/.nsm.yaml", "")
    write("outside/x.csv", "period,a,b\n2025-06,SECRET-CELL,2\n")
    os.mkdir(tmp_path / "proj/parts")
    os.symlink(tmp_path / "outside/x.csv", tmp_path / "proj/parts/x.csv")
    write("proj/t.yaml", TREE.format(path="parts/*.csv"))
    run = nsm("eval", tmp_path / "proj/t.yaml")
    assert run.code == 1
    assert "[E308]" in run.stderr
    assert "SECRET-CELL" not in run.stdout + run.stderr


def test_etc_passwd_is_never_quoted_from_the_root_folder(nsm, write, tmp_path, monkeypatch):
    write("t.yaml", TREE.format(path="../../../../../../etc/passwd"))
    monkeypatch.chdir("/")
    run = nsm("eval", tmp_path / "t.yaml")
    assert run.code == 1
    assert "[E308]" in run.stderr
    assert "root:" not in run.stdout + run.stderr

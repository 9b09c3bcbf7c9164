"""Settings of `nsm check` from [tool.nsm] in pyproject.toml, .nsm.yaml and the command line."""

from __future__ import annotations

import json

import pytest

from nsm_cli.check.config import Config, find_config

SHALLOW = """\
name: Shallow
data: {d: d.csv}
root:
  id: total
  formula: a + b
  source: d.total
  children:
    - {id: a, source: d.a, owner: x, actions: [y]}
    - {id: b, source: d.b, owner: x, actions: [y]}
"""
DATA = "period,total,a,b\n2025-06,1030,500,500\n"   # observed +3% off the formula


def codes(run) -> list[str]:
    return [d["code"] for d in json.loads(run.stdout)["diagnostics"]]


@pytest.fixture
def shallow(write):
    write("d.csv", DATA)
    write("tree.yaml", SHALLOW)


def test_without_settings_every_rule_runs_with_a_1_percent_tolerance(nsm, shallow):
    assert codes(nsm("check", "tree.yaml", "-f", "json")) == ["W404", "W401", "W407", "W407"]


@pytest.mark.parametrize(("settings", "expected"), [
    ('select = ["W401"]', ["W401"]),
    ('select = ["W40"]\nignore = ["W407"]', ["W404", "W401"]),
    ('ignore = ["W4"]', []),
    ('ignore = ["W407"]\ntolerance = 0.05', ["W404"]),
    ('ignore = ["W407"]\ntolerance = "2.9%"', ["W404", "W401"]),
    ('ignore = ["w407", "W404"]\ntolerance = "3.1%"', []),
])
def test_tool_nsm_in_pyproject_selects_ignores_and_sets_the_tolerance(nsm, write, shallow,
                                                                      settings, expected):
    write("pyproject.toml", f"[project]\nname = 'x'\n\n[tool.nsm]\n{settings}\n")
    assert codes(nsm("check", "tree.yaml", "-f", "json")) == expected


def test_nsm_yaml_overrides_pyproject_key_by_key(nsm, write, shallow):
    write("pyproject.toml", "[tool.nsm]\nignore = ['W407']\ntolerance = 0.05\n")
    write(".nsm.yaml", "tolerance: 1%\n")
    assert codes(nsm("check", "tree.yaml", "-f", "json")) == ["W404", "W401"]


def test_settings_are_found_from_a_subfolder_upwards(write, tmp_path, monkeypatch):
    write("pyproject.toml", "[tool.nsm]\nmax_children = 3\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert find_config().max_children == 3


def test_the_search_stops_at_the_repository_root(write, tmp_path, monkeypatch):
    write("pyproject.toml", "[tool.nsm]\nmax_children = 3\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo")
    assert find_config() == Config()


def test_the_command_line_selects_and_ignores_too(nsm, shallow, write):
    write("pyproject.toml", "[tool.nsm]\nignore = ['W404']\n")
    assert codes(nsm("check", "tree.yaml", "-f", "json", "--ignore", "W407")) == ["W401"]
    assert codes(nsm("check", "tree.yaml", "-f", "json", "--select", "W407,W404")) == [
        "W407", "W407"]   # W404 still ignored by the config


def test_a_config_file_named_on_the_command_line(nsm, shallow, write):
    write("ci/nsm.yaml", "select: [W401]\n")
    assert codes(nsm("check", "tree.yaml", "-f", "json", "--config", "ci/nsm.yaml")) == ["W401"]


@pytest.mark.parametrize(("settings", "message"), [
    ("tolerence = 0.05", "unknown key 'tolerence' (did you mean 'tolerance'?)"),
    ("tolerance = 'lots'", "'tolerance' must be a fraction or a percent"),
    ("select = ['X12']", "'X12', which is no code"),
    ("max_depth = 0", "'max_depth' must be a whole number of at least 1"),
    ("select = 3", "'select' must be a list of codes"),
])
def test_bad_settings_are_wrong_usage(nsm, shallow, write, settings, message):
    write("pyproject.toml", f"[tool.nsm]\n{settings}\n")
    run = nsm("check", "tree.yaml")
    assert run.code == 2
    assert run.stdout == ""
    assert "pyproject.toml [tool.nsm]" in run.stderr and message in run.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("select: [\n", ".nsm.yaml:2:1: cannot read it as YAML: expected the node content, but "
                    "found '<stream end>'"),
    ("a: 1\n  b: 2\n", ".nsm.yaml:2:4: cannot read it as YAML: mapping values are not "
                       "allowed here"),
    ("select: [W4\x07]\n", ".nsm.yaml: cannot read it as YAML: unacceptable character #x0007"),
])
def test_an_unreadable_nsm_yaml_is_one_line_at_its_place(nsm, shallow, write, text, message):
    write(".nsm.yaml", text)
    run = nsm("check", "tree.yaml")
    assert (run.code, run.stdout) == (2, "")
    [line] = run.stderr.splitlines()  # not PyYAML's snippet with `in "<unicode string>"`
    assert line.startswith("nsm: error: ") and message in line


def test_tolerance_on_the_command_line(nsm, shallow):
    assert codes(nsm("check", "tree.yaml", "-f", "json", "--tolerance", "3.1%",
                     "--select", "W401")) == []
    assert codes(nsm("check", "tree.yaml", "-f", "json", "--tolerance", "0.029",
                     "--select", "W401")) == ["W401"]
    run = nsm("check", "tree.yaml", "--tolerance", "lots")
    assert run.code == 2 and "--tolerance" in run.stderr

"""`nsm check` end to end: exit codes, the four formats, paths and folders, the bundled trees."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, TREES

from nsm_cli.check import check_paths
from nsm_cli.check.catalogue import catalogue, markdown_table
from nsm_cli.check.formats import CHECK_FORMATS, escape_data, escape_property, render_github
from nsm_cli.check.runner import CheckResult
from nsm_cli.diagnostics import Diagnostic, Span

CLEAN = """\
name: Clean
root:
  id: active
  unit: 人
  formula: retained + woken
  children:
    - id: retained
      unit: 人
      formula: prev * rate
      children:
        - {id: prev, unit: 人, value: 6500, benchmark: 7000, owner: ops, actions: [plan]}
        - {id: rate, unit: "%", value: 0.92, benchmark: 0.95, owner: cx, actions: [NPS]}
    - id: woken
      unit: 人
      formula: dormant * recall
      children:
        - {id: dormant, unit: 人, value: 5000, benchmark: 5000, owner: cs, actions: [list]}
        - {id: recall, unit: "%", value: 0.16, benchmark: 0.18, owner: cs, actions: [call]}
"""
BROKEN = """\
name: Broken
root:
  id: r
  formla: a + b
  children:
    - {id: a, value: 1}
"""
WARNED = CLEAN.replace("benchmark: 7000, ", "")   # prev has no benchmark: W407 at 11:11


def test_a_clean_tree_exits_0_with_a_summary(nsm, write):
    write("clean.yaml", CLEAN)
    run = nsm("check", "clean.yaml")
    assert run.code == 0, run.stdout
    assert run.stdout.strip() == "✓ 1 file, 0 errors, 0 warnings"
    assert run.stderr == ""


def test_warnings_fail_only_with_strict(nsm, write):
    write("warned.yaml", WARNED)
    assert nsm("check", "warned.yaml").code == 0
    run = nsm("check", "--strict", "warned.yaml")
    assert run.code == 1
    assert "11:11" in run.stdout and "W407" in run.stdout
    assert "1 file, 0 errors, 1 warning" in run.stdout


def test_infos_never_fail_strict(nsm, write):
    write("money.yaml", CLEAN.replace("unit: 人\n  formula: retained", "unit: 元\n  formula: "
                                       "retained").replace("retained + woken", "retained * woken"))
    run = nsm("check", "--strict", "money.yaml", "--format", "json")
    result = json.loads(run.stdout)
    assert [d["code"] for d in result["diagnostics"]] == ["W409"]
    assert result["infos"] == 1 and run.code == 0


def test_a_broken_file_never_stops_the_others_and_all_are_sorted(nsm, write):
    write("b/z_clean.yaml", CLEAN)
    write("b/a_broken.yaml", BROKEN)
    write("b/m_warned.yml", WARNED)
    write("b/notes.txt", "not a tree")
    write("b/.hidden/x.yaml", BROKEN)
    run = nsm("check", "b", "--format", "json")
    result = json.loads(run.stdout)
    assert run.code == 1
    assert result["files"] == 3
    places = [(d["file"], d["line"], d["column"], d["code"]) for d in result["diagnostics"]]
    assert places == sorted(places)
    assert ("b/a_broken.yaml", 4, 3, "E104") in places
    assert ("b/m_warned.yml", 11, 11, "W407") in places
    assert result["errors"] == sum(d["severity"] == "error" for d in result["diagnostics"])


def test_contract_json_shape(nsm, write):
    write("broken.yaml", BROKEN)
    run = nsm("check", "broken.yaml", "--format", "json")
    result = json.loads(run.stdout)
    assert list(result)[:4] == ["files", "errors", "warnings", "infos"][:4]
    [first] = [d for d in result["diagnostics"] if d["code"] == "E104"]
    assert first == {"file": "broken.yaml", "line": 4, "column": 3, "code": "E104",
                     "severity": "error",
                     "message": "unknown key 'formla' in a node (did you mean 'formula'?)"}
    assert run.stderr == ""


def test_a_missing_path_is_an_e100_and_the_rest_is_checked(nsm, write):
    write("clean.yaml", CLEAN)
    run = nsm("check", "clean.yaml", "nowhere.yaml", "--format", "json")
    result = json.loads(run.stdout)
    assert run.code == 1
    assert [(d["file"], d["code"]) for d in result["diagnostics"]] == [("nowhere.yaml", "E100")]
    assert result["files"] == 1


@pytest.mark.parametrize("args", [
    ("check",),
    ("check", "x.yaml", "--format", "xml"),
    ("check", "empty_folder"),
])
def test_wrong_usage_exits_2(nsm, write, args):
    write("x.yaml", CLEAN)
    write("empty_folder/readme.txt", "nothing here")
    run = nsm(*args)
    assert run.code == 2
    assert run.stdout == ""


def test_the_bundled_trees_pass_strict(nsm, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = nsm("check", "--strict", "trees", "--format", "json")
    result = json.loads(run.stdout)
    assert run.code == 0, run.stdout
    assert result["files"] == len(list(TREES.glob("*.yaml")))
    assert result["errors"] == result["warnings"] == 0
    # the deliberate ignores are commented in the files themselves
    for path in TREES.glob("*.yaml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("ignore:"):
                assert "#" in line, f"{path.name}: an ignore without a comment: {line}"


# -- formats -----------------------------------------------------------------------------------

def sample(kind: str) -> CheckResult:
    """A result with errors and warnings, or with no findings at all."""
    if kind == "clean":
        return CheckResult(files=["a.yaml", "b.yaml"], base="/repo")
    return CheckResult(files=["a.yaml", "b.yaml"], base="/repo", diagnostics=[
        Diagnostic("E104", "error", "unknown key 'formla', did you mean: 'formula'?",
                   Span("a.yaml", 4, 3)),
        Diagnostic("W409", "info", "money root", Span("/repo/trees/b.yaml", 3, 9)),
        Diagnostic("W407", "warning", "leaf 'x' has no benchmark\n100% sure",
                   Span("/repo/trees/b.yaml", 9, 7)),
    ])


def shown(name: str, kind: str) -> str:
    """A check format's output for sample(kind), as a terminal shows it."""
    import io

    from rich.console import Console

    rendered = CHECK_FORMATS[name](sample(kind))
    if not isinstance(rendered, str):
        console = Console(width=100, file=io.StringIO(), color_system=None)
        console.print(rendered)
        rendered = console.file.getvalue()
    return rendered


CODE = re.compile(r"\b[EW]\d{3}\b")


@pytest.mark.parametrize("name", list(CHECK_FORMATS))
def test_every_format_renders_findings(name):
    rendered = shown(name, "findings")
    assert rendered.endswith("\n")
    if name == "json":
        assert [d["code"] for d in json.loads(rendered)["diagnostics"]] == ["E104", "W409", "W407"]
    elif name == "sarif":
        [run] = json.loads(rendered)["runs"]
        assert [r["ruleId"] for r in run["results"]] == ["E104", "W409", "W407"]
    else:
        assert set(CODE.findall(rendered)) == {"E104", "W409", "W407"}
        assert "2 files, 1 error, 1 warning, 1 info" in rendered


@pytest.mark.parametrize("name", list(CHECK_FORMATS))
def test_every_format_renders_a_clean_result_without_findings(name):
    rendered = shown(name, "clean")
    assert rendered.endswith("\n")
    if name == "json":
        log = json.loads(rendered)
        assert (log["files"], log["errors"], log["warnings"], log["diagnostics"]) == (2, 0, 0, [])
    elif name == "sarif":
        [run] = json.loads(rendered)["runs"]
        assert run["results"] == [] and run["tool"]["driver"]["rules"]
    else:
        assert CODE.findall(rendered) == []
        assert "2 files, 0 errors, 0 warnings" in rendered


# The official OASIS schema, vendored from oasis-tcs/sarif-spec (see tests/schemas/README.md).
SARIF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json")
                          .read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["findings", "clean"])
def test_sarif_is_valid_against_the_sarif_2_1_0_schema(kind):
    import jsonschema

    validator = jsonschema.Draft4Validator(SARIF_SCHEMA)  # the schema is draft-04
    log = json.loads(shown("sarif", kind))
    assert [error.message for error in validator.iter_errors(log)] == []
    broken = {**log, "runs": [{**log["runs"][0], "results": [{"level": "fatal"}]}]}
    assert not validator.is_valid(broken)  # the validation can fail


def test_sarif_of_a_real_check_is_valid(nsm, write):
    import jsonschema

    write("broken.yaml", BROKEN)
    write("warned.yaml", WARNED)
    run = nsm("check", ".", "--format", "sarif")
    assert run.code == 1
    log = json.loads(run.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"E104", "E205", "W407"}


def test_text_groups_findings_under_each_file():
    import io

    from rich.console import Console

    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(CHECK_FORMATS["text"](sample("findings")))
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    assert lines[0] == "a.yaml"
    assert re.match(r"4:3\s+✗ error\s+E104\s+unknown key 'formla'", lines[1])
    assert lines[3] == "/repo/trees/b.yaml"
    assert lines[-1] == "⚠ 2 files, 1 error, 1 warning, 1 info".replace("⚠", "✗")


def test_github_escapes_as_the_actions_toolkit_does():
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    out = render_github(sample("findings")).splitlines()
    assert out == [
        "::group::a.yaml",
        "::error file=a.yaml,line=4,col=3,title=E104::unknown key 'formla', did you mean: "
        "'formula'?",
        "::endgroup::",
        "::group::trees/b.yaml",
        "::notice file=trees/b.yaml,line=3,col=9,title=W409::money root",
        "::warning file=trees/b.yaml,line=9,col=7,title=W407::leaf 'x' has no benchmark%0A100%25"
        " sure",
        "::endgroup::",
        "nsm check: 2 files, 1 error, 1 warning, 1 info",
    ]


def test_github_escapes_file_names_in_properties():
    result = CheckResult(files=["a,b:c.yaml"], base=".", diagnostics=[
        Diagnostic("E101", "error", "x", Span("a,b:c.yaml", 1, 1))])
    assert "::error file=a%2Cb%3Ac.yaml,line=1,col=1,title=E101::x" in render_github(result)


def test_sarif_carries_every_rule_and_relative_locations():
    log = json.loads(CHECK_FORMATS["sarif"](sample("findings")))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(catalogue())
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("E104", "error"), ("W409", "note"), ("W407", "warning")]
    location = results[2]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "trees/b.yaml"
    assert location["region"] == {"startLine": 9, "startColumn": 7}
    assert rules[results[2]["ruleIndex"]]["id"] == "W407"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "✓ 1 file"),
    ({"GITHUB_ACTIONS": "true"}, "nsm check: 1 file"),
    ({"NSM_FORMAT": "json"}, '"files": 1'),
    ({"NSM_FORMAT": "markdown"}, "### nsm check · 1 file"),
    ({"NSM_FORMAT": "mermaid"}, "✓ 1 file"),        # a format of eval only: auto
    ({"NSM_FORMAT": "text", "GITHUB_ACTIONS": "true"}, "✓ 1 file"),
])
def test_the_format_defaults_from_the_environment(nsm, write, monkeypatch, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    write("clean.yaml", CLEAN)
    run = nsm("check", "clean.yaml")
    assert expected in run.stdout


def test_list_rules_shows_every_code(nsm):
    run = nsm("check", "--list-rules", "--format", "json")
    codes = [rule["code"] for rule in json.loads(run.stdout)["rules"]]
    assert codes == list(catalogue())
    assert nsm("check", "--list-rules").code == 0


def test_the_readme_lists_every_code_with_a_bad_and_a_good_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, entry in catalogue().items():
        rows = [line for line in readme.splitlines() if line.startswith(f"| {code} |")]
        assert rows, f"README has no row for {code}"
        assert entry.bad and entry.good, code
    # and the rows say what the catalogue says (severity, title, examples), in its order
    assert markdown_table() in readme, "README's table of codes differs from the catalogue"


def test_the_library_checks_without_the_cli(write):
    write("clean.yaml", CLEAN)
    result = check_paths(["clean.yaml"])
    assert result.files == ["clean.yaml"] and result.diagnostics == []

"""`nsm init`: every template is a working tree that every command runs on as written.

The values are the articles' worked examples (domain.md), computed here by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, plain_yaml

TEMPLATES = {"formula": "arpu", "funnel": "funnel", "journey": "journey", "flow": "mau",
             "saas": "mrr"}
# The root's value in the latest period, by hand.
ROOTS = {
    "formula": (0.8 + 1.7) * (1200 + 0.40 * 1200),                 # 2.5 × 1,680 = 4,200
    "funnel": 10_000 * 0.60 * 0.30 * 0.50 * 555,                   # 499,500
    "journey": 0.95 * 0.92 * 0.93 * 0.95,                          # 77.2179%
    "flow": 6_500 * 0.92 + 1_500 * 0.80 + 5_000 * 0.16,            # 7,980
    "saas": (2_000 * (1 - 0.06) + 800 * 0.40) * (1.5 * 98),        # 2,200 × 147 = 323,400
}
SCHEMA_LINE = "# yaml-language-server: $schema=nsm.schema.json"


def leaves(node: dict) -> list[dict]:
    kids = [k for k in node.get("children", []) if "id" in k]
    return [node] if not node.get("children") else [x for k in kids for x in leaves(k)]


def every_node(node: dict) -> list[dict]:
    return [node] + [x for k in node.get("children", []) if "id" in k for x in every_node(k)]


@pytest.fixture
def init(nsm, write, tmp_path):
    """`nsm init TEMPLATE out` in a fresh folder; the tree's path."""
    def run(template: str) -> Path:
        result = nsm("init", template, "out")
        assert result.code == 0, result.stderr
        assert result.stderr == ""
        return tmp_path / "out" / f"{TEMPLATES[template]}.yaml"

    return run


def test_list_names_every_template_on_one_line(nsm):
    run = nsm("init", "--list")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(TEMPLATES)
    assert [line.split()[1] for line in lines] == [f"{s}.yaml" for s in TEMPLATES.values()]
    assert max(len(line) for line in lines) <= 80


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_writes_a_tree_its_csv_and_the_schema(nsm, init, template, tmp_path):
    tree = init(template)
    stem = TEMPLATES[template]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{stem}.yaml", f"{stem}.csv", "nsm.schema.json"])
    text = tree.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    schema = json.loads((tmp_path / "out" / "nsm.schema.json").read_text(encoding="utf-8"))
    assert schema == json.loads(nsm("schema").stdout)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(schema).validate(plain_yaml(text))


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_has_owners_benchmarks_a_target_a_guardrail_and_an_alert(init, template):
    document = plain_yaml(init(template).read_text(encoding="utf-8"))
    root = document["root"]
    nodes = every_node(root) + document["guardrails"]
    assert root["target"]
    assert document["guardrails"] and all("max" in g or "min" in g
                                           for g in document["guardrails"])
    assert any("alert" in node for node in nodes)
    assert all(leaf.get("owner") and leaf.get("actions") for leaf in leaves(root))
    assert all("benchmark" in leaf or "W407" in leaf.get("ignore", [])
               for leaf in leaves(root))
    assert sum("benchmark" in leaf for leaf in leaves(root)) >= 3
    assert document["scenarios"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_passes_check_strict_and_runs_every_command(nsm, init, template):
    tree = str(init(template))
    run = nsm("check", "--strict", tree, "--format", "json")
    report = json.loads(run.stdout)
    assert run.code == 0, run.stdout
    assert (report["errors"], report["warnings"]) == (0, 0)
    evaluated = json.loads(nsm("eval", tree, "--format", "json").stdout)
    assert evaluated["nodes"][0]["value"] == pytest.approx(ROOTS[template], rel=1e-12)
    for command in (["eval"], ["rank-levers"], ["rank-levers", "--points"], ["explain"],
                    ["goal-seek"], ["alerts"], ["eval", "--trend"]):
        run = nsm(*command, tree)
        assert run.code in (0, 3), (command, run.stderr)
        assert run.stdout and "Traceback" not in run.stderr
        assert run.stderr == "", (command, run.stderr)
        run = nsm(*command, tree, "--format", "json")
        assert run.code in (0, 3) and json.loads(run.stdout), command
    scenario = next(iter(plain_yaml(Path(tree).read_text(encoding="utf-8"))["scenarios"]))
    assert nsm("eval", tree, "--scenario", scenario).code == 0


def test_the_formula_template_is_the_articles_plan(nsm, init):
    tree = str(init("formula"))
    run = nsm("eval", tree, "--scenario", "plan", "--format", "json")
    nodes = {n["id"]: n["value"] for n in json.loads(run.stdout)["nodes"]}
    assert nodes["per_visit"] == pytest.approx(1200 + 0.50 * 1200)      # 1,800
    assert nodes["arpu"] == pytest.approx(2.8 * 1800)                   # 5,040 (+20%)


def test_the_flow_template_ranks_retention_first(nsm, init):
    run = nsm("rank-levers", str(init("flow")), "--points", "--format", "json")
    levers = {lever["id"]: lever["delta"] for lever in json.loads(run.stdout)["levers"]}
    assert levers["retention_rate"] == pytest.approx(6_500 * 0.01)      # +65
    assert levers["recall_rate"] == pytest.approx(5_000 * 0.01)         # +50
    assert levers["first_service_rate"] == pytest.approx(1_500 * 0.01)  # +15


def test_the_funnel_template_at_contact_80(nsm, init):
    run = nsm("eval", str(init("funnel")), "--scenario", "contact_80", "--format", "json")
    assert json.loads(run.stdout)["nodes"][0]["value"] == pytest.approx(666_000)


def test_the_saas_template_guards_mrr_with_cac_and_lifetime(nsm, init):
    tree = str(init("saas"))
    run = nsm("alerts", tree, "--format", "json")
    assert run.code == 3
    fired = json.loads(run.stdout)["fired"]
    assert [(a["id"], a["rule"]) for a in fired] == [("lifetime", "falls_for")]
    run = nsm("eval", tree, "--format", "json")
    guardrails = {g["id"]: g["value"] for g in json.loads(run.stdout)["guardrails"]}
    assert guardrails == {"cac": 290.0, "lifetime": 16.7}


def test_without_arguments_it_writes_the_formula_template_here(nsm, write, tmp_path):
    run = nsm("init")
    assert run.code == 0 and run.stderr == ""
    assert run.stdout.splitlines()[:3] == ["wrote arpu.yaml", "wrote arpu.csv",
                                           "wrote nsm.schema.json"]
    assert nsm("eval", "arpu.yaml").code == 0


def test_it_never_overwrites_a_file_and_writes_nothing(nsm, write, tmp_path):
    write("out/arpu.csv", "mine\n")
    run = nsm("init", "formula", "out")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("nsm: error: out/arpu.csv already exists")   # as elsewhere
    assert "nothing was written" in run.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["arpu.csv"]
    assert (tmp_path / "out" / "arpu.csv").read_text() == "mine\n"


def test_a_second_template_shares_the_schema_and_a_foreign_schema_is_kept(nsm, write, tmp_path):
    assert nsm("init", "flow", "out").code == 0
    run = nsm("init", "saas", "out")
    assert run.code == 0 and run.stderr == ""
    assert "nsm.schema.json" not in run.stdout
    write("other/nsm.schema.json", "{}\n")
    run = nsm("init", "journey", "other")
    assert run.code == 0
    assert "kept other/nsm.schema.json" in run.stderr
    assert (tmp_path / "other" / "nsm.schema.json").read_text() == "{}\n"
    assert (tmp_path / "other" / "journey.yaml").exists()


def test_usage_errors(nsm, write):
    run = nsm("init", "mydir")
    assert run.code == 2 and "unknown template 'mydir'" in run.stderr
    assert "nsm init formula mydir" in run.stderr
    write("afile", "x")
    run = nsm("init", "flow", "afile")
    assert run.code == 1 and "afile is a file" in run.stderr
    run = nsm("init", "--from-csv", "x.csv", "a", "b")
    assert run.code == 2


@pytest.mark.slow
def test_the_templates_ship_in_the_wheel(tmp_path):
    """A regular (non-editable) install has the templates: build the wheel and run from it."""
    import os
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "src"
    shutil.copytree(ROOT / "nsm_cli", source / "nsm_cli",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {**os.environ, "PYTHONPATH": str(installed), "NO_COLOR": "1"}
    work = tmp_path / "work"
    work.mkdir()
    for template in TEMPLATES:
        run = subprocess.run([sys.executable, "-m", "nsm_cli", "init", template, "out"],
                             cwd=work, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    where = subprocess.run([sys.executable, "-c", "import nsm_cli; print(nsm_cli.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True).stdout
    assert where.startswith(str(installed))
    assert len(list((work / "out").glob("*.yaml"))) == 5


def test_the_readme_shows_what_init_prints(nsm, write):
    """The README's `nsm init` session, run in an empty folder, prints what it shows."""
    import re
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```console\n$ nsm init --list") + len("```console\n")
    block = readme[start:readme.index("```", start)]
    sessions = re.split(r"^\$ ", block, flags=re.M)[1:]
    assert len(sessions) == 2
    for session in sessions:
        line, _, shown = session.partition("\n")
        run = nsm(*shlex.split(line)[1:])
        assert run.code == 0 and run.stderr == ""
        assert run.stdout == shown

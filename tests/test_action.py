"""The composite GitHub Action: its script run for real on a git repository with a changed tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SCRIPT = next(step["run"] for step in ACTION["runs"]["steps"] if step.get("id") == "nsm")
TREE = """version: 1
name: Sales
data: {s: s.csv}
root:
  id: revenue
  name: Revenue
  unit: $
  formula: buyers * price
  children:
    - {id: buyers, name: Buyers, source: s.buyers}
    - {id: price, name: Price, unit: $, source: s.price}
"""


def test_the_action_is_composite_and_never_pastes_inputs_into_scripts():
    assert ACTION["runs"]["using"] == "composite"
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "PATH": os.environ["PATH"]}
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env)
    return done.stdout.strip()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("git") is None,
                    reason="needs bash and git")
def test_the_script_checks_and_diffs_the_changed_trees(tmp_path):
    (tmp_path / "trees").mkdir()
    (tmp_path / "trees" / "s.csv").write_text("period,buyers,price\n2025-01,10,100\n")
    (tmp_path / "trees" / "sales.yaml").write_text(TREE)
    (tmp_path / "notes.yaml").write_text("not: a tree\n")
    git("init", "-q", cwd=tmp_path)
    git("add", ".", cwd=tmp_path)
    git("commit", "-q", "-m", "base", cwd=tmp_path)
    base = git("rev-parse", "HEAD", cwd=tmp_path)
    (tmp_path / "trees" / "s.csv").write_text("period,buyers,price\n2025-01,12,100\n")
    (tmp_path / "notes.yaml").write_text("not: a tree, still\n")
    git("commit", "-q", "-am", "more buyers", cwd=tmp_path)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {**os.environ, "NSM_PATHS": ".", "NSM_BASE": base, "NSM_STRICT": "false",
           "NSM_FAIL_ON_CHANGE": "false", "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(output),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    assert output.read_text() == "trees<<NSM_EOF\ntrees/sales.yaml\nNSM_EOF\n"
    text = summary.read_text(encoding="utf-8")
    # buyers 10 → 12 at $100: revenue $1,000 → $1,200
    assert f"### Diff of Sales · {base}:trees/sales.yaml → trees/sales.yaml" in text
    assert "| **Revenue** | $1,000 | $1,200 | +$200 +20.0% |" in text
    env["NSM_FAIL_ON_CHANGE"] = "true"
    failed = subprocess.run(["bash", "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                            text=True, check=False)
    assert failed.returncode == 1


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("git") is None,
                    reason="needs bash and git")
def test_a_tree_with_a_chinese_file_name_is_found(tmp_path):
    # git quotes such names ("trees/\351\224\200…yaml"), so the action said "No metric tree
    # changed" when 销售.yaml itself changed
    (tmp_path / "trees").mkdir()
    (tmp_path / "trees" / "s.csv").write_text("period,buyers,price\n2025-01,10,100\n")
    (tmp_path / "trees" / "销售.yaml").write_text(TREE, encoding="utf-8")
    git("init", "-q", cwd=tmp_path)
    git("add", ".", cwd=tmp_path)
    git("commit", "-q", "-m", "base", cwd=tmp_path)
    base = git("rev-parse", "HEAD", cwd=tmp_path)
    (tmp_path / "trees" / "销售.yaml").write_text(TREE.replace("formula: buyers * price",
                                                             "formula: buyers * price * 2"),
                                                encoding="utf-8")
    git("commit", "-q", "-am", "double", cwd=tmp_path)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {**os.environ, "NSM_PATHS": "trees", "NSM_BASE": base, "NSM_STRICT": "false",
           "NSM_FAIL_ON_CHANGE": "false", "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(output),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    assert output.read_text(encoding="utf-8") == "trees<<NSM_EOF\ntrees/销售.yaml\nNSM_EOF\n"
    # 10 buyers × $100 × 2: revenue $1,000 → $2,000
    assert "| **Revenue** | $1,000 | $2,000 | +$1,000 +100.0% |" in summary.read_text("utf-8")

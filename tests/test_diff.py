"""`nsm diff OLD NEW`: structure and values of two versions, files or REV:PATH (real git)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

TREE = """
version: 1
name: Sales
data: {s: s.csv}
root:
  id: revenue
  name: Revenue
  unit: $
  formula: buyers * price
  target: 2000
  children:
    - {id: buyers, name: Buyers, source: s.buyers, benchmark: 12}
    - {id: price, name: Price, unit: $, source: s.price}
"""
CSV = "period,buyers,price,visits\n2025-01,10,100,50\n2025-02,12,100,60\n"


def git(*args: str, cwd) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "HOME": str(cwd),
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                        "PATH": "/usr/bin:/bin:/usr/local/bin"})


@pytest.fixture
def repo(write, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    write("t/s.csv", CSV)
    write("t/tree.yaml", TREE)
    git("init", "-q", cwd=tmp_path)
    git("add", ".", cwd=tmp_path)
    git("commit", "-q", "-m", "one", cwd=tmp_path)
    return tmp_path


def test_the_same_file_is_no_change(nsm, repo):
    run = nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml", "--format", "json", "--fail-on-change")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["added"] == [] and result["removed"] == [] and result["changed"] == []
    # only the root, unchanged: 12 × 100
    assert result["values"] == [{"id": "revenue", "old": 1200.0, "new": 1200.0, "change": 0.0,
                                 "name": "Revenue", "unit": "$"}]


def test_structure_and_values_against_a_revision(nsm, write, repo):
    write("t/tree.yaml", TREE.replace("buyers * price", "buyers * price * share")
          .replace("benchmark: 12", "benchmark: 15")
          .replace("    - {id: price", "    - {id: share, name: Share, unit: '%', value: 50%}\n"
                   "    - {id: price"))
    run = nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["added"] == ["share"] and result["removed"] == []
    assert result["changed"] == [
        {"id": "revenue", "fields": {"formula": ["buyers * price", "buyers * price * share"]}},
        {"id": "buyers", "fields": {"benchmark": [12.0, 15.0]}}]
    # 12 × 100 = 1,200 → 12 × 100 × 0.5 = 600
    assert result["values"][0] == {"id": "revenue", "old": 1200.0, "new": 600.0,
                                   "change": -600.0, "name": "Revenue", "unit": "$"}
    assert result["values"][1]["id"] == "share" and result["values"][1]["old"] is None
    assert nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml", "--fail-on-change").code == 1


def test_data_files_are_read_as_of_the_revision(nsm, write, repo):
    write("t/s.csv", CSV.replace("2025-02,12,100", "2025-02,15,100"))
    run = nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    values = {row["id"]: row for row in json.loads(run.stdout)["values"]}
    # buyers 12 → 15, revenue 1,200 → 1,500
    assert values["buyers"]["change"] == 3.0 and values["revenue"]["change"] == 300.0
    text = nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml")
    assert text.code == 0 and "$1,200" in text.stdout and "$1,500" in text.stdout
    assert "+$300 +25.0%" in text.stdout


def test_markdown_for_a_pull_request(nsm, write, repo):
    write("t/tree.yaml", TREE.replace("buyers * price", "price * buyers"))
    run = nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml", "--format", "markdown")
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("### Diff of Sales · HEAD:t/tree.yaml → t/tree.yaml")
    assert ("| ~ changed | Revenue (revenue) | formula buyers \\* price → price \\* buyers |"
            in run.stdout)
    assert "| **Revenue** | $1,200 | $1,200 | = |" in run.stdout


def test_two_plain_files(nsm, write):
    write("s.csv", CSV)
    write("a.yaml", TREE.replace("s.csv", "s.csv").replace("\n  target: 2000", ""))
    write("b.yaml", TREE.replace("    - {id: price, name: Price, unit: $, source: s.price}\n",
                                 "    - {id: price, name: Price, unit: $, value: 90}\n"))
    run = nsm("diff", "a.yaml", "b.yaml", "--format", "json", "--period", "2025-01")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["changed"] == [
        {"id": "revenue", "fields": {"target": [None, 2000.0]}},
        {"id": "price", "fields": {"source": ["s.price", None], "value": [None, 90.0]}}]
    # 2025-01: 10 × 100 = 1,000 → 10 × 90 = 900
    assert [(r["id"], r["change"]) for r in result["values"]] == [("revenue", -100.0),
                                                                 ("price", -10.0)]


@pytest.mark.parametrize(("spec", "message"), [
    ("nope:t/tree.yaml", "no such git revision 'nope'"),
    ("--output=x:t/tree.yaml", "a revision cannot start with '-'"),
    ("HEAD:t/missing.yaml", "git has no file t/missing.yaml at HEAD"),
])
def test_bad_revisions_are_usage_errors(nsm, repo, spec, message):
    run = nsm("diff", "--", spec, "t/tree.yaml")
    assert run.code == 2 and run.stdout == ""
    assert message in run.stderr


def test_an_invalid_old_tree_names_the_revision(nsm, write, repo):
    write("t/tree.yaml", "version: 1\nroot: [\n")
    git("commit", "-q", "-am", "broken", cwd=repo)
    write("t/tree.yaml", TREE)
    run = nsm("diff", "HEAD:t/tree.yaml", "t/tree.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("HEAD:t/tree.yaml:") and "nsm-diff-" not in run.stderr


def test_the_files_own_changes_are_the_entry_tree_of_changed(nsm, write):
    write("s.csv", CSV)
    write("s2.csv", CSV)
    write("a.yaml", TREE + "scenarios:\n  plan: {set: {buyers: +10%}}\n")
    write("b.yaml", TREE.replace("name: Sales", "name: Sales v2\nperiod: 2025-01")
          .replace("data: {s: s.csv}", "data:\n  s: s2.csv\n  t: {path: s.csv, encoding: gbk}")
          + "scenarios:\n  plan: {description: Ads, set: {buyers: +20%}}\n"
            "  cheap: {set: {price: 90}}\n")
    run = nsm("diff", "a.yaml", "b.yaml", "--format", "json", "--fail-on-change")
    assert (run.code, run.stderr) == (1, "")
    result = json.loads(run.stdout)
    assert result["changed"] == [{"id": "(tree)", "fields": {
        "name": ["Sales", "Sales v2"], "period": [None, "2025-01"],
        "data s": ["s.csv", "s2.csv"], "data t": [None, "s.csv (encoding gbk)"],
        "scenario plan": ["buyers=+10%", "Ads: buyers=+20%"],
        "scenario cheap": [None, "price=90"]}}]
    assert result["added"] == result["removed"] == []
    text = nsm("diff", "a.yaml", "b.yaml")
    assert (text.code, text.stderr) == (0, "")
    line = " ".join(text.stdout.split())
    assert ("~ changed the file name Sales → Sales v2; period — → 2025-01; data s s.csv → "
            "s2.csv; data t — → s.csv (encoding gbk); scenario plan buyers=+10% → Ads: "
            "buyers=+20%; scenario cheap — → price=90") in line
    markdown = nsm("diff", "a.yaml", "b.yaml", "--format", "markdown").stdout
    assert ("| ~ changed | the file | name Sales → Sales v2; period — → 2025-01; data s s.csv → "
            "s2.csv; data t — → s.csv (encoding gbk); scenario plan buyers=+10% → Ads: "
            "buyers=+20%; scenario cheap — → price=90 |") in markdown


def test_an_added_node_lists_its_fields(nsm, write):
    write("s.csv", CSV)
    write("a.yaml", TREE)
    write("b.yaml", TREE.replace("buyers * price", "buyers * price * share")
          .replace("    - {id: price", "    - {id: share, name: Share, unit: '%', value: 50%, "
                   "owner: Ann}\n    - {id: price")
          + "guardrails:\n  - {id: visits, name: Visits, source: s.visits, direction: up}\n")
    run = nsm("diff", "a.yaml", "b.yaml", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    result = json.loads(run.stdout)
    assert result["added"] == ["share", "visits"]
    assert result["added_nodes"] == [
        {"id": "share", "fields": {"unit": "%", "value": 0.5, "owner": "Ann",
                                   "parent": "revenue"}},
        {"id": "visits", "fields": {"source": "s.visits", "guardrail": True}}]
    lines = [" ".join(line.split()) for line in nsm("diff", "a.yaml", "b.yaml").stdout
             .splitlines()]
    assert "+ added Share (share) unit %; value 50%; owner Ann; parent revenue" in lines
    assert "+ added Visits (visits) source s.visits; guardrail True" in lines


def test_a_connection_url_change_is_a_change_of_the_file(nsm, write):
    base = TREE.replace("data: {s: s.csv}", "connections:\n  wh: {url: '${NSM_A}'}\n"
                        "data: {s: s.csv}")
    write("s.csv", CSV)
    write("a.yaml", base)
    write("b.yaml", base.replace("NSM_A", "NSM_B"))
    run = nsm("diff", "a.yaml", "b.yaml", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert json.loads(run.stdout)["changed"] == [
        {"id": "(tree)", "fields": {"connection wh": ["${NSM_A}", "${NSM_B}"]}}]

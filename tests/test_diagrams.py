"""`nsm eval --format mermaid|dot`: one node per tree node, labelled and escaped."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import TREES

HOSTILE = """
version: 1
name: 'quotes " and # hash'
data: {t: t.csv}
root:
  id: end
  name: 'Revenue "net" <b> [x] {y} | a#b & c\\d'
  unit: $
  formula: graph + node
  children:
    - {id: graph, name: "A\\nB", source: t.a}
    - {id: node, name: 'back\\slash', source: t.b}
"""


def test_mermaid_has_one_box_per_node_with_name_and_value(nsm):
    run = nsm("eval", TREES / "mau.yaml", "--format", "mermaid")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[1] == "flowchart TD"
    boxes = dict(re.findall(r'^    (n\d+)\["(.*)"\]$', run.stdout, flags=re.M))
    assert len(boxes) == 10   # the tree's nodes; guardrails are indented in their subgraph
    assert boxes["n0"] == "MAU(月活跃客户数)<br/>7,980 人<br/>target 8,400 人"
    assert boxes["n3"] == "月留存率<br/>92%"
    edges = re.findall(r"^    (n\d+) --> (n\d+)$", run.stdout, flags=re.M)
    assert len(edges) == 9 and ("n0", "n1") in edges and ("n1", "n3") in edges
    assert '        n10["投诉率<br/>3.4%"]' in lines
    assert "    class n3 behind" in lines and "    class n10 behind" in lines


def test_dot_is_a_digraph_with_every_node_and_edge(nsm):
    run = nsm("eval", TREES / "arpu.yaml", "--format", "dot")
    assert run.code == 0 and run.stderr == ""
    assert run.stdout.startswith("digraph nsm {") and run.stdout.endswith("}\n")
    nodes = re.findall(r'^    (n\d+) \[label="([^"]*)"', run.stdout, flags=re.M)
    assert len(nodes) == 9
    assert ("n0", "ARPU(客户年度消费额)\\n4,200 元\\ntarget 5,000 元") in nodes
    assert len(re.findall(r"^    n\d+ -> n\d+;$", run.stdout, flags=re.M)) == 8


def test_labels_are_escaped(nsm, write):
    write("t.csv", "period,a,b\n2025-01,1,2\n")
    write("t.yaml", HOSTILE)
    mermaid = nsm("eval", "t.yaml", "--format", "mermaid")
    assert mermaid.code == 0, mermaid.stderr
    label = re.search(r'^    n0\["(.*)"\]$', mermaid.stdout, flags=re.M).group(1)
    assert label.startswith("Revenue #quot;net#quot; #lt;b#gt; #91;x#93; #123;y#125; #124; "
                            "a#35;b #amp; c\\d<br/>")
    assert '"' not in label
    assert '    n1["A B<br/>' in mermaid.stdout   # a line break in a name is one space
    dot = nsm("eval", "t.yaml", "--format", "dot")
    assert 'label="Revenue \\"net\\" <b> [x] {y} | a#b & c\\\\d\\n' in dot.stdout
    assert 'label="back\\\\slash\\n' in dot.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("tree", ["arpu", "mau", "funnel", "journey", "hostile"])
def test_graphviz_accepts_the_dot(nsm, write, tree):
    if tree == "hostile":
        write("t.csv", "period,a,b\n2025-01,1,2\n")
        path = write("t.yaml", HOSTILE)
    else:
        path = TREES / f"{tree}.yaml"
    source = nsm("eval", path, "--format", "dot").stdout
    drawn = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True,
                           check=False)
    assert drawn.returncode == 0 and drawn.stderr == "", drawn.stderr
    assert drawn.stdout.count('class="node"') == source.count("[label=")

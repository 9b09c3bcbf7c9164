"""The tree has one level: the root's children are all leaves (or it has none), so
the North Star Metric is not broken down into drivers that teams can own. Break each
child down further, by formula, journey or funnel. Silence it with `ignore: [W404]` on
the root where one level is the decomposition's natural shape."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W404"
NAME = "too-shallow"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "tree of one level (the root has only leaves)"
BAD = """\
name: Shallow
root:
  id: spend
  formula: a + b
  children:
    - {id: a, value: 1}
    - {id: b, value: 2}
"""
GOOD = """\
name: Shallow
root:
  id: spend
  formula: a + b
  children:
    - id: a
      formula: a1 * a2
      children:
        - {id: a1, value: 1}
        - {id: a2, value: 1}
    - {id: b, value: 2}
"""
BAD_SNIPPET = "root: spend = a + b, both leaves"
GOOD_SNIPPET = "root: spend = a + b, a = a1 × a2"


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    kids = tree.children[tree.root]
    if any(tree.children[kid] for kid in kids):
        return
    what = "no children" if not kids else "only leaves as children"
    yield Finding(tree.root, (
        f"the tree has one level: root '{tree.root}' has {what}; break the North Star "
        "Metric down into drivers and those into leaves a team can move (3–4 levels)"),
        tree.nodes[tree.root].span)

"""The tree is deeper than `max_depth` levels (default 4, the root being level 1). The
articles: 3–4 levels; a tree of 7 levels and 200 nodes is never executed. Merge levels,
or make the deep branch a tree of its own. Reported once per branch, at the first node
below the limit."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W403"
NAME = "too-deep"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "tree deeper than 4 levels"
_LEVELS_1_TO_3 = """\
name: Deep
root:
  id: l1
  formula: l2 * 2
  children:
    - id: l2
      formula: l3 * 2
      children:
        - id: l3
"""
BAD = _LEVELS_1_TO_3 + """\
          formula: l4 * 2
          children:
            - id: l4
              formula: l5 * 2
              children:
                - {id: l5, value: 1}
"""
GOOD = _LEVELS_1_TO_3 + """\
          formula: l5 * 4
          children:
            - {id: l5, value: 1}
"""
BAD_SNIPPET = "root → l2 → l3 → l4 → l5 (5 levels)"
GOOD_SNIPPET = "root → l2 → l3 → l5 (4 levels)"


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree, limit = ctx.tree, ctx.config.max_depth
    for node_id in tree.order:
        level = tree.depth[node_id] + 1
        if level == limit + 1:
            yield Finding(node_id, (
                f"'{node_id}' sits at level {level} (the root is level 1): trees deeper than "
                f"{limit} levels are not executed; merge levels or make this branch a tree "
                "of its own"), tree.nodes[node_id].span)

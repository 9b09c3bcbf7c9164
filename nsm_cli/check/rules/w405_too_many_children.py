"""A node has more than `max_children` children (default 5). The articles: level 1 has
2–4 nodes, each group below 2–5; more than that and nobody can focus. Group related
children under an intermediate node."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W405"
NAME = "too-many-children"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "node with more than 5 children"
def _leaves(ids: str, indent: int) -> str:
    return "".join(f"{' ' * indent}- {{id: {leaf}, value: 1}}\n" for leaf in ids)


BAD = f"""\
name: Wide
root:
  id: total
  formula: a + b + c + d + e + f
  children:
{_leaves("abcdef", 4)}"""
GOOD = f"""\
name: Wide
root:
  id: total
  formula: abc + d + e + f
  children:
    - id: abc
      formula: a + b + c
      children:
{_leaves("abc", 8)}{_leaves("def", 4)}"""
BAD_SNIPPET = "total = a + b + c + d + e + f (6 children)"
GOOD_SNIPPET = "total = abc + d + e + f, abc = a + b + c"


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree, limit = ctx.tree, ctx.config.max_children
    for node_id in tree.order:
        count = len(tree.children[node_id])
        if count > limit:
            yield Finding(node_id, (
                f"'{node_id}' has {count} children (more than {limit}): group related ones "
                "under an intermediate node so each level stays small enough to focus on"),
                tree.nodes[node_id].span_of("children"))

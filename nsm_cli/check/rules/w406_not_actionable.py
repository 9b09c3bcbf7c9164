"""A leaf has no `owner` or no `actions`: nobody moves it, or nobody knows how. Every
leaf should be something a team can change on Monday ("macro-economy" is no leaf):
name the team and 1–3 concrete actions. Guardrails are not judged."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext, leaf_findings
from nsm_cli.tree.model import Node

CODE = "W406"
NAME = "not-actionable"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "leaf without owner or actions"
BAD = """\
name: Visits
root:
  id: visits
  formula: first + repeat
  children:
    - {id: first, value: 0.8, benchmark: 0.85, owner: 客服团队, actions: [首保提醒]}
    - {id: repeat, value: 1.7, benchmark: 2.35}
"""
GOOD = BAD.replace("benchmark: 2.35}", "benchmark: 2.35, owner: 客服团队, actions: [会员积分]}")
BAD_SNIPPET = "{id: repeat, value: 1.7}"
GOOD_SNIPPET = "{id: repeat, value: 1.7, owner: 客服团队, actions: [会员积分]}"


def _unowned(node_id: str, node: Node) -> str | None:
    missing = [key for key, present in (("owner", bool(node.owner and node.owner.strip())),
                                        ("actions", bool(node.actions))) if not present]
    if not missing:
        return None
    return (f"leaf '{node_id}' has no {' and no '.join(missing)}: name the team that moves it "
            "(owner: TEAM) and 1–3 concrete actions (actions: [...])")


def check(ctx: RuleContext) -> Iterator[Finding]:
    return leaf_findings(ctx, _unowned)

"""A leaf has no `benchmark`: there is nothing to compare it with, so its gap cannot
guide the choice of levers. Add a number or a `NAME.column` (a competitor, an industry
report, the best store). Leaves that measure scale (customers, deliveries) may have no
meaningful benchmark: silence them with `ignore: [W407]` and say why in a comment."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext, leaf_findings
from nsm_cli.tree.model import Node

CODE = "W407"
NAME = "no-benchmark"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "leaf without benchmark"
BAD = """\
name: Value added
root:
  id: value_added
  formula: penetration * price
  children:
    - {id: penetration, unit: "%", value: 0.4, owner: 服务顾问, actions: [话术培训]}
    - {id: price, unit: 元, value: 1200, benchmark: 1100, owner: 产品团队, actions: [套餐]}
"""
GOOD = BAD.replace("value: 0.4,", "value: 0.4, benchmark: 0.55,")
BAD_SNIPPET = "{id: penetration, value: 0.4}"
GOOD_SNIPPET = "{id: penetration, value: 0.4, benchmark: 0.55}"


def _no_benchmark(node_id: str, node: Node) -> str | None:
    if node.benchmark is not None:
        return None
    return (f"leaf '{node_id}' has no benchmark: add benchmark: NUMBER or NAME.column (a "
            "competitor, an industry report, the best store) so its gap can be judged")


def check(ctx: RuleContext) -> Iterator[Finding]:
    return leaf_findings(ctx, _no_benchmark)

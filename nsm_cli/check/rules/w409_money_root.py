"""The root's unit is money (元, ¥, $, €, RMB, CNY, USD…). Revenue and GMV are lagging
financial results: the articles warn against them as a North Star, which should measure
the value customers get (active customers, weekly active teams) and lead revenue. This
is information, not a defect: spend per customer (ARPU) can be a sound North Star, as in
the articles' own example; so it never fails `--strict`. Set `money_units` in
`[tool.nsm]` to change what counts as money."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W409"
NAME = "money-root"
SEVERITY = "info"
NEEDS_VALUES = False
SUMMARY = "root measured in money (a lagging financial North Star)"
BAD = """\
name: Revenue
root:
  id: revenue
  unit: 元
  formula: buyers * price
  children:
    - {id: buyers, unit: 人, value: 900}
    - {id: price, unit: 元, value: 555}
"""
GOOD = """\
name: Active customers
root:
  id: active
  formula: retained + new
  unit: 人
  children: [{id: retained, unit: 人, value: 5980}, {id: new, unit: 人, value: 1200}]
"""
BAD_SNIPPET = "root: {id: revenue, unit: 元}"
GOOD_SNIPPET = "root: {id: monthly_active, unit: 人}"


def check(ctx: RuleContext) -> Iterator[Finding]:
    node = ctx.tree.nodes[ctx.tree.root]
    unit = (node.unit or "").strip()
    if unit and unit.casefold() in ctx.config.money_units:
        yield Finding(node.id, (
            f"root '{node.id}' is measured in money ({unit}): revenue is a lagging result; "
            "consider a North Star that counts the value customers get (active customers, "
            "repeat buyers) and keep money as a driver or guardrail"), node.span_of("unit"))

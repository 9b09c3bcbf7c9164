"""A value outside what the metric can be: a rate (unit `%`) below 0% or above 100%, a count
(a unit such as 人, 次, customers, orders) below zero, or any value outside the node's own
`domain: [low, high]`. Such values are almost always data mistakes (a percent written as
160 instead of 1.6, a sign flipped); `nsm eval` warns about them too. Give the node a
`domain` when such values are real (a rate that can exceed 100%, a net count)."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W410"
NAME = "out-of-domain"
SEVERITY = "warning"
NEEDS_VALUES = True
SUMMARY = "a rate outside 0–100% or a count below zero"
BAD = """\
name: Retention
data:
  crm: crm.csv
root:
  id: retained
  unit: 人
  formula: active * retention
  children:
    - {id: active, unit: 人, source: crm.active}
    - {id: retention, unit: "%", source: crm.retention}   # 160%: written as 1.6
"""
GOOD = BAD.replace("source: crm.retention}   # 160%: written as 1.6",
                   "source: crm.retention, domain: [0, 2]}   # can pass 100%")
FILES = {"crm.csv": "period,active,retention\n2025-06,6500,1.6\n"}
BAD_SNIPPET = 'unit: "%" with the value 1.6 (160%)'
GOOD_SNIPPET = 'unit: "%" with 0.92 (92%), or domain: [0, 2] when it can pass 100%'


def check(ctx: RuleContext) -> Iterator[Finding]:
    from nsm_cli.analysis.domain import domain_warnings

    for found in domain_warnings(ctx.evaluation):
        node_id = found.message.split("'", 2)[1]
        yield Finding(node_id, found.message, found.span)

"""A rate leaf averages per-row rates (`agg: mean` without `weight`) and its parent
multiplies it by a count. The mean of ratios is not the ratio of the totals: a store with
10 visitors weighs as much as one with 10,000, so the product is wrong whenever the rows
differ in size. Give the mean a `weight:` (the rows' denominator, e.g. visitors) to make it
Σ rate·w / Σ w, or build the rate from two sums."""

from __future__ import annotations

import re
from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W412"
NAME = "mean-of-ratios"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "a rate averaged over rows without weight, multiplied by a count"
BAD = """\
name: Buyers
data:
  stores: stores.csv
root:
  id: buyers
  unit: 人
  formula: visitors * conversion
  children:
    - {id: visitors, unit: 人, source: {data: stores, column: visitors, agg: sum}}
    - {id: conversion, unit: "%", source: {data: stores, column: conversion, agg: mean}}
"""
GOOD = BAD.replace("agg: mean}", "agg: mean, weight: visitors}")
FILES = {"stores.csv": "period,store,visitors,conversion\n"
                       "2025-06,a,10,50%\n2025-06,b,10000,2%\n"}
BAD_SNIPPET = "visitors * conversion, conversion: agg: mean"
GOOD_SNIPPET = "conversion: {agg: mean, weight: visitors}"


def _multiplied(formula: str, node_id: str) -> bool:
    name = re.escape(node_id)
    return re.search(rf"(?<![\w.]){name}\s*\*(?!\*)|(?<!\*)\*\s*{name}(?![\w.])",
                     formula) is not None


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    for parent_id, kids in tree.children.items():
        formula = tree.nodes[parent_id].formula or ""
        for kid in kids:
            node = tree.nodes[kid]
            source = node.source
            if (not node.is_rate or tree.children[kid] or source is None
                    or source.agg != "mean" or source.weight is not None):
                continue
            counts = [k for k in kids if k != kid and not tree.nodes[k].is_rate]
            if counts and _multiplied(formula, kid):
                yield Finding(kid, (
                    f"rate '{kid}' is a plain mean of per-row rates (agg: mean, no weight) and "
                    f"'{parent_id}' multiplies it by '{counts[0]}': the mean of ratios is not "
                    f"the ratio of the totals; add weight: COLUMN (the rows' denominator) to "
                    "the source"), node.span_of("source"))

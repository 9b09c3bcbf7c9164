"""A leaf whose unit is `%` holds values like 6.39 or 92: percents written as plain numbers.
nsm reads a `%` node as a fraction (0.0639 shows as 6.39%), so 6.39 shows as 639% and every
formula above it is 100 times off. Write the cells as `6.39%` (nsm reads that as 0.0639) or
as fractions, or drop the `%` unit if the metric really is a count."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nsm_cli.check.rules.base import Finding, RuleContext
from nsm_cli.numbers import plain

CODE = "W411"
NAME = "percent-as-number"
SEVERITY = "warning"
NEEDS_VALUES = True
SUMMARY = "a % leaf holds percents written as numbers (6.39 for 6.39%)"
BAD = """\
name: Retention
data:
  d: d.csv
root:
  id: retained
  unit: 人
  formula: active * retention
  children:
    - {id: active, unit: 人, source: d.active}
    - {id: retention, unit: "%", source: d.retention}
"""
GOOD = BAD.replace("d.retention}", "d.retention_rate}")
FILES = {"d.csv": "period,active,retention,retention_rate\n"
                  "2025-05,1000,91.5,91.5%\n2025-06,1200,92,92%\n"}
BAD_SNIPPET = "unit: %, cells 91.5 and 92"
GOOD_SNIPPET = "unit: %, cells 91.5% and 92% (or 0.915)"


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.evaluation is None:
        return
    tree, inputs = ctx.tree, ctx.evaluation.inputs
    for node_id in tree.leaves:
        node = tree.nodes[node_id]
        if not node.is_rate or node_id not in inputs:
            continue
        values = np.asarray(inputs[node_id], dtype=float).ravel()
        values = values[np.isfinite(values)]
        # fractions stay within ±1.5 (a 150% growth rate is rare); percents as numbers
        # sit between 1.5 and 100
        if values.size and np.all(np.abs(values) <= 100) and np.median(np.abs(values)) > 1.5:
            example = plain(float(values[-1]))
            yield Finding(node_id, (
                f"leaf '{node_id}' has unit % (a fraction shown as a percent) but its values "
                f"look like percents written as numbers ({example} shows as "
                f"{plain(float(values[-1]) * 100)}%): write the cells as {example}% or "
                f"{plain(float(values[-1]) / 100, 4)}"), node.span_of("source")
                if node.source is not None else node.span_of("value"))

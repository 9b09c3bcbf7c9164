"""The children do not add up to the parent: the node's observed value (its `source`)
differs from what its formula gives by more than the tolerance (default 1%) in some
period. Either the children overlap or miss a part (not MECE: mutually exclusive,
collectively exhaustive), or the formula or the data is wrong. Set `tolerance` in
`[tool.nsm]` when the observed figures are rounded on purpose."""

from __future__ import annotations

from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W401"
NAME = "not-mece"
SEVERITY = "warning"
NEEDS_VALUES = True
SUMMARY = "observed value differs from the formula (children not MECE)"
BAD = """\
name: Revenue
data:
  sales: sales.csv
root:
  id: revenue
  unit: 元
  formula: maintenance + repair
  source: sales.revenue          # observed 1,500, the formula gives 1,300
  children:
    - {id: maintenance, unit: 元, source: sales.maintenance}
    - {id: repair, unit: 元, source: sales.repair}
"""
GOOD = BAD.replace("maintenance + repair\n", "maintenance + repair + parts\n").replace(
    "  source: sales.revenue          # observed 1,500, the formula gives 1,300\n",
    "  source: sales.revenue\n").replace(
    "    - {id: repair, unit: 元, source: sales.repair}\n",
    "    - {id: repair, unit: 元, source: sales.repair}\n"
    "    - {id: parts, unit: 元, source: sales.parts}\n")
FILES = {"sales.csv": "period,revenue,maintenance,repair,parts\n2025-06,1500,800,500,200\n"}
BAD_SNIPPET = "formula: a + b, source: x.total (observed 1,500 ≠ 1,300)"
GOOD_SNIPPET = "formula: a + b + c (adds up to the observed 1,500)"


def check(ctx: RuleContext) -> Iterator[Finding]:
    import numpy as np

    from nsm_cli.numbers import percent, value_text

    evaluation = ctx.evaluation
    tolerance = ctx.config.tolerance
    for node_id, observed in evaluation.observed.items():
        computed = evaluation.base[node_id]
        with np.errstate(all="ignore"):
            gap = observed - computed
            scale = np.abs(computed)
            relative = np.where(scale > 0, np.abs(gap) / scale, np.where(gap != 0, np.inf, 0.0))
        present = np.isfinite(observed) & np.isfinite(computed)
        off = present & (relative > tolerance * (1 + 1e-9) + 1e-12)
        if not off.any():
            continue
        worst = int(np.flatnonzero(off)[np.argmax(relative[off])])
        node = ctx.tree.nodes[node_id]
        formula = ctx.tree.formulas[node_id].text.strip()
        share = (percent(gap[worst] / scale[worst], signed=True) if scale[worst] > 0
                 else "not 0")
        count = int(off.sum())
        periods = "" if count == 1 else f" ({count} periods are off; the worst is shown)"
        yield Finding(node_id, (
            f"'{node_id}' observed {value_text(observed[worst], node.unit)} "
            f"({node.source}) in {evaluation.periods[worst]}, but its formula {formula} gives "
            f"{value_text(computed[worst], node.unit)}: {share}, beyond the "
            f"{percent(tolerance)} tolerance{periods}; make the children add up to the parent "
            "without overlap or gaps (MECE), or fix the formula or the data"),
            node.span_of("source"))

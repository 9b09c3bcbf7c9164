"""A data file has a metric column that no node, benchmark or guardrail uses: a metric
someone meant to bind, or one left behind after a node was removed. Columns of text
(notes, store names) are not metrics and are never reported, nor are identifiers
(`id`, `customer_id`, `orderId`, `用户ID`, `订单编号`) and segment columns. Bind the column
to a node, or drop it from the file. Reported at the tree's `data` entry; `ignore: [W408]` goes on
the root."""

from __future__ import annotations

import re
from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext
from nsm_cli.data.load import source_refs
from nsm_cli.tree.where import columns_of

CODE = "W408"
NAME = "unused-column"
SEVERITY = "warning"
NEEDS_VALUES = True
SUMMARY = "data column no node uses"
BAD = """\
name: Visits
data:
  d: d.csv
root:
  id: visits
  formula: first + repeat
  children:
    - {id: first, source: d.first}
    - {id: repeat, source: d.repeat}
"""
GOOD = BAD.replace("  formula: first + repeat\n", "  formula: first + repeat\n"
                   "  source: d.total\n")
FILES = {"d.csv": "period,first,repeat,total,note\n2025-06,0.8,1.7,2.5,from the report\n"}
BAD_SNIPPET = "d.csv has a column total that no node reads"
GOOD_SNIPPET = "source: d.total on the node it measures"


def _numeric(table, names: list[str]) -> list[str]:
    """The names whose cells are numbers (wide files); every metric of a long file is one."""
    from nsm_cli.data.tables import parse_cells, read_rows
    from nsm_cli.diagnostics import NsmError

    if table.spec.format == "long":
        return names
    if table.spec.kind != "delimited" or table.spec.is_glob:
        return []  # typed files: their numbers are columns of raw rows, not metrics
    try:
        raw = read_rows(table.spec, set(names))
    except NsmError:
        return []
    found = []
    for name in names:
        column = raw.used.get(name)
        if column is None:
            continue
        values, bad = parse_cells(column.cells)
        if not bad and len(values) and (values == values).any():   # some cell is a number
            found.append(name)
    return found


def is_identifier(column: str) -> bool:
    """`id`, `customer_id`, `orderId`, `用户ID`, `订单编号`: keys that name rows, not metrics."""
    name = column.strip()
    return (name.lower() == "id" or re.search(r"[_\s-]id$", name, re.IGNORECASE) is not None
            or re.search(r"[a-z]Id$|ID$|编号$|代码$", name) is not None)


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    used: dict[str, set[str]] = {}
    for ref in source_refs(tree.file):
        used.setdefault(ref.data, set()).add(ref.column)
        if ref.weight:
            used[ref.data].add(ref.weight)
        if ref.where is not None:
            used[ref.data].update(columns_of(ref.where))
    for name, table in ctx.data.tables.items():
        skip = used.get(name, set()) | set(table.spec.segments)
        unused = [c for c in table.columns if c not in skip and not is_identifier(c)]
        unused = _numeric(table, unused) if unused else []
        if not unused:
            continue
        shown = ", ".join(f"'{c}'" for c in unused[:8]) + (
            f" and {len(unused) - 8} more" if len(unused) > 8 else "")
        noun = "metric" if table.spec.format == "long" else "column"
        plural = "s" if len(unused) > 1 else ""
        yield Finding(tree.root, (
            f"data '{name}' ({table.spec.path}) has {noun}{plural} {shown} that no node uses: "
            f"bind {'them' if plural else 'it'} to a node (source or benchmark) or drop "
            f"{'them' if plural else 'it'} from the file"), table.spec.span)

"""A formula adds or subtracts values in different units (`元` + `次`): the sum means
nothing. Multiplying and dividing change units (`次` × `元/次`), adding never does.
Units are followed through the formula: a `%` or a plain number scales a value without
changing its unit, a node without `unit` is not judged."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nsm_cli.check.rules.base import Finding, RuleContext

CODE = "W402"
NAME = "mixed-units"
SEVERITY = "warning"
NEEDS_VALUES = False
SUMMARY = "adds or subtracts children whose units differ"
BAD = """\
name: Revenue
root:
  id: revenue
  unit: 元
  formula: visits + price
  children:
    - {id: visits, unit: 次, value: 2.5}
    - {id: price, unit: 元, value: 1680}
"""
GOOD = BAD.replace("visits + price", "visits * price")
BAD_SNIPPET = "formula: visits + price (次 + 元)"
GOOD_SNIPPET = "formula: visits * price"

ANY = ""            # a number written in the formula: fits any unit (1 - churn)
RATE = "%"          # scales a value without changing its unit
RATIO = "1"         # a value divided by one in the same unit: a plain number, like a rate
SCALES = (ANY, RATE, RATIO)


def _unit(units: dict[str, str | None], node: ast.expr, clashes: list) -> str | None:
    """The unit of an expression, None when unknown; records +/- between different units."""
    if isinstance(node, ast.Constant):
        return ANY
    if isinstance(node, ast.Name):
        return units.get(node.id)
    if isinstance(node, ast.UnaryOp):
        return _unit(units, node.operand, clashes)
    if isinstance(node, ast.BinOp):
        left = _unit(units, node.left, clashes)
        right = _unit(units, node.right, clashes)
        if isinstance(node.op, ast.Add | ast.Sub):
            if left is None or right is None:
                return None
            if ANY in (left, right):
                return right if left == ANY else left
            if left != right and not {left, right} <= {RATE, RATIO}:
                clashes.append((node.right, left, right))
                return None
            return left
        if isinstance(node.op, ast.Mult):
            if left is None or right is None:
                return None
            if left in SCALES:
                return right if right != ANY else left
            return left if right in SCALES else None
        if isinstance(node.op, ast.Div):
            if left is not None and left == right:
                return RATIO
            return left if right in SCALES else None
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        found = [_unit(units, arg, clashes) for arg in node.args]
        if node.func.id in ("min", "max", "clip", "abs", "round"):
            found = found[:1] if node.func.id == "round" else found
            known = {u for u in found if u != ANY}
            if None in known or len(known) != 1:
                return ANY if not known else None
            return known.pop()
        return None
    return None


def _shown(unit: str) -> str:
    return "a plain number (a ratio)" if unit == RATIO else unit


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return "the term"


def check(ctx: RuleContext) -> Iterator[Finding]:
    from nsm_cli.tree.formula import FormulaError, formula_syntax

    tree = ctx.tree
    for node_id, formula in tree.formulas.items():
        units = {kid: (tree.nodes[kid].unit or "").strip() or None
                 for kid in tree.children[node_id]}
        if not any(units.values()):
            continue   # no unit known: nothing to judge
        try:
            syntax, offset = formula_syntax(formula.text)
        except FormulaError:
            continue
        clashes: list = []
        _unit(units, syntax, clashes)
        node = tree.nodes[node_id]
        for term, left, right in clashes:
            yield Finding(node_id, (
                f"formula of '{node_id}' adds or subtracts {_name(term)} ({_shown(right)}) and "
                f"a value in {_shown(left)}: a sum of different units means nothing; multiply "
                "or divide instead, or fix the unit of the child"), node.formula_span(offset(term)))

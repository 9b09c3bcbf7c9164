"""`nsm diff OLD NEW`: what a change to a tree file (or its data) does to structure and values.

Structure: nodes added, removed, and the fields of a node that changed (formula, source,
benchmark…). Values: the root and every node whose value in the period differs,
`change` = new − old. The shape is the contract's JSON.
"""

from __future__ import annotations

import math
from typing import Any

from nsm_cli.analysis.evaluate import Evaluation, evaluate
from nsm_cli.data.load import LoadedTree
from nsm_cli.numbers import json_number
from nsm_cli.tree.model import BestOf, Node, SourceRef

FIELDS = ("name", "unit", "formula", "source", "value", "benchmark", "target", "direction",
          "owner", "min", "max", "parent", "guardrail")
SAME = 1e-12   # relative: float noise is not a change


def _source(ref: SourceRef | None) -> str | None:
    if ref is None:
        return None
    return f"{ref.data}.{ref.column}" + (f" ({ref.agg})" if ref.agg else "")


def node_fields(loaded: LoadedTree, node: Node) -> dict[str, Any]:
    """What `nsm diff` compares of a node, as JSON-ready values."""
    benchmark = node.benchmark
    return {
        "name": node.name, "unit": node.unit, "formula": node.formula,
        "source": _source(node.source), "value": json_number(node.value),
        "benchmark": _source(benchmark) if isinstance(benchmark, SourceRef)
        else str(benchmark) if isinstance(benchmark, BestOf) else json_number(benchmark),
        "target": json_number(node.target), "direction": node.direction, "owner": node.owner,
        "min": json_number(node.minimum), "max": json_number(node.maximum),
        "parent": loaded.tree.parent.get(node.id), "guardrail": node.is_guardrail,
    }


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) > SAME * max(1.0, abs(old), abs(new))
    return old != new


def _ids(loaded: LoadedTree) -> list[str]:
    tree = loaded.tree
    return list(tree.order) + [g for g in tree.guardrails if g not in tree.order]


def _value(ev: Evaluation, node_id: str, index: int | None) -> float | None:
    array = ev.values.get(node_id)
    if array is None or index is None:
        return None
    value = float(array[..., index])
    return json_number(value) if math.isfinite(value) else None


def structure(old: LoadedTree, new: LoadedTree) -> dict[str, Any]:
    """Added and removed ids (in each file's order), and the changed fields of the rest."""
    old_ids, new_ids = _ids(old), _ids(new)
    changed = []
    for node_id in (i for i in new_ids if i in set(old_ids)):
        before = node_fields(old, old.tree.nodes[node_id])
        after = node_fields(new, new.tree.nodes[node_id])
        fields = {key: [before[key], after[key]] for key in FIELDS
                  if _differs(before[key], after[key])}
        if fields:
            changed.append({"id": node_id, "fields": fields})
    return {"added": [i for i in new_ids if i not in set(old_ids)],
            "removed": [i for i in old_ids if i not in set(new_ids)],
            "changed": changed}


def diff(old: LoadedTree, new: LoadedTree, period: str | None = None,
         labels: tuple[str, str] = ("old", "new")) -> dict[str, Any]:
    """The contract's diff, plus the files, the period and each node's name and unit."""
    old_ev, new_ev = evaluate(old), evaluate(new)
    new_index = new_ev.period_index(period)
    label = new_ev.periods[new_index]
    old_index = old_ev.periods.index(label) if label in old_ev.periods else (
        old_ev.period_index(period) if period is None else None)
    result = structure(old, new)
    names = {i: n.name for i, n in old.tree.nodes.items()} | {
        i: n.name for i, n in new.tree.nodes.items()}
    units = {i: n.unit for i, n in old.tree.nodes.items()} | {
        i: n.unit for i, n in new.tree.nodes.items()}
    values = []
    for node_id in dict.fromkeys(_ids(new) + _ids(old)):
        before, after = _value(old_ev, node_id, old_index), _value(new_ev, node_id, new_index)
        is_root = node_id == new.tree.root
        if not is_root and not _differs(before, after):
            continue
        change = json_number(after - before) if before is not None and after is not None \
            else None
        values.append({"id": node_id, "old": before, "new": after, "change": change,
                       "name": names[node_id], "unit": units[node_id], "root": is_root})
    return {**result, "values": values, "old": labels[0], "new": labels[1], "period": label,
            "old_period": None if old_index is None else old_ev.periods[old_index],
            "root": new.tree.root, "tree": new.tree.file.name, "names": names, "units": units,
            "changed_anything": _anything(result, values)}


def _anything(result: dict[str, Any], values: list[dict[str, Any]]) -> bool:
    if result["added"] or result["removed"] or result["changed"]:
        return True
    return any(_differs(row["old"], row["new"]) for row in values)

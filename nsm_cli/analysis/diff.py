"""`nsm diff OLD NEW`: what a change to a tree file (or its data) does to structure and values.

Structure: nodes added (with their fields), removed, and the fields of a node that changed
(formula, source, benchmark…); what the file says beside its nodes (its name, `period`, data
blocks, connections, scenarios) changes as the entry `(tree)` of `changed`.
Values: the root and every node whose value in the period differs,
`change` = new − old. The shape is the contract's JSON.
"""

from __future__ import annotations

import math
import os
from typing import Any

from nsm_cli.analysis.evaluate import Evaluation, evaluate
from nsm_cli.analysis.results import DiffFiles, DiffResult, NodeFields, ValueChange
from nsm_cli.data.load import LoadedTree
from nsm_cli.numbers import json_number
from nsm_cli.tree.model import BestOf, DataSpec, Node, SourceRef, TreeFile

FIELDS = ("name", "unit", "formula", "source", "value", "benchmark", "target", "direction",
          "owner", "min", "max", "parent", "guardrail")
SAME = 1e-12   # relative: float noise is not a change
TREE_ID = "(tree)"   # not a node id (ids are names), so scripts reading `changed` can tell
# a node's fields that say nothing when they have their default value
DEFAULTS = {"direction": "up", "guardrail": False}


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


def _data_text(file: TreeFile, spec: DataSpec) -> str:
    """A data block in one line: its path as written (relative to the tree) and its options."""
    if spec.database is not None:
        where = (f"table {spec.database.table}" if spec.database.table is not None
                 else f"sql {spec.database.sql}")
        text = f"connection {spec.database.connection}, {where}"
    else:
        text = os.path.relpath(spec.path, os.path.dirname(file.path) or ".")
    options = [f"{key} {getattr(spec, key)}" for key in ("format", "time", "grain")
               if getattr(spec, key) not in (None, "wide")]
    if spec.period_column_set:
        options.append(f"period_column {spec.period_column}")
    if spec.encoding != "utf-8":
        options.append(f"encoding {spec.encoding}")
    if spec.segments:
        options.append(f"segments {', '.join(spec.segments)}")
    return text + (f" ({'; '.join(options)})" if options else "")


def tree_fields(file: TreeFile) -> dict[str, Any]:
    """What `nsm diff` compares of the file beside its nodes, as JSON-ready values."""
    fields: dict[str, Any] = {"name": file.name or None, "description": file.description,
                              "period": file.period}
    for name, spec in file.data.items():
        fields[f"data {name}"] = _data_text(file, spec)
    for name, connection in file.connections.items():
        fields[f"connection {name}"] = connection.url   # as written: no password (E322)
    for name, scenario in file.scenarios.items():
        changes = ", ".join(f"{c.node_id}={c.text}" for c in scenario.changes)
        fields[f"scenario {name}"] = (f"{scenario.description}: {changes}"
                                      if scenario.description else changes)
    return fields


def _tree_changes(old: TreeFile, new: TreeFile) -> dict[str, list[Any]]:
    before, after = tree_fields(old), tree_fields(new)
    keys = dict.fromkeys([*after, *before])   # the new file's order, then what went
    return {key: [before.get(key), after.get(key)] for key in keys
            if before.get(key) != after.get(key)}


def added_fields(loaded: LoadedTree, node_id: str) -> dict[str, Any]:
    """An added node's fields that say something (set, and not their default)."""
    fields = node_fields(loaded, loaded.tree.nodes[node_id])
    return {key: value for key, value in fields.items()
            if key != "name" and value is not None and DEFAULTS.get(key) != value}


def structure(old: LoadedTree, new: LoadedTree
              ) -> tuple[list[str], list[str], list[NodeFields], list[NodeFields]]:
    """Added and removed ids (in each file's order), the changed fields of the rest (the
    file's own changes first, as the entry `(tree)`), and each added node's fields."""
    old_ids, new_ids = _ids(old), _ids(new)
    changed = []
    tree_changes = _tree_changes(old.tree.file, new.tree.file)
    if tree_changes:
        changed.append(NodeFields(id=TREE_ID, fields=tree_changes))
    for node_id in (i for i in new_ids if i in set(old_ids)):
        before = node_fields(old, old.tree.nodes[node_id])
        after = node_fields(new, new.tree.nodes[node_id])
        fields = {key: [before[key], after[key]] for key in FIELDS
                  if _differs(before[key], after[key])}
        if fields:
            changed.append(NodeFields(id=node_id, fields=fields))
    added = [i for i in new_ids if i not in set(old_ids)]
    removed = [i for i in old_ids if i not in set(new_ids)]
    return added, removed, changed, [NodeFields(id=i, fields=added_fields(new, i))
                                     for i in added]


def diff(old: LoadedTree, new: LoadedTree, period: str | None = None,
         labels: tuple[str, str] = ("old", "new")) -> DiffResult:
    """The contract's diff, plus the files, the period and each node's name and unit."""
    old_ev, new_ev = evaluate(old), evaluate(new)
    new_index = new_ev.period_index(period)
    label = new_ev.periods[new_index]
    old_index = old_ev.periods.index(label) if label in old_ev.periods else (
        old_ev.period_index(period) if period is None else None)
    added, removed, changed, added_nodes = structure(old, new)
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
        values.append(ValueChange(id=node_id, old=before, new=after, change=change,
                                  name=names[node_id], unit=units[node_id], root=is_root))
    anything = bool(added or removed or changed) or any(_differs(row.old, row.new)
                                                          for row in values)
    return DiffResult(added=added, removed=removed, changed=changed, values=values,
                      added_nodes=added_nodes, files=DiffFiles(old=labels[0], new=labels[1]),
                      period=label,
                      old_period=None if old_index is None else old_ev.periods[old_index],
                      root=new.tree.root, tree=new.tree.file.name, changed_anything=anything,
                      names=names, units=units)

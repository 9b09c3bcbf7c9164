"""Fill every node for every period at once: leaves from data, formulas bottom-up, with changes.

`compute` is the one evaluator: it takes leaf arrays of any shape that
broadcasts over periods, so analyses can batch many variants of the leaves into
one pass (an extra leading axis) instead of re-running the tree per variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from nsm_cli.analysis.results import ChangeApplied
from nsm_cli.data.load import LoadedTree
from nsm_cli.data.periods import canonical
from nsm_cli.data.segments import Slice, slice_view
from nsm_cli.diagnostics import Diagnostic, NsmError, RequestError, Span, error, warning
from nsm_cli.numbers import json_number
from nsm_cli.tree.changes import Change
from nsm_cli.tree.compile import CompiledTree
from nsm_cli.tree.model import BestOf, SourceRef
from nsm_cli.tree.parser import points_problem, suggest


@dataclass
class Evaluation:
    """Every node's value over the periods, beside what was observed and the benchmarks."""

    tree: CompiledTree
    periods: list[str]
    values: dict[str, np.ndarray]
    base: dict[str, np.ndarray]          # values without scenario or --set changes
    observed: dict[str, np.ndarray]      # nodes with a formula and a source
    benchmarks: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]        # leaf values from data, before changes
    scenario: str | None = None
    changes: list[Change] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def what_if(self) -> dict[str, object]:
        """The scenario and `--set` changes this evaluation applied, for a command's result."""
        scenario = self.tree.file.scenarios.get(self.scenario) if self.scenario else None
        return {
            "scenario": self.scenario,
            "scenario_description": scenario.description if scenario else None,
            "changes": [ChangeApplied(id=c.node_id, change=c.text, kind=c.kind,
                                      amount=json_number(c.amount)) for c in self.changes],
        }

    def period_index(self, period: str | None = None, parameter: str = "period") -> int:
        """Index of the requested period, the file's `period`, or the latest.

        `parameter` names the input the period came from, for the error."""
        file = self.tree.file
        if period is None and file.period not in (None, "latest"):
            label = canonical(file.period)
            if label not in self.periods:
                span = file.period_span or file.span
                raise NsmError([error("E112", f"period '{file.period}' is not in the data: "
                                      f"periods are {_list(self.periods)}", span)])
            return self.periods.index(label)
        if period is None or period == "latest":
            return len(self.periods) - 1
        label = canonical(period)
        if label not in self.periods:
            raise RequestError(parameter, period, f"no such period{suggest(label, self.periods)};"
                               f" periods are {_list(self.periods)}")
        return self.periods.index(label)


def _list(labels: list[str]) -> str:
    if len(labels) <= 8:
        return ", ".join(labels)
    return ", ".join(labels[:3]) + ", …, " + ", ".join(labels[-3:])


def leaf_inputs(loaded: LoadedTree) -> dict[str, np.ndarray]:
    """Each leaf's value over the periods, from its source or its constant."""
    tree, data = loaded.tree, loaded.data
    periods = len(data.periods)
    inputs: dict[str, np.ndarray] = {}
    sourced: list[str] = []
    for node_id, node in tree.nodes.items():
        if tree.children[node_id]:
            continue
        if node.source is not None:
            inputs[node_id] = None   # type: ignore[assignment]  (filled below, in order)
            sourced.append(node_id)
        else:
            inputs[node_id] = np.full(periods, np.nan if node.value is None else node.value)
    for node_id, series in zip(sourced, _sources(data, [tree.nodes[i].source for i in sourced]),
                               strict=True):
        inputs[node_id] = series
    return inputs


def _sources(data: object, refs: list[SourceRef]) -> list[np.ndarray]:
    """Each source's series: in one gather per block from a DataStore, one by one from the
    views (--where, segments) that only have `series`."""
    many = getattr(data, "series_many", None)
    if many is not None:
        return many(refs)
    return [data.series(ref) for ref in refs]   # type: ignore[attr-defined]


def compute(
    tree: CompiledTree,
    inputs: Mapping[str, np.ndarray],
    changes: Mapping[str, Iterable[Change]] | None = None,
) -> dict[str, np.ndarray]:
    """Every node's value, children first; a change replaces a node's value where it applies."""
    changes = changes or {}
    values: dict[str, np.ndarray] = {}
    formulas, children = tree.formulas, tree.children
    for node_id in tree.topo:
        if children[node_id]:
            value = formulas[node_id].evaluate({kid: values[kid] for kid in children[node_id]})
        else:
            value = inputs[node_id]
        for change in changes.get(node_id, ()):
            value = change.apply(value)
        values[node_id] = value
    return values


def resolve_changes(
    tree: CompiledTree, scenario: str | None, sets: Iterable[Change]
) -> list[Change]:
    """The scenario's changes, then the command line's (which win), checked against the tree."""
    found: list[Change] = []
    if scenario is not None:
        if scenario not in tree.file.scenarios:
            names = list(tree.file.scenarios)
            known = f"; scenarios are {', '.join(names)}" if names else "; the file has none"
            raise RequestError("scenario", scenario,
                               f"no such scenario{suggest(scenario, names)}{known}")
        found.extend(tree.file.scenarios[scenario].changes)
    for change in sets:
        node = tree.nodes.get(change.node_id)
        if node is None:
            raise RequestError("set", change.node_id,
                               f"no such node{suggest(change.node_id, list(tree.nodes))}")
        if problem := points_problem(change, node):
            raise RequestError("set", f"{change.node_id}={change.text}", problem)
        found.append(change)
    return found


def evaluate(
    loaded: LoadedTree, scenario: str | None = None, sets: Iterable[Change] = ()
) -> Evaluation:
    """Evaluate the tree, and again under the scenario and `--set` changes when given."""
    tree, data = loaded.tree, loaded.data
    applied = resolve_changes(tree, scenario, sets)
    by_node: dict[str, list[Change]] = {}
    for change in applied:
        by_node.setdefault(change.node_id, []).append(change)
    inputs = leaf_inputs(loaded)
    with np.errstate(all="ignore"):
        base = compute(tree, inputs)
        values = compute(tree, inputs, by_node) if by_node else base
    checked = [node_id for node_id, node in tree.nodes.items()
               if node.source is not None and tree.children[node_id]]
    observed = dict(zip(checked, _sources(data, [tree.nodes[i].source for i in checked]),
                        strict=True))
    benchmarks = _benchmarks(loaded)
    warnings = list(loaded.warnings) + formula_warnings(tree, data.periods, values)
    return Evaluation(
        tree=tree, periods=data.periods, values=values, base=base, observed=observed,
        benchmarks=benchmarks, inputs=inputs, scenario=scenario, changes=applied,
        warnings=warnings,
    )


def _benchmarks(loaded: LoadedTree) -> dict[str, np.ndarray]:
    """Each node's benchmark over the periods: a column of data, the best segment, or a
    constant (the data columns read in one gather)."""
    tree, data = loaded.tree, loaded.data
    benchmarks: dict[str, np.ndarray] = {}
    measured: list[str] = []
    for node_id, node in tree.nodes.items():
        mark = node.benchmark
        if mark is None:
            continue
        if isinstance(mark, SourceRef):
            benchmarks[node_id] = None   # type: ignore[assignment]  (filled below, in order)
            measured.append(node_id)
        elif isinstance(mark, BestOf):
            benchmarks[node_id] = best_values(loaded, mark.column)[node_id]
        else:
            benchmarks[node_id] = np.full(len(data.periods), float(mark))
    found = _sources(data, [tree.nodes[i].benchmark for i in measured])
    for node_id, series in zip(measured, found, strict=True):
        benchmarks[node_id] = series
    return benchmarks


def best_values(loaded: LoadedTree, column: str) -> dict[str, np.ndarray]:
    """Each node's best value among the segments of COL per period, over all rows (whatever
    --where says), judged by the node's direction: `benchmark: {best: COL}`."""
    store = getattr(loaded.data, "store", loaded.data)   # a --where view reads its store
    cache = store.__dict__.setdefault("best", {})
    if column not in cache:
        view = slice_view(loaded.tree.file, store, Slice(column))
        segmented = LoadedTree(loaded.tree, view, [])
        with np.errstate(all="ignore"):
            values = compute(loaded.tree, leaf_inputs(segmented))
        best: dict[str, np.ndarray] = {}
        for node_id, node in loaded.tree.nodes.items():
            grid = np.broadcast_to(values[node_id], view.shape)
            found = np.isfinite(grid).any(axis=0)
            pick = np.nanmin if node.direction == "down" else np.nanmax
            out = np.full(grid.shape[1], np.nan)
            if found.any():
                out[found] = pick(grid[:, found], axis=0)
            best[node_id] = out
        cache[column] = best
    return cache[column]


def formula_warnings(
    tree: CompiledTree, periods: list[str], values: Mapping[str, np.ndarray]
) -> list[Diagnostic]:
    """W201 where a formula turns present inputs into a missing or infinite value."""
    found: list[Diagnostic] = []
    for node_id in _not_finite(tree, values):
        formula = tree.formulas[node_id]
        kids = tree.children[node_id]
        inputs_ok = np.ones(len(periods), dtype=bool)
        for kid in kids:
            inputs_ok &= np.isfinite(values[kid])
        bad = inputs_ok & ~np.isfinite(values[node_id])
        if not bad.any():
            continue
        labels = [periods[i] for i in np.flatnonzero(bad)]
        node = tree.nodes[node_id]
        span: Span = node.formula_span()
        shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        found.append(warning(
            "W201",
            f"formula of '{node_id}' ({formula.text.strip()}) gives no finite value for "
            f"period {shown}: a division by zero, an overflow, or log/sqrt of a negative "
            "number; the value is shown as missing",
            span,
        ))
    return found


def _not_finite(tree: CompiledTree, values: Mapping[str, np.ndarray]) -> list[str]:
    """The formula nodes, in order, whose value is missing or infinite somewhere: the only
    ones a W201 can name (checked in one pass over all of them when their shapes agree)."""
    ids = list(tree.formulas)
    arrays = [values[node_id] for node_id in ids]
    if not arrays:
        return []
    try:
        stacked = np.array(arrays, dtype=np.float64)
    except ValueError:   # shapes differ: one by one
        return [node_id for node_id, array in zip(ids, arrays, strict=True)
                if not np.isfinite(array).all()]
    finite = np.isfinite(stacked).reshape(len(ids), -1).all(axis=1)
    return [ids[k] for k in np.flatnonzero(~finite)]

"""The tree by segment (`--by COL`, `--where COL=VALUE`): one evaluation across all segments.

The segments are one more array axis, as periods are: every leaf is a
(segments × periods) array and `compute` fills the whole tree once. The total
is never made from the segments: it is the tree over all (filtered) rows, each
leaf aggregated with its own `agg`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from nsm_cli.analysis.eval_result import eval_result, status
from nsm_cli.analysis.evaluate import Evaluation, compute, evaluate, leaf_inputs
from nsm_cli.analysis.results import (
    AlertsResult,
    EvalResult,
    SegmentColumn,
    SegmentEvalResult,
    SegmentExplainResult,
    SegmentLeaf,
    SegmentLever,
    SegmentLeversResult,
    SegmentNode,
    SegmentRest,
    SegmentShare,
    build,
    to_json,
)
from nsm_cli.data.load import LoadedTree
from nsm_cli.data.segments import STEPPED_AGGS, SegmentView, Slice, check_slice, slice_view
from nsm_cli.diagnostics import RequestError
from nsm_cli.numbers import json_number
from nsm_cli.tree.changes import ADD, VALUE, Change
from nsm_cli.tree.model import SourceRef


@dataclass
class SegmentEvaluation:
    """The total (an ordinary evaluation) and every node's (segments, periods) values."""

    total: Evaluation
    by: str
    where: tuple[tuple[str, str], ...]
    labels: list[str]
    values: dict[str, np.ndarray]
    benchmarks: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]
    view: SegmentView
    warnings: list = field(default_factory=list)
    base: dict[str, np.ndarray] | None = None   # values without the what-if changes

    @property
    def tree(self):
        return self.total.tree

    @property
    def periods(self) -> list[str]:
        return self.total.periods

    def segment(self, position: int) -> Evaluation:
        """One segment as an ordinary evaluation (for the per-segment analyses)."""
        pick = {k: v[position] for k, v in self.values.items()}
        base = pick if self.base is None else {k: v[position] for k, v in self.base.items()}
        marks = {k: (v[position] if np.ndim(v) == 2 else v) for k, v in self.benchmarks.items()}
        return Evaluation(tree=self.total.tree, periods=self.total.periods, values=pick,
                          base=base, observed={}, benchmarks=marks,
                          inputs={k: v[position] for k, v in self.inputs.items()},
                          scenario=self.total.scenario, changes=self.total.changes)

    def formula_changes(self) -> dict[str, list[Change]]:
        """The what-if changes on nodes with a formula (a leaf's are in its values already)."""
        out: dict[str, list[Change]] = {}
        for change in self.total.changes:
            if self.tree.children[change.node_id]:
                out.setdefault(change.node_id, []).append(change)
        return out


def parse_where(texts: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """`--where COL=VALUE` texts → pairs; a value is a literal, everything after the first `=`."""
    pairs: list[tuple[str, str]] = []
    for text in texts:
        column, equals, value = text.partition("=")
        if not equals or not column.strip() or not value.strip():
            raise RequestError("where", text, "expected COL=VALUE (like region=华北)")
        pairs.append((column.strip(), value.strip()))
    return tuple(pairs)


def with_where(result, where: tuple[tuple[str, str], ...]):
    """The result saying which rows it was computed on (nothing changes without --where)."""
    from dataclasses import replace

    return replace(result, where=dict(where)) if where else result


def where_view(loaded: LoadedTree, where: tuple[tuple[str, str], ...]) -> LoadedTree:
    """The tree over the rows --where keeps (the loaded tree itself without filters)."""
    if not where:
        return loaded
    check_slice(loaded.tree.file, None, where)
    view = slice_view(loaded.tree.file, loaded.data, Slice(None, where))
    return LoadedTree(loaded.tree, view, loaded.warnings)


def evaluate_by(loaded: LoadedTree, by: str, where: tuple[tuple[str, str], ...] = (),
                scenario: str | None = None, sets: Iterable[Change] = ()) -> SegmentEvaluation:
    """The total over all (filtered) rows and every segment, each in one vectorised pass;
    the scenario and `sets` apply to the total and to every segment alike."""
    file = loaded.tree.file
    check_slice(file, by, where)
    total = evaluate(where_view(loaded, where), scenario=scenario, sets=sets)
    view = slice_view(file, loaded.data, Slice(by, where))
    tree = loaded.tree
    shape = view.shape
    check_segment_changes(tree, view, total.changes, scenario)
    by_node: dict[str, list[Change]] = {}
    for change in total.changes:
        by_node.setdefault(change.node_id, []).append(change)
    segmented = LoadedTree(tree, view, loaded.warnings)
    inputs = {k: np.broadcast_to(v, shape) for k, v in leaf_inputs(segmented).items()}
    with np.errstate(all="ignore"):
        values = {k: np.broadcast_to(v, shape) for k, v in compute(tree, inputs).items()}
        base = None
        if by_node:
            base = values
            values = {k: np.broadcast_to(v, shape)
                      for k, v in compute(tree, inputs, by_node).items()}
    benchmarks: dict[str, np.ndarray] = dict(total.benchmarks)
    for node_id, node in tree.nodes.items():
        if isinstance(node.benchmark, SourceRef):   # a benchmark column differs by segment
            benchmarks[node_id] = np.broadcast_to(view.series(node.benchmark), shape)
    return SegmentEvaluation(total, by, where, view.labels, values, benchmarks, inputs, view,
                             list(total.warnings), base)


ADDITIVE_AGGS = ("sum", "count", "count_distinct")   # a segment's value is a part of the total


def check_segment_changes(tree, view: SegmentView, changes: Sequence[Change],
                          scenario: str | None) -> None:
    """A change applies to every segment alike. A relative change, a factor or points always
    can; a new value or an amount to add only where the node's value does not add up across
    segments (a rate, a mean, a constant, a leaf the same in every segment): 1,000 visitors
    in the total says nothing about how many each region has (a RequestError saying so)."""
    for change in changes:
        if change.kind not in (VALUE, ADD):
            continue
        node = tree.nodes[change.node_id]
        if node.is_rate:
            continue
        if tree.children[change.node_id]:
            why = "it has a formula, and a formula's value may add up across segments"
        elif node.source is None or not view.segmented(node.source) \
                or node.source.agg not in ADDITIVE_AGGS:
            continue
        else:
            why = f"its rows add up across segments (agg {node.source.agg})"
        what = "a new value" if change.kind == VALUE else "an amount to add"
        parameter, value = (("scenario", scenario) if change.span is not None and scenario
                            else ("set", f"{change.node_id}={change.text}"))
        raise RequestError(parameter, value,
                           f"{what} for '{change.node_id}' ({change.text}) cannot be split "
                           f"into segments: {why}",
                           advice=f"; with {{by}} {view.slice.by} give a relative change "
                           "(+10%, x1.1) or, for a rate, points (+2pp)")


def ranked_segments(sev: SegmentEvaluation, index: int) -> list[int]:
    """Segment positions by the root's value, best first by its direction (no value last)."""
    root = sev.tree.nodes[sev.tree.root]
    values = np.asarray(sev.values[sev.tree.root][:, index], dtype=float)
    sign = -1.0 if root.direction == "up" else 1.0
    order = sorted(range(len(sev.labels)),
                   key=lambda i: (not math.isfinite(values[i]),
                                  sign * values[i] if math.isfinite(values[i]) else 0.0,
                                  sev.labels[i]))
    return order


def best_segment(sev: SegmentEvaluation, node_id: str, index: int) -> int | None:
    """The position of the segment with the best value of the node (None without values)."""
    values = np.asarray(sev.values[node_id][:, index], dtype=float)
    if not np.isfinite(values).any():
        return None
    pick = np.nanargmin if sev.tree.nodes[node_id].direction == "down" else np.nanargmax
    return int(pick(values))


# ---------------------------------------------------------------- eval --by


def _number(value: float) -> float | None:
    return json_number(float(value)) if math.isfinite(value) else None


@dataclass(frozen=True)
class SegmentRows:
    """Every shown segment's node rows as columns: per node its fixed fields (`heads`) and one
    list over the segments per field (`columns`). `eval --by --format json` writes them
    straight to text (render.segment_formats) instead of making a dict per (segment, node):
    500,000 of them on 1,000 segments × 500 nodes. `segments()` gives the plain rows."""

    labels: list[str]
    heads: list[dict[str, Any]]
    columns: list[dict[str, list[Any]]]

    def segments(self) -> list[SegmentColumn]:
        nodes: list[list[SegmentNode]] = [[] for _ in self.labels]
        for head, column in zip(self.heads, self.columns, strict=True):
            fields = list(column)
            for out, values in zip(nodes, zip(*column.values(), strict=True), strict=True):
                row = dict(head)
                row.update(zip(fields, values, strict=True))
                out.append(build(SegmentNode, row))
        return [SegmentColumn(segment=label, nodes=rows)
                for label, rows in zip(self.labels, nodes, strict=True)]

    def to_json(self) -> list[dict[str, Any]]:
        return to_json(self.segments())


NODE_FIELDS = ("value", "benchmark", "gap", "gap_pct", "target", "target_gap", "status")


def segment_rows(sev: SegmentEvaluation, index: int, order: Sequence[int]) -> SegmentRows:
    """Every node of every segment (in `order`) as `eval` shows a node, one column at a time."""
    tree = sev.tree
    pick = np.asarray(order, dtype=np.intp)
    heads, columns = [], []
    for node_id in tree.order:
        node = tree.nodes[node_id]
        values = np.asarray(sev.values[node_id][:, index], dtype=float)[pick].tolist()
        marks = sev.benchmarks.get(node_id)
        heads.append({"id": node_id, "name": node.name, "parent": tree.parent.get(node_id),
                      "depth": tree.depth.get(node_id, 0), "unit": node.unit})
        target = json_number(node.target)
        shown = [_number(v) for v in values]
        column: dict[str, list[Any]] = {"value": shown}
        if marks is None:
            empty = [None] * len(shown)
            column.update(benchmark=empty, gap=empty, gap_pct=empty)
        else:
            marks = np.asarray(marks, dtype=float)
            bench = (marks[pick, index] if marks.ndim == 2
                     else np.full(len(shown), marks[index])).tolist()
            _gaps(column, values, bench, node.direction)
        column["target"] = [target] * len(shown)
        column["target_gap"] = [None] * len(shown) if target is None else [
            None if v is None else json_number(raw - target)
            for v, raw in zip(shown, values, strict=True)]
        column.setdefault("status", [None] * len(shown))
        columns.append({key: column[key] for key in NODE_FIELDS})
    return SegmentRows([sev.labels[i] for i in order], heads, columns)


def _gaps(column: dict[str, list[Any]], values: list[float], bench: list[float],
          direction: str) -> None:
    """benchmark, gap, gap_pct and status of every segment of one node (as `eval` has them)."""
    marks, gaps, pcts, states = [], [], [], []
    for value_n, value, mark in zip(column["value"], values, bench, strict=True):
        mark_n = _number(mark)
        gap = json_number(value - mark) if value_n is not None and mark_n is not None else None
        marks.append(mark_n)
        gaps.append(gap)
        pcts.append(None if gap is None or not mark else json_number(gap / abs(mark), 6))
        states.append(status(value_n, mark_n, direction))
    column.update(benchmark=marks, gap=gaps, gap_pct=pcts, status=states)


def segment_eval_result(sev: SegmentEvaluation, index: int, top: int | None = None,
                        everything: bool = True, columns: bool = False) -> SegmentEvalResult:
    """`nsm eval --by`: the total as `eval` gives it, then every segment, best root first.

    Without `everything` (text and Markdown) only the `top` segments carry their nodes; the
    rest are summarised as each node's lowest and highest value (`rest`). With `columns`,
    `segments` is a SegmentRows (for the JSON writer) rather than a list of plain rows."""
    total = eval_result(sev.total, index)
    order = ranked_segments(sev, index)
    shown = order if everything or top is None else order[:top]
    best = {node_id: best_segment(sev, node_id, index) for node_id in sev.tree.order}
    rows = segment_rows(sev, index, shown)
    return SegmentEvalResult(
        **{f.name: getattr(total, f.name) for f in fields(EvalResult) if f.name != "where"},
        by=sev.by, where=dict(sev.where), top=top,
        best={node_id: None if at is None else sev.labels[at] for node_id, at in best.items()},
        segments=rows if columns else rows.segments(),
        rest=_rest(sev, index, order[top:] if top is not None else []))


def _rest(sev: SegmentEvaluation, index: int, rest: Sequence[int]) -> SegmentRest:
    """The segments after the top ones: how many, and each node's lowest and highest value."""
    if not rest:
        return SegmentRest(count=0, range={})
    pick = np.asarray(rest, dtype=np.intp)
    out: dict[str, list[float | None]] = {}
    for node_id in sev.tree.order:
        values = np.asarray(sev.values[node_id][pick, index], dtype=float)
        values = values[np.isfinite(values)]
        out[node_id] = ([json_number(float(values.min())), json_number(float(values.max()))]
                        if values.size else [None, None])
    return SegmentRest(count=len(rest), range=out)


# ---------------------------------------------------------------- rank-levers --by


@dataclass
class _Pairs:
    """The (segment, leaf) pairs of one leaf: the total leaf value after each segment's step."""

    leaf: str
    segments: list[str | None]
    values: np.ndarray
    new_values: np.ndarray
    totals: np.ndarray
    reasons: list[str | None]


def _stepped(values: np.ndarray, step: float, direction: str, by_points: bool) -> np.ndarray:
    size = np.full(values.shape, step) if by_points else step * np.abs(values)
    return values - size if direction == "down" else values + size


def _leaf_pairs(sev: SegmentEvaluation, leaf: str, index: int, step: float,
                points: bool) -> _Pairs:
    """A leaf stepped in each segment alone, and the total leaf aggregated again from all rows:
    a sum moves by the segment's step, a mean by the step times the segment's share of rows
    (of weights, for a weighted mean)."""
    node = sev.tree.nodes[leaf]
    by_points = points and node.is_rate
    total = float(np.asarray(sev.total.values[leaf])[..., index])
    ref = node.source
    if ref is None or not sev.view.segmented(ref):
        new = _stepped(np.array([total]), step, node.direction, by_points)
        return _Pairs(leaf, [None], np.array([total]), new, new, [None])
    values = np.array(sev.values[leaf][:, index], dtype=float)   # after any what-if change
    low, high = node.value_domain()   # a rate stays within 0–100%, never moved back
    new = np.clip(_stepped(values, step, node.direction, by_points),
                  np.minimum(low, values), np.maximum(high, values))
    labels: list[str | None] = list(sev.labels)
    if ref.agg not in STEPPED_AGGS:
        reason = (f"agg {ref.agg}: a step in one segment has no defined effect on the total "
                  f"({ref.agg} of all rows is not made of the segments' {ref.agg})")
        return _Pairs(leaf, labels, values, new, np.full(values.size, np.nan),
                      [reason] * values.size)
    if ref.agg == "mean":
        basis = np.array(sev.view.basis(ref)[:, index], dtype=float)
        share = basis / np.nansum(basis)
    else:
        share = np.ones(values.size)
    with np.errstate(all="ignore"):
        totals = total + share * (new - values)
    reasons = [None if math.isfinite(v) else f"no data for {sev.periods[index]} in this segment"
               for v in values.tolist()]
    return _Pairs(leaf, labels, values, new, totals, reasons)


def _weighted_by(sev: SegmentEvaluation, leaf: str) -> list[str]:
    """Leaves whose weighted mean takes its weights from this `sum` leaf's column."""
    ref = sev.tree.nodes[leaf].source
    if ref is None or ref.agg != "sum" or getattr(ref, "where", None) is not None:
        return []
    return [other for other in sev.tree.leaves
            if (mine := sev.tree.nodes[other].source) is not None and mine.data == ref.data
            and getattr(mine, "weight", None) == ref.column and mine.agg == "mean"]


def _with_weights(sev: SegmentEvaluation, pair: _Pairs, coupled: list[str], index: int,
                  base: dict[str, float]) -> np.ndarray:
    """The total root when a `sum` leaf steps in one segment and the weighted means that
    weigh by its column shift towards that segment's value (their weights grew with it)."""
    with np.errstate(all="ignore"):
        ratio = np.where(pair.values != 0, pair.new_values / pair.values, 1.0)
        inputs: dict[str, Any] = {n: np.float64(base[n]) for n in sev.tree.leaves}
        inputs[pair.leaf] = pair.totals
        for other in coupled:
            ref = sev.tree.nodes[other].source
            weights = np.nan_to_num(np.array(sev.view.basis(ref)[:, index], dtype=float))
            means = np.nan_to_num(np.array(sev.inputs[other][:, index], dtype=float))
            whole = weights.sum()
            grown = weights * (ratio - 1)
            inputs[other] = (base[other] * whole + grown * means) / (whole + grown)
        for node_id in sev.tree.topo:
            if not sev.tree.children[node_id] and node_id not in inputs:
                inputs[node_id] = np.float64(np.asarray(sev.total.values[node_id])[..., index])
        root = compute(sev.tree, inputs, sev.formula_changes())[sev.tree.root]
    return np.broadcast_to(root, pair.totals.shape)


def _pair_roots(sev: SegmentEvaluation, pairs: list[_Pairs], index: int,
                base: dict[str, float]) -> np.ndarray:
    """The total root under every (segment, leaf) step, all pushed up the tree at once; a pair
    under a node a what-if change fixes gets that as its reason."""
    from nsm_cli.analysis.levers import held_reason, root_under

    variants: list[tuple[str, float]] = []
    for pair in pairs:
        variants.extend(zip([pair.leaf] * len(pair.segments), pair.totals.tolist(), strict=True))
    changes = sev.formula_changes()
    with np.errstate(all="ignore"):
        roots, held = root_under(sev.tree, base, variants, changes)
    owners = [(pair, k) for pair in pairs for k in range(len(pair.segments))] if held else []
    for at, node_id in held.items():
        pair, k = owners[at]
        pair.reasons[k] = held_reason(sev.tree, node_id, changes, sev.total.scenario)
    at = 0
    for pair in pairs:
        coupled = _weighted_by(sev, pair.leaf)
        if coupled and pair.segments[0] is not None:
            roots[at:at + len(pair.segments)] = _with_weights(sev, pair, coupled, index, base)
        at += len(pair.segments)
    return roots


def _order(deltas: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Pairs by |delta| (9 significant digits: float noise ties), ties in tree order; pairs
    without a delta last."""
    size = np.abs(np.where(known, deltas, 0.0))
    with np.errstate(all="ignore"):
        scale = np.where(size > 0, 10.0 ** (np.floor(np.log10(np.where(size > 0, size, 1))) - 8),
                         1.0)
    rounded = np.round(size / scale) * scale
    return np.lexsort((np.arange(deltas.size), -rounded, ~known))


def segment_levers(sev: SegmentEvaluation, index: int, step: float, points: bool,
                   top: int | None = None) -> SegmentLeversResult:
    """`nsm rank-levers --by`: (segment, leaf) pairs by the change of the total root, ranked
    with numpy; only the pairs shown become rows."""
    from nsm_cli.analysis.levers import POINTS, RELATIVE

    tree = sev.tree
    base = {n: float(np.asarray(sev.total.values[n])[..., index]) for n in tree.order}
    root_value = base[tree.root]
    pairs = [_leaf_pairs(sev, leaf, index, step, points) for leaf in tree.leaves]
    deltas = _pair_roots(sev, pairs, index, base) - root_value
    owner = np.repeat(np.arange(len(pairs)), [len(p.segments) for p in pairs])
    offset = np.repeat(np.cumsum([0] + [len(p.segments) for p in pairs[:-1]]),
                       [len(p.segments) for p in pairs])
    reasons = [reason for pair in pairs for reason in pair.reasons]
    known = np.isfinite(deltas) & np.array([r is None for r in reasons], dtype=bool)
    order = _order(deltas, known)
    ranked = int(known.sum())
    shown = order if top is None else order[:min(top, ranked)]
    rows = []
    for rank, at in enumerate(shown.tolist(), start=1):
        pair, k = pairs[owner[at]], at - int(offset[at])
        node = tree.nodes[pair.leaf]
        good = bool(known[at])
        reason = reasons[at] or (None if good else
                                 f"{tree.nodes[tree.root].name} has no value when stepped")
        rows.append(build(SegmentLever, {   # build: 250,000 pairs on 1,000 segments
            "rank": rank if good else None, "id": pair.leaf, "name": node.name,
            "unit": node.unit, "owner": node.owner, "direction": node.direction,
            "step_kind": POINTS if points and node.is_rate else RELATIVE,
            "segment": pair.segments[k], "value": _number(pair.values[k]),
            "new_value": _number(pair.new_values[k]) if good else None,
            "total_new_value": _number(pair.totals[k]) if good else None,
            "delta": json_number(float(deltas[at])) if good else None,
            "delta_pct": json_number(float(deltas[at]) / abs(root_value), 6)
            if good and root_value else None,
            "reason": reason}))
    return SegmentLeversResult(
        **tree.header(), root_value=json_number(root_value), period=sev.periods[index],
        by=sev.by, where=dict(sev.where), **(sev.total.what_if() if sev.total.changes else {}),
        step=json_number(step), mode=POINTS if points else RELATIVE, top=top,
        total=int(deltas.size), hidden=int(deltas.size) - len(rows),
        unranked=int(deltas.size) - ranked, levers=rows, warnings=list(sev.warnings))


# ---------------------------------------------------------------- explain --by

TOP_EXPLAINED = 3  # segments whose own change is split by leaf
ADDITIVE_TOLERANCE = 1e-9


def _adds_up(sev: SegmentEvaluation, node_id: str, periods: Sequence[int]) -> bool:
    """Whether the node's total is the sum of its segments' values in these periods."""
    for index in periods:
        parts = np.asarray(sev.values[node_id][:, index], dtype=float)
        whole = float(np.asarray(sev.total.values[node_id])[..., index])
        if not (np.isfinite(parts).all() and math.isfinite(whole)):
            return False
        if abs(math.fsum(parts.tolist()) - whole) > ADDITIVE_TOLERANCE * max(1.0, abs(whole)):
            return False
    return True


def _mix_rate(sev: SegmentEvaluation, volume: str, start: int, end: int
              ) -> dict[str, np.ndarray] | None:
    """Each segment's change of an additive root R = V × (R/V) split three ways that sum exactly:
    the total volume's growth, the shift of mix between segments, and the segment's own rate."""
    root = sev.tree.root
    v0, v1 = (np.asarray(sev.values[volume][:, i], dtype=float) for i in (start, end))
    r0, r1 = (np.asarray(sev.values[root][:, i], dtype=float) for i in (start, end))
    if (v0 == 0).any() or (v1 == 0).any():
        return None
    total0, total1 = v0.sum(), v1.sum()
    rate0, rate1 = r0 / v0, r1 / v1
    w0, w1 = v0 / total0, v1 / total1
    rate_mid, w_mid, v_mid = (rate0 + rate1) / 2, (w0 + w1) / 2, (v0 + v1) / 2
    return {"volume": rate_mid * w_mid * (total1 - total0),
            "mix": rate_mid * (total0 + total1) / 2 * (w1 - w0),
            "rate": v_mid * (rate1 - rate0)}


def _alone(sev: SegmentEvaluation, start: int, end: int) -> np.ndarray:
    """The total root when one segment alone moves from `start` to `end` (one row per segment):
    each leaf's total aggregated again from the rows, the other segments kept at `start`."""
    tree, count = sev.tree, len(sev.labels)
    inputs: dict[str, np.ndarray] = {}
    for leaf in tree.leaves:
        total = float(np.asarray(sev.total.values[leaf])[..., start])
        ref = tree.nodes[leaf].source
        if ref is None or not sev.view.segmented(ref) or ref.agg not in STEPPED_AGGS:
            inputs[leaf] = np.full(count, total)
            continue
        a0, a1 = (np.asarray(sev.inputs[leaf][:, i], dtype=float) for i in (start, end))
        if ref.agg == "mean":
            b0, b1 = (np.asarray(sev.view.basis(ref)[:, i], dtype=float) for i in (start, end))
            whole = np.nansum(b0)
            with np.errstate(all="ignore"):
                moved = (total * whole - np.nan_to_num(b0 * a0) + np.nan_to_num(b1 * a1)) / (
                    whole - np.nan_to_num(b0) + np.nan_to_num(b1))
        else:
            moved = total - np.nan_to_num(a0) + np.nan_to_num(a1)
        inputs[leaf] = moved
    for node_id in tree.topo:
        if not tree.children[node_id] and node_id not in inputs:
            inputs[node_id] = np.asarray(sev.total.values[node_id])[..., start]
    with np.errstate(all="ignore"):
        return np.broadcast_to(compute(tree, inputs)[tree.root], (count,))


def segment_explain(sev: SegmentEvaluation, start: int, end: int, options: Any = None
                    ) -> SegmentExplainResult:
    """`nsm explain --by`: how much of the total root's change came from each segment."""
    from nsm_cli.analysis.explain import ExplainOptions

    options = options or ExplainOptions()

    tree = sev.tree
    root = tree.root
    y0, y1 = (float(np.asarray(sev.total.values[root])[..., i]) for i in (start, end))
    change = y1 - y0
    additive = _adds_up(sev, root, (start, end))
    split: dict[str, np.ndarray] | None = None
    volume = None
    if additive:
        parts = (np.asarray(sev.values[root][:, end], dtype=float)
                 - np.asarray(sev.values[root][:, start], dtype=float))
        volume = next((kid for kid in tree.children[root]
                       if kid != root and _adds_up(sev, kid, (start, end))), None)
        split = _mix_rate(sev, volume, start, end) if volume else None
        method_used = "segment_change"
    else:
        parts = _alone(sev, start, end) - y0
        method_used = "one_segment_at_a_time"
    residual = change - math.fsum(np.nan_to_num(parts).tolist())
    order = sorted(range(len(sev.labels)), key=lambda i: (
        not math.isfinite(parts[i]), -abs(parts[i]) if math.isfinite(parts[i]) else 0.0, i))
    rows = []
    for rank, i in enumerate(order):
        row: dict[str, Any] = {
            "segment": sev.labels[i],
            "from_value": _number(sev.values[root][i, start]),
            "to_value": _number(sev.values[root][i, end]),
            "contribution": _number(parts[i]),
            "share": None if change == 0 or not math.isfinite(parts[i])
            else json_number(parts[i] / change, 6)}
        if split is not None:
            row.update({k: _number(v[i]) for k, v in split.items()})
        if rank < TOP_EXPLAINED:
            row["leaves"] = _segment_leaves(sev, i, start, end, options)
        rows.append(SegmentShare(**row))
    return SegmentExplainResult(
        **tree.header(), by=sev.by, where=dict(sev.where), from_=sev.periods[start],
        to=sev.periods[end], from_value=_number(y0), to_value=_number(y1),
        change=_number(change), additive=additive, method=method_used, volume=volume,
        volume_name=tree.nodes[volume].name if volume else None,
        interaction=json_number(residual), segments=rows, warnings=list(sev.warnings))


def _segment_leaves(sev: SegmentEvaluation, position: int, start: int, end: int,
                    options: Any) -> list[SegmentLeaf] | None:
    """The leaves that moved one segment's root, as `explain` splits it (None: it cannot)."""
    from nsm_cli.analysis.explain import explain_result
    from nsm_cli.diagnostics import NsmError

    try:
        inner = explain_result(sev.segment(position), start, end, options)
    except NsmError:
        return None
    return [SegmentLeaf(id=c.id, name=c.name, unit=c.unit, from_value=c.from_value,
                        to_value=c.to_value, contribution=c.contribution, share=c.share)
            for c in inner.contributions if c.contribution]


# ---------------------------------------------------------------- alerts --by


def segment_alerts(sev: SegmentEvaluation, index: int) -> AlertsResult:
    """`nsm alerts --by`: every rule judged on the total, then in every segment (best root
    first); a segment's alert says which segment it fired in."""
    from dataclasses import replace

    from nsm_cli.analysis.alerts import alerts_result, check_alerts

    total = alerts_result(sev.total, index)
    fired = [replace(alert, segment=None) for alert in total.fired]
    checked = total.checked
    ruled = [n for n in [*sev.tree.order, *sev.tree.guardrails]
             if sev.tree.nodes[n].alert_rules or sev.tree.nodes[n].minimum is not None
             or sev.tree.nodes[n].maximum is not None]
    if ruled:
        for i in ranked_segments(sev, index):
            report = check_alerts(sev.segment(i), index)
            checked += report.checked
            label = sev.labels[i]
            fired += [replace(alert, segment=label, message=f"{label}: {alert.message}")
                      for alert in report.fired]
    return replace(total, fired=fired, checked=checked)

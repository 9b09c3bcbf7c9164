"""`nsm rank-levers`: which leaf moves the North Star most when it alone improves by one step.

Stepping one leaf changes only the nodes above it, so the steps are never
evaluated tree by tree. Every *variant* (one leaf at a new value: its step, or
its benchmark) is pushed up the tree together at the one selected period: each
node computes, in one numpy call, a vector of its values under just the
variants of the leaves below it. The work is the sum over nodes of the leaves
under each (about leaves × depth numbers), not leaves × nodes × periods.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation, evaluate
from nsm_cli.analysis.results import Lever, LeversResult
from nsm_cli.data.load import LoadedTree
from nsm_cli.diagnostics import RequestError, require_choice
from nsm_cli.numbers import NumberError, json_number, percent, read_step, value_text
from nsm_cli.tree.changes import VALUE, Change
from nsm_cli.tree.compile import CompiledTree

SORTS = ("delta", "potential")
RELATIVE, POINTS = "relative", "points"
DEFAULT_STEP = 0.01
# deltas equal to 9 significant digits are ties: binary floats differ in the last bits
TIE_DIGITS = 9

# `{points}` is the caller's name for points mode (the CLI's --points), filled by RequestError
STEP_HELP = "a percentage such as 1%, 0.5% or 2 (= 2%), or points such as 1pp (implies {points})"


def parse_step(text: str) -> tuple[float, bool]:
    """`--step` text → (step as a fraction, whether it asks for points). A bare number is percent.

    `1%`, `1` and `+1%` are 0.01; `0.5%` is 0.005; `1pp`/`1pt` is 0.01 and turns on
    points mode. The step is a size, never a direction: each leaf moves in its
    improving direction, so a negative step is refused.
    """
    try:
        return read_step(text)
    except NumberError as exc:
        if exc.shapeless:
            raise RequestError("step", text, "", f"expected {STEP_HELP}") from None
        raise RequestError("step", text, str(exc)) from None


@dataclass(frozen=True)
class LeverOptions:
    """How to step and rank the levers: checked once, when made (before any tree is loaded)."""

    step: float = DEFAULT_STEP
    points: bool = False
    sort: str = "delta"
    top: int | None = None

    def __post_init__(self) -> None:
        require_choice("sort", self.sort, SORTS)
        if not (math.isfinite(self.step) and self.step >= 0):
            raise RequestError("step", None,
                               f"the step must be a finite number ≥ 0, not {self.step!r}")
        if self.top is not None and self.top < 1:
            raise RequestError("top", self.top, "give a number of levers of at least 1")


# ---------------------------------------------------------------- the engine


def root_under(
    tree: CompiledTree,
    base: Mapping[str, float],
    variants: Sequence[tuple[str, float]],
    changes: Mapping[str, Iterable[Change]] | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """The root's value under each variant (one leaf set to a new value, the rest at `base`).

    `base` holds every node's value at one period (after `changes`). A node that
    a change sets to a fixed value stops the variants below it: they come back
    at the root's base value and in the second result, variant → the node that
    holds them.
    """
    changes = changes or {}
    by_leaf: dict[str, list[int]] = {}
    for position, (leaf, _value) in enumerate(variants):
        by_leaf.setdefault(leaf, []).append(position)
    new_values = np.array([value for _leaf, value in variants], dtype=np.float64)
    moved: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # node → (variant indices, values)
    held: dict[int, str] = {}
    inside = set(tree.order)
    formulas, children = tree.formulas, tree.children
    for node_id in tree.topo:
        if node_id not in inside:
            continue
        kids = children[node_id]
        if not kids:
            positions = by_leaf.get(node_id)
            if positions:
                index = np.asarray(positions, dtype=np.intp)
                moved[node_id] = (index, new_values[index])
            continue
        below = [moved[kid] for kid in kids if kid in moved]
        if not below:
            continue
        if len(below) == 1:
            index = below[0][0]
        else:
            joined = np.concatenate([indices for indices, _ in below])
            # leaves in pre-order make the children's ranges ascending; shared drivers may not
            index = joined if bool(np.all(joined[1:] > joined[:-1])) else np.unique(joined)
        size = len(index)
        env = {kid: _column(moved.get(kid), base[kid], index) for kid in kids}
        value = np.broadcast_to(formulas[node_id].evaluate(env), (size,))
        fixed = False
        for change in changes.get(node_id, ()):
            if change.kind == VALUE:
                fixed = True
                break
            value = change.apply(value)
        if fixed:
            for position in index.tolist():
                held.setdefault(position, node_id)
        else:
            moved[node_id] = (index, value)
    result = np.full(len(variants), base[tree.root], dtype=np.float64)
    if tree.root in moved:
        index, value = moved[tree.root]
        result[index] = value
    return result, held


def _column(got: tuple[np.ndarray, np.ndarray] | None, base: float, index: np.ndarray) -> Any:
    """A child's values under the parent's variants: its own where it moved, else its base."""
    if got is None:
        return np.float64(base)
    if len(got[0]) == len(index):
        return got[1]
    column = np.full(len(index), base, dtype=np.float64)
    column[np.searchsorted(index, got[0])] = got[1]
    return column


# ---------------------------------------------------------------- one lever


def stepped_value(value: float, step: float, direction: str, by_points: bool) -> float:
    """The leaf one step better: ± step points for rates in points mode, else ± step × |value|."""
    size = step if by_points else step * abs(value)
    return value - size if direction == "down" else value + size


def _clip(node, value: float, new: float) -> tuple[float, str | None]:
    """Keep the stepped value inside the metric's domain (rates 0–100%), never moving it back."""
    low, high = node.value_domain()
    if not low <= value <= high:
        shown = value_text(value, node.unit)
        limits = _limits(node, low, high)
        return value, (f"{shown} is outside its range ({limits}): fix the data, or give the "
                       "node a domain: [low, high]")
    if new > high:
        bound = max(high, value)
        return bound, _bound_reason(node, bound, value, high, "top")
    if new < low:
        bound = min(low, value)
        return bound, _bound_reason(node, bound, value, low, "bottom")
    return new, None


def _limits(node, low: float, high: float) -> str:
    def show(x: float) -> str:
        return percent(x) if node.is_rate else f"{x:g}"

    if math.isinf(high):
        return f"≥ {show(low)}"
    if math.isinf(low):
        return f"≤ {show(high)}"
    return f"{show(low)}–{show(high)}"


def _bound_reason(node, bound: float, value: float, limit: float, end: str) -> str:
    shown = percent(limit) if node.is_rate else f"{limit:g}"
    if bound == value:
        return f"already at {shown}, the {end} of its range: it cannot improve further"
    return f"capped at {shown}, the {end} of its range"


def _ratio(numerator: float, denominator: float, digits: int = 6) -> float | None:
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator == 0:
        return None
    return json_number(numerator / abs(denominator), digits)


def _tie_key(value: float) -> float:
    return float(f"{abs(value):.{TIE_DIGITS}g}")


# ---------------------------------------------------------------- the ranking


def rank_levers(
    loaded: LoadedTree,
    period: str | None = None,
    step: float = DEFAULT_STEP,
    points: bool = False,
    scenario: str | None = None,
    sets: Iterable[Change] = (),
    sort: str = "delta",
    top: int | None = None,
) -> LeversResult:
    """Evaluate the tree (under the scenario and `--set`) and rank its leaves at one period."""
    options = LeverOptions(step, points, sort, top)
    evaluation = evaluate(loaded, scenario=scenario, sets=sets)
    return levers_result(evaluation, evaluation.period_index(period), options)


def levers_result(
    ev: Evaluation,
    index: int,
    options: LeverOptions,
) -> LeversResult:
    """The `nsm rank-levers` result: every leaf stepped alone."""
    tree = ev.tree
    period = ev.periods[index]
    base = {node_id: float(np.asarray(ev.values[node_id])[..., index]) for node_id in tree.order}
    root_value = base[tree.root]
    changes: dict[str, list[Change]] = {}
    for change in ev.changes:
        changes.setdefault(change.node_id, []).append(change)
    rows, variants, wanted = _stepped_rows(ev, index, base, options)
    with np.errstate(all="ignore"):
        root_values, held = root_under(tree, base, variants, changes)
    if not math.isfinite(root_value):
        _no_root_value(tree, base, period, rows)
    else:
        for row, (value, new, step_at, bench_at) in zip(rows, wanted, strict=True):
            if math.isfinite(value):
                _fill(row, value, new, step_at, bench_at, root_values, held, root_value, tree,
                      changes, ev.scenario)
    shown = _ranked(rows, options.sort, options.top)
    return LeversResult(
        **tree.header(),
        root_value=json_number(root_value),
        period=period,
        **ev.what_if(),
        step=json_number(options.step),
        mode=POINTS if options.points else RELATIVE,
        sort=options.sort,
        top=options.top,
        total=len(rows),
        hidden=len(rows) - len(shown),
        levers=[Lever(**row) for row in shown],
        warnings=list(ev.warnings),
    )


def _stepped_rows(ev: Evaluation, index: int, base: Mapping[str, float], options: LeverOptions
                  ) -> tuple[list[dict[str, Any]], list[tuple[str, float]],
                             list[tuple[float, float, int | None, int | None]]]:
    """A row per leaf, the variants to push up the tree, and per row: (value, stepped value,
    its variant, the benchmark's variant)."""
    tree, period = ev.tree, ev.periods[index]
    parents: dict[str, int] = {}
    for node_id in tree.order:
        for kid in tree.children[node_id]:
            parents[kid] = parents.get(kid, 0) + 1
    rows: list[dict[str, Any]] = []
    variants: list[tuple[str, float]] = []
    wanted: list[tuple[float, float, int | None, int | None]] = []
    for leaf in tree.leaves:
        node = tree.nodes[leaf]
        value = base[leaf]
        by_points = options.points and node.is_rate
        series = ev.benchmarks.get(leaf)
        benchmark = float(np.asarray(series)[..., index]) if series is not None else math.nan
        row: dict[str, Any] = {
            "rank": None, "id": leaf, "name": node.name, "owner": node.owner, "unit": node.unit,
            "direction": node.direction, "shared": parents.get(leaf, 0) > 1,
            "step_kind": POINTS if by_points else RELATIVE,
            "value": json_number(value), "new_value": None, "delta": None, "delta_pct": None,
            "elasticity": None, "benchmark": json_number(benchmark), "potential": None,
            "clipped": False, "reason": None,
        }
        rows.append(row)
        if not math.isfinite(value):
            where = f" in {node.source}" if node.source is not None else ""
            row["reason"] = f"no data for {period}{where}"
            wanted.append((value, value, None, None))
            continue
        new, clipped = _clip(node, value, stepped_value(value, options.step, node.direction,
                                                        by_points))
        row.update(new_value=json_number(new), clipped=clipped is not None, reason=clipped)
        if new == value and clipped is None and options.step > 0:
            row["reason"] = "its value is 0: a relative step leaves it at 0"
        step_at = bench_at = None
        if new != value:
            step_at = len(variants)
            variants.append((leaf, new))
        if math.isfinite(benchmark) and benchmark != value:
            bench_at = len(variants)
            variants.append((leaf, benchmark))
        wanted.append((value, new, step_at, bench_at))
    return rows, variants, wanted


def _no_root_value(tree: CompiledTree, base: Mapping[str, float], period: str,
                   rows: list[dict[str, Any]]) -> None:
    """Every row says why nothing is ranked: the root has no value (and which leaves lack data)."""
    missing = [leaf for leaf in tree.leaves if not math.isfinite(base[leaf])]
    gaps = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    why = f" (no data for {gaps})" if missing else ""
    for row in rows:
        if row["reason"] is None or not row["reason"].startswith("no data"):
            row["reason"] = f"{tree.nodes[tree.root].name} has no value for {period}{why}"


def _ranked(rows: list[dict[str, Any]], sort: str, top: int | None) -> list[dict[str, Any]]:
    """Rows in order with their ranks; with `top`, the strongest and every row without a delta."""
    ordered = _sorted(rows, sort)
    ranked = [row for row in ordered if row[sort] is not None]
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position
    if top is None:
        return ordered
    # leaves without a delta stay listed: a data gap must not hide behind --top
    return ranked[:top] + [row for row in ordered if row["delta"] is None]


def _fill(row: dict[str, Any], value: float, new: float, step_at: int | None,
          bench_at: int | None, root_values: np.ndarray, held: dict[int, str],
          root_value: float, tree: CompiledTree, changes: Mapping[str, list[Change]],
          scenario: str | None) -> None:
    """Delta, elasticity and potential of one leaf from the propagated root values."""
    delta = 0.0 if step_at is None else float(root_values[step_at]) - root_value
    if step_at is not None and step_at in held:
        row["reason"] = held_reason(tree, held[step_at], changes, scenario)
    if not math.isfinite(delta):
        row["reason"] = "the root has no value when this leaf is stepped"
        return
    row["delta"] = json_number(delta)
    row["delta_pct"] = _ratio(delta, root_value)
    moved = (new - value) / value if value != 0 and new != value else math.nan
    if math.isfinite(moved) and root_value != 0:
        row["elasticity"] = json_number((delta / root_value) / moved, 6)
    if row["benchmark"] is not None:
        potential = 0.0 if bench_at is None else float(root_values[bench_at]) - root_value
        row["potential"] = json_number(potential)


def held_reason(tree: CompiledTree, node_id: str, changes: Mapping[str, list[Change]],
                scenario: str | None) -> str:
    """Why a leaf under a node that a change fixes at a value does not move the root."""
    setter = [c for c in changes[node_id] if c.kind == VALUE][-1]
    by = f"scenario {scenario}" if setter.span is not None and scenario else "a what-if change"
    return (f"no effect: '{tree.nodes[node_id].name}' ({node_id}) is fixed at {setter.text} "
            f"by {by}, so this leaf no longer moves the root")


def _sorted(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """By |sort value| (largest first, ties in tree order); rows without one last, in tree order."""
    keyed = list(enumerate(rows))
    keyed.sort(key=lambda item: (item[1][sort] is None,
                                 -_tie_key(item[1][sort]) if item[1][sort] is not None else 0.0,
                                 item[0]))
    return [row for _position, row in keyed]

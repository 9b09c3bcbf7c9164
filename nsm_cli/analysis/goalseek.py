"""`nsm goal-seek`: the value each lever alone must reach for the root to hit a target.

The root is treated as a function of one lever with everything else held at
the period's values (after the scenario and `--set` changes). A batched scan
over the lever's domain (one :func:`nsm_cli.evaluate.compute` pass) finds every
interval where root − target changes sign; Brent's method then solves each
bracket to machine precision. Several roots (a formula that is not monotonic)
give the one nearest the current value; none within the domain gives
`feasible: false` with the reason, and the value it would need outside the
domain when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation, evaluate
from nsm_cli.analysis.results import GoalLever, GoalSeekResult
from nsm_cli.data.load import LoadedTree
from nsm_cli.diagnostics import NsmError, RequestError, error
from nsm_cli.numbers import NumberError, json_number, percent, plain, read_value, value_text
from nsm_cli.tree.changes import VALUE, Change
from nsm_cli.tree.compile import CompiledTree
from nsm_cli.tree.parser import suggest

GRID = 401           # points of the scan across a bounded domain
DOUBLINGS = 64       # geometric steps outward along an unbounded side (x0 ± s·2^k)
MAX_ITERATIONS = 200
EPS = np.finfo(float).eps
# |root − target| accepted at a solution, relative to the target's size (poles are refused)
RESIDUAL = 1e-9


def parse_target(text: str) -> float:
    """`600000`, `600,000`, `¥600,000` or `80%` → a float (the one grammar); RequestError else."""
    try:
        return read_value(text)
    except NumberError as exc:
        reason = ("expected a number such as 600000, 600,000 or 80%" if exc.shapeless
                  or "finite" in str(exc) else str(exc))
        raise RequestError("target", text, reason) from None


# ---------------------------------------------------------------- root-finding


def brent(fn: Callable[[float], float], a: float, b: float, fa: float, fb: float,
          xtol: float = 0.0) -> float:
    """A root of fn in [a, b] where fa and fb differ in sign (see :func:`brent_steps`)."""
    return _drive(brent_steps(a, b, fa, fb, xtol), fn)


def brent_steps(a: float, b: float, fa: float, fb: float,
                xtol: float = 0.0) -> Generator[float, float, float]:
    """Brent's method (Brent 1973, as in zbrent) as a generator: it yields each x it needs
    f at and is sent f(x), so many searches can share one batched evaluation per step.

    Inverse quadratic interpolation or a secant step when they stay inside the
    bracket and shrink it fast enough, else bisection: never slower than
    bisection, superlinear on smooth functions, exact in one step on lines.
    """
    if fa == 0:
        return a
    if fb == 0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("brent needs a bracket: f(a) and f(b) of opposite signs")
    c, fc = a, fa
    d = e = b - a
    for _ in range(MAX_ITERATIONS):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2 * EPS * abs(b) + xtol / 2
        m = (c - b) / 2
        if abs(m) <= tol or fb == 0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:
                p, q = 2 * m * s, 1 - s
            else:
                q, r = fa / fc, fb / fc
                p = s * (2 * m * q * (q - r) - (b - a) * (r - 1))
                q = (q - 1) * (r - 1) * (s - 1)
            if p > 0:
                q = -q
            else:
                p = -p
            if 2 * p < min(3 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, m)
        fb = yield b
        if not math.isfinite(fb):
            raise ValueError("the function has no value inside the bracket")
    return b


def scan_points(current: float, low: float, high: float) -> np.ndarray:
    """Where to look for sign changes: an even grid across bounded stretches, and
    current ± s·2^k (k from −20 up) outward, fine near the current value and far on open sides."""
    bounded = math.isfinite(low) and math.isfinite(high)
    scale = abs(current) or (high - low if bounded and high > low else 1.0)
    steps = scale * 2.0 ** np.arange(-20, DOUBLINGS)
    parts = [np.array([current]), current + steps, current - steps]
    if bounded:
        parts.append(np.linspace(low, high, GRID))
    elif math.isfinite(low):
        parts.append(np.linspace(low, max(current, low), GRID))
    elif math.isfinite(high):
        parts.append(np.linspace(min(current, high), high, GRID))
    grid = np.unique(np.concatenate(parts))
    return grid[(grid >= low) & (grid <= high) & np.isfinite(grid)]


def solve(fn_many: Callable[[np.ndarray], np.ndarray], target: float, current: float,
          low: float, high: float) -> dict[str, Any]:
    """Every value in [low, high] where fn hits target (scan + Brent); the nearest to current.

    Returns `roots` (sorted by distance from current) and the scan's reach:
    the lowest and highest finite values of fn seen, with where they were.
    """
    with np.errstate(all="ignore"):
        return _drive(solve_steps(target, current, low, high), fn_many)


def solve_steps(target: float, current: float, low: float, high: float,
                reach_always: bool = True) -> Generator[np.ndarray, np.ndarray, dict[str, Any]]:
    """:func:`solve` as a generator: yields arrays of lever values, is sent the root's values.

    Every Brent search and golden-section refinement of the lever runs in lockstep, so one
    step of all of them is one batched evaluation. Without `reach_always`, the reach is
    left out (None) when a root was found: only a lever that fails reports it.
    """
    grid = scan_points(current, low, high)
    at_grid = yield grid
    with np.errstate(all="ignore"):
        gaps = at_grid - target
    finite = np.isfinite(gaps)
    tolerance = RESIDUAL * max(1.0, abs(target))

    def gap(root: float) -> float:
        return float(root) - target

    roots: list[float] = [float(x) for x in grid[finite & (gaps == 0)]]
    fa, fb = gaps[:-1], gaps[1:]
    with np.errstate(invalid="ignore"):
        bracketed = (finite[:-1] & finite[1:] & (fa != 0) & (fb != 0)
                     & ((fa > 0) != (fb > 0)))
    searches = []
    for i in np.flatnonzero(bracketed).tolist():
        a, b = float(grid[i]), float(grid[i + 1])
        searches.append((brent_steps(a, b, float(gaps[i]), float(gaps[i + 1]),
                                     xtol=4 * EPS * max(abs(a), abs(b))), gap))
    found = [x for x in (yield from _lockstep(searches)) if not isinstance(x, ValueError)]
    if found:
        checks = yield np.array(found, dtype=np.float64)
        # a sign change across a pole is no root
        roots += [x for x, root in zip(found, checks, strict=True)
                  if abs(gap(root)) <= tolerance]
    roots = sorted(set(roots), key=lambda x: (abs(x - current), x))
    reach: dict[str, Any] = {"min": None, "max": None, "at_min": None, "at_max": None}
    if finite.any() and (reach_always or not roots):
        values = np.where(finite, gaps + target, np.nan)
        refinements = []
        for pick, sign in ((np.nanargmin, 1.0), (np.nanargmax, -1.0)):
            i = int(pick(values))
            left, right = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
            refinements.append((_refine_steps(float(left), float(right), float(grid[i]),
                                              sign * float(values[i])),
                                lambda root, sign=sign: sign * (gap(root) + target)))
        done = yield from _lockstep(refinements)
        for key, sign, (at, best) in zip(("min", "max"), (1.0, -1.0), done, strict=True):
            reach[key], reach[f"at_{key}"] = sign * best, at
    return {"roots": roots, "reach": reach}


def _drive(steps: Generator[Any, Any, Any], fn: Callable[[Any], Any]) -> Any:
    """Run a search generator to its end, answering each request with fn."""
    try:
        request = next(steps)
        while True:
            request = steps.send(fn(request))
    except StopIteration as stop:
        return stop.value


def _lockstep(searches: list[tuple[Generator[float, float, Any], Callable[[float], float]]],
              ) -> Generator[np.ndarray, np.ndarray, list[Any]]:
    """Scalar searches side by side: each step yields the x of every search still going and
    sends each its own f(x) (`convert` turns the root's value into what the search wants).
    A search that raises ValueError ends with that error as its result."""
    results: list[Any] = [None] * len(searches)
    pending: dict[int, float] = {}

    def advance(k: int, answer: float | None) -> None:
        steps = searches[k][0]
        try:
            pending[k] = next(steps) if answer is None else steps.send(answer)
        except StopIteration as stop:
            results[k] = stop.value
            pending.pop(k, None)
        except ValueError as exc:
            results[k] = exc
            pending.pop(k, None)

    for k in range(len(searches)):
        advance(k, None)
    while pending:
        keys = list(pending)
        roots = yield np.array([pending[k] for k in keys], dtype=np.float64)
        for k, root in zip(keys, roots, strict=True):
            advance(k, searches[k][1](root))
    return results


def _refine_steps(low: float, high: float, at: float,
                  best: float) -> Generator[float, float, tuple[float, float]]:
    """Golden-section search for the least fn in [low, high] (around a scanned extreme), so a
    reason reports the true reach ("even at 5 … only 25") rather than the nearest grid point."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc = yield c
    fd = yield d
    for _ in range(MAX_ITERATIONS):
        if not (math.isfinite(fc) and math.isfinite(fd)) or b - a <= 4 * EPS * max(abs(a),
                                                                                    abs(b), 1e-300):
            break
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = yield c
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = yield d
    for x, value in ((c, fc), (d, fd)):
        if math.isfinite(value) and value < best:
            at, best = x, value
    return at, best


# ---------------------------------------------------------------- the levers


def _root_many(tree: CompiledTree, current: Mapping[str, float],
               changes: Mapping[str, Sequence[Change]], groups: Sequence[tuple[str, int, int]],
               xs: np.ndarray) -> np.ndarray:
    """The root when lever `node` takes `xs[start:stop]`, for every (node, start, stop) group,
    the rest of the tree at its current values: one pass, each node computing only the
    variants that pass through it (as rank-levers does), so a step costs about one eval.

    A variant's own lever takes the value as it is (its changes are replaced, as a scenario
    would); the lever's ancestors apply their changes, and a `VALUE` change on one of them
    holds the root where it is.
    """
    own = {node: np.arange(start, stop, dtype=np.intp) for node, start, stop in groups
           if stop > start}
    moved: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # node → (variant indices, values)
    inside = set(tree.order)
    for node_id in tree.topo:
        if node_id not in inside:
            continue
        carried = {kid: moved[kid] for kid in tree.children[node_id] if kid in moved}
        parts = []
        if carried:
            through = _through(tree, node_id, carried, current, changes)
            if through is not None:
                parts.append(through)
        if node_id in own:
            parts.append((own[node_id], xs[own[node_id]]))
        if len(parts) == 1:
            moved[node_id] = parts[0]
        elif parts:
            index = np.concatenate([i for i, _ in parts])
            order = np.argsort(index, kind="stable")
            moved[node_id] = (index[order], np.concatenate([v for _, v in parts])[order])
    result = np.full(len(xs), current[tree.root], dtype=np.float64)
    if tree.root in moved:
        index, value = moved[tree.root]
        result[index] = value
    return result


def _through(tree: CompiledTree, node_id: str, carried: Mapping[str, tuple[np.ndarray, np.ndarray]],
             current: Mapping[str, float], changes: Mapping[str, Sequence[Change]],
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The node's formula over the variants its children carry; None when a change fixes it."""
    parts = list(carried.values())
    index = parts[0][0]
    if len(parts) > 1:
        joined = np.concatenate([i for i, _ in parts])
        # levers in tree order make the children's ranges ascending; shared drivers may not
        index = joined if bool(np.all(joined[1:] > joined[:-1])) else np.unique(joined)
    size = len(index)
    env: dict[str, Any] = {}
    for kid in tree.children[node_id]:
        got = carried.get(kid)
        if got is None:
            env[kid] = np.float64(current[kid])
        elif len(got[0]) == size:
            env[kid] = got[1]
        else:
            column = np.full(size, current[kid], dtype=np.float64)
            column[np.searchsorted(index, got[0])] = got[1]
            env[kid] = column
    value = np.broadcast_to(tree.formulas[node_id].evaluate(env), (size,))
    for change in changes.get(node_id, ()):
        if change.kind == VALUE:
            return None
        value = change.apply(value)
    return index, value


def _solve_all(tree: CompiledTree, current: Mapping[str, float],
               changes: Mapping[str, Sequence[Change]],
               searches: dict[str, Generator[np.ndarray, np.ndarray, Any]]) -> dict[str, Any]:
    """Run every lever's search side by side: one batched root evaluation per step."""
    results: dict[str, Any] = {}
    pending: dict[str, np.ndarray] = {}

    def advance(lever: str, answer: np.ndarray | None) -> None:
        try:
            steps = searches[lever]
            pending[lever] = np.asarray(next(steps) if answer is None else steps.send(answer),
                                        dtype=np.float64)
        except StopIteration as stop:
            results[lever] = stop.value
            pending.pop(lever, None)

    for lever in searches:
        advance(lever, None)
    while pending:
        groups, start = [], 0
        for lever, xs in pending.items():
            groups.append((lever, start, start + len(xs)))
            start += len(xs)
        with np.errstate(all="ignore"):
            roots = _root_many(tree, current, changes, groups,
                               np.concatenate(list(pending.values())))
        for lever, begin, stop in groups:
            advance(lever, roots[begin:stop])
    return results


def check_levers(tree: CompiledTree, levers: Iterable[str]) -> list[str]:
    """The levers asked for (every leaf by default), each a node of the tree other than the root."""
    chosen = list(dict.fromkeys(levers))
    if not chosen:
        return list(tree.leaves)
    inside = set(tree.order)
    for lever in chosen:
        if lever == tree.root:
            raise RequestError("levers", lever, "that is the root; its required value is the "
                               "target itself: choose a node below it")
        if lever not in inside:
            raise RequestError("levers", lever, "no such node in the tree"
                               f"{suggest(lever, [n for n in tree.order if n != tree.root])}")
    return chosen


def goal_seek(
    loaded: LoadedTree,
    target: float | None = None,
    levers: Iterable[str] = (),
    period: str | None = None,
    scenario: str | None = None,
    sets: Iterable[Change] = (),
) -> GoalSeekResult:
    """Evaluate the tree (under the scenario and `--set`) and solve every lever for the target."""
    evaluation = evaluate(loaded, scenario=scenario, sets=sets)
    return goal_seek_result(evaluation, evaluation.period_index(period), target, levers)


def _level(value: float, unit: str | None) -> str:
    """A lever's value in a reason: `100%`, `7,625 人`, `1.2762 次`."""
    if unit == "%":
        return percent(value)
    text = plain(value, decimals=None if abs(value) >= 100 or value == round(value) else 4)
    return f"{text.rstrip('0').rstrip('.') if '.' in text else text} {unit or ''}".rstrip()


def goal_seek_result(ev: Evaluation, index: int, target: float | None = None,
                     levers: Iterable[str] = ()) -> GoalSeekResult:
    """The `nsm goal-seek` result."""
    tree = ev.tree
    root = tree.nodes[tree.root]
    period = ev.periods[index]
    source = "option"
    if target is None:
        if root.target is None:
            raise RequestError("target", None, f"the root '{tree.root}' has no target in "
                               f"{tree.path}", advice=": give {target} VALUE")
        target, source = float(root.target), "file"
    if not math.isfinite(target):
        raise RequestError("target", target, "give a finite number")
    chosen = check_levers(tree, levers)
    base = {node_id: float(np.asarray(ev.inputs[node_id])[..., index])
            for node_id in tree.topo if not tree.children[node_id]}
    current = {node_id: float(np.asarray(ev.values[node_id])[..., index])
               for node_id in tree.order}
    root_value = current[tree.root]
    if not math.isfinite(root_value):
        raise _missing_root(tree, base, period)
    changes: dict[str, list[Change]] = {}
    for change in ev.changes:
        changes.setdefault(change.node_id, []).append(change)
    searches = {lever: _lever_steps(tree, lever, current[lever], target, root_value, changes)
                for lever in chosen}
    done = _solve_all(tree, current, changes, searches)
    rows = [done[lever] for lever in chosen]
    return GoalSeekResult(
        **tree.header(),
        root_value=json_number(root_value),
        target=json_number(target),
        target_source=source,
        gap=json_number(target - root_value),
        gap_pct=None if root_value == 0 else json_number((target - root_value)
                                                         / abs(root_value), 6),
        period=period,
        **ev.what_if(),
        levers=[GoalLever(**row) for row in rows],
        warnings=list(ev.warnings),
    )


def _missing_root(tree: CompiledTree, base: Mapping[str, float], period: str) -> NsmError:
    found = []
    for leaf in tree.leaves:
        if not math.isfinite(base[leaf]):
            node = tree.nodes[leaf]
            where = f" in {node.source}" if node.source is not None else ""
            span = node.source.span if node.source is not None else node.span
            found.append(error("E310", f"'{leaf}' has no data for {period}{where}: goal-seek "
                               "needs the root's value; fill the data or choose another "
                               "period", span))
    if not found:
        root = tree.nodes[tree.root]
        found.append(error("E311", f"'{tree.root}' has no value for {period} (a division by "
                           "zero or log/sqrt of a negative number): goal-seek needs it",
                           root.formula_span()))
    return NsmError(found)


def _lever_steps(tree: CompiledTree, lever: str, value: float, target: float,
                 root_value: float, changes: Mapping[str, list[Change]],
                 ) -> Generator[np.ndarray, np.ndarray, dict[str, Any]]:
    """One lever's row; a generator that yields the lever values whose root it needs."""
    node = tree.nodes[lever]
    low, high = node.value_domain()
    root_unit = tree.nodes[tree.root].unit
    row: dict[str, Any] = {
        "id": lever, "name": node.name, "unit": node.unit, "owner": node.owner,
        "leaf": not tree.children[lever],
        "value": json_number(value), "required": None, "change": None, "change_pct": None,
        "feasible": False, "reason": None, "would_need": None, "solutions": 0,
        "domain": [json_number(low), json_number(high)],
    }
    if abs(root_value - target) <= RESIDUAL * max(1.0, abs(target)):
        row.update(required=json_number(value), change=0.0, change_pct=0.0, feasible=True,
                   solutions=1, reason=None)
        return row
    found = yield from solve_steps(target, value, low, high, reach_always=False)
    roots, reach = found["roots"], found["reach"]
    if roots:
        required = roots[0]
        row.update(required=json_number(required), change=json_number(required - value),
                   change_pct=None if value == 0 else json_number((required - value)
                                                                  / abs(value), 6),
                   feasible=True, solutions=len(roots))
        if len(roots) > 1:
            others = ", ".join(_level(x, node.unit) for x in roots[1:4])
            row["reason"] = (f"{len(roots)} values reach the target; the nearest to the current "
                             f"value is shown (also {others})")
        return row
    holder = _held_by(tree, lever, changes)
    if reach["min"] is None:
        row["reason"] = "the root has no value anywhere in the lever's range"
    elif reach["max"] - reach["min"] <= RESIDUAL * max(1.0, abs(root_value)):
        row["reason"] = (f"the root does not move with {lever}"
                         + (f": '{holder}' is fixed by the scenario or a what-if "
                            "change" if holder else ""))
    elif target > reach["max"]:
        row["reason"] = (f"even at {_level(reach['at_max'], node.unit)} the root reaches only "
                         f"{value_text(reach['max'], root_unit)}")
    else:
        row["reason"] = (f"even at {_level(reach['at_min'], node.unit)} the root stays at "
                         f"{value_text(reach['min'], root_unit)}")
    if math.isfinite(low) or math.isfinite(high):
        beyond = (yield from solve_steps(target, value, -math.inf, math.inf,
                                         reach_always=False))["roots"]
        outside = [x for x in beyond if not low <= x <= high]
        if outside:
            need = outside[0]
            row["would_need"] = json_number(need)
            side = (f"above {_level(high, node.unit)}, the top" if need > high
                    else f"below {_level(low, node.unit)}, the bottom")
            row["reason"] += f"; it would need {_level(need, node.unit)} ({side} of its range)"
    return row


def _held_by(tree: CompiledTree, lever: str, changes: Mapping[str, list[Change]]) -> str | None:
    """The ancestor whose value a scenario or --set fixes, cutting the lever off the root."""
    if not any(change.kind == VALUE for found in changes.values() for change in found):
        return None
    for node_id in tree.ancestors(lever):
        if any(change.kind == VALUE for change in changes.get(node_id, ())):
            return node_id
    return None

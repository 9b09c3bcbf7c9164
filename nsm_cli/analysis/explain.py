"""`nsm explain`: which leaves moved the root between two periods, in contributions that add up.

The tree is one function of its leaves. A leaf that changed between the two
periods is a player that brings either its old or its new value; the Shapley
value of each player is its average marginal effect over every order in which
the players could have changed. The contributions sum to the root's change by
construction and, unlike chain substitution, do not depend on the order in
which the formula lists its terms.

Exact Shapley evaluates every coalition (2^n variants of the leaves) in one
batched :func:`nsm_cli.evaluate.compute` pass. Beyond `max_exact` changed
leaves it samples permutations in antithetic pairs (a permutation and its
reverse); each permutation's marginal effects telescope to the root's change,
so the estimate still adds up exactly, and its standard error is reported.

`lmdi` (log-mean Divisia index) is offered for trees that are products and
quotients (with constant powers) of positive factors.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation, compute, evaluate
from nsm_cli.analysis.results import ABSENT, Contribution, ExplainNode, ExplainResult
from nsm_cli.data.load import LoadedTree
from nsm_cli.diagnostics import (
    Diagnostic,
    NsmError,
    RequestError,
    error,
    require_choice,
    warning,
)
from nsm_cli.numbers import json_number
from nsm_cli.tree.compile import CompiledTree
from nsm_cli.tree.formula import formula_syntax

METHODS = ("shapley", "lmdi")
DEFAULT_MAX_EXACT = 16
MAX_EXACT_LIMIT = 20      # 2^20 variants of every node's value: about 8 MB per node
DEFAULT_SAMPLES = 1000    # antithetic pairs of permutations when sampling
MAX_SAMPLES = 1_000_000
CHUNK_BYTES = 64 << 20    # values alive at once in one batched pass (chunks of variants)
MAX_WORK = 400_000_000    # formula evaluations × variants for sampling (about 5–10 s)


@dataclass(frozen=True)
class ExplainOptions:
    """How to attribute: checked once, when made (before any tree is loaded)."""

    method: str = "shapley"
    max_exact: int = DEFAULT_MAX_EXACT
    samples: int = DEFAULT_SAMPLES
    seed: int = 0

    def __post_init__(self) -> None:
        require_choice("method", self.method, METHODS)
        if not 0 <= self.max_exact <= MAX_EXACT_LIMIT:
            raise RequestError("max_exact", self.max_exact,
                               f"give a number from 0 to {MAX_EXACT_LIMIT} "
                               "(exact Shapley evaluates 2^n variants of the tree)")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise RequestError("samples", self.samples,
                               f"give a number from 1 to {MAX_SAMPLES:,}")


def explain(
    loaded: LoadedTree,
    from_period: str | None = None,
    to_period: str | None = None,
    method: str = "shapley",
    max_exact: int = DEFAULT_MAX_EXACT,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> ExplainResult:
    """Evaluate the tree and attribute the root's change between two periods to its leaves."""
    options = ExplainOptions(method, max_exact, samples, seed)
    evaluation = evaluate(loaded)
    start, end = period_pair(evaluation, from_period, to_period)
    return explain_result(evaluation, start, end, options)


def period_pair(ev: Evaluation, from_period: str | None, to_period: str | None) -> tuple[int, int]:
    """Indices of the two periods: the ones asked for, else the last two of the data."""
    if len(ev.periods) < 2 and (from_period is None or to_period is None):
        raise RequestError(None, None, f"the data has only one period ({', '.join(ev.periods)})"
                           ": explain compares two",
                           advice=", give {from_period} and {to_period}")
    indices = []
    for option, period, default in (("from_period", from_period, len(ev.periods) - 2),
                                     ("to_period", to_period, len(ev.periods) - 1)):
        if period is None:
            indices.append(default)
            continue
        indices.append(ev.period_index(period, option))
    return indices[0], indices[1]


def _leaf_ids(tree: CompiledTree) -> list[str]:
    """Every node compute() takes as an input: leaves of the tree and of the guardrails."""
    return [node_id for node_id in tree.topo if not tree.children[node_id]]


def _at(series: Mapping[str, np.ndarray], node_id: str, index: int) -> float:
    return float(np.asarray(series[node_id])[..., index])


def _missing_data(ev: Evaluation, start: int, end: int) -> None:
    """Refuse (exit 1) when a leaf of the tree has no value in either period: nothing to split."""
    tree = ev.tree
    found = []
    for leaf in tree.leaves:
        node = tree.nodes[leaf]
        gaps = [ev.periods[i] for i in dict.fromkeys((start, end))
                if not math.isfinite(_at(ev.inputs, leaf, i))]
        if gaps:
            where = f" in {node.source}" if node.source is not None else ""
            span = node.source.span if node.source is not None else node.span
            found.append(error("E310", f"'{leaf}' has no data for {' and '.join(gaps)}{where}: "
                               "explain needs every leaf in both periods; fill the data or "
                               "choose other periods", span))
    if found:
        raise NsmError(found)


def _no_value(tree: CompiledTree, values: Mapping[str, np.ndarray], what: str) -> NsmError:
    """E311 at the first formula (children first) that gives no finite value for `what`."""
    inside = set(tree.order)
    for node_id in tree.topo:
        if node_id not in tree.formulas or node_id not in inside:
            continue
        if not np.all(np.isfinite(values[node_id])):
            node = tree.nodes[node_id]
            formula = tree.formulas[node_id].text.strip()
            return NsmError([error("E311", f"formula of '{node_id}' ({formula}) gives no finite "
                                   f"value for {what}: a division by zero, an overflow, or "
                                   "log/sqrt of a negative number", node.formula_span())])
    root = tree.nodes[tree.root]
    return NsmError([error("E311", f"'{tree.root}' has no value for {what}", root.span)])


# ---------------------------------------------------------------- Shapley


def _root_values(tree: CompiledTree, base: Mapping[str, float],
                 varied: Callable[[str, int, int], np.ndarray | None], size: int,
                 what: str) -> np.ndarray:
    """The root under `size` variants of the leaves, in chunks that bound the memory.

    `varied(leaf, start, stop)` gives a player's values in variants start..stop (None for
    a leaf that stays at `base`). Each chunk is one batched pass that keeps a node's
    variants only until its last parent has used them, so memory is about
    chunk × (the most values alive at once), never every node's variants.
    """
    plan = _plan(tree)
    chunk = max(1, min(size, CHUNK_BYTES // (8 * (plan.peak + 1))))
    root = np.empty(size, dtype=np.float64)
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        with np.errstate(all="ignore"):
            root[start:stop] = _root_chunk(tree, plan, base, varied, start, stop)
        if not np.all(np.isfinite(root[start:stop])):
            inputs: dict[str, Any] = {leaf: np.float64(value) for leaf, value in base.items()}
            for leaf in base:
                found = varied(leaf, start, stop)
                if found is not None:
                    inputs[leaf] = found
            with np.errstate(all="ignore"):
                raise _no_value(tree, compute(tree, inputs), what)
    return root


@dataclass(frozen=True)
class _Plan:
    """What the root needs (children first) and when each value can be dropped."""

    needed: list[str]          # the root's subtree in evaluation order
    users: dict[str, int]      # how many parents in `needed` read each node
    peak: int                  # the most values alive at once during one pass


def _plan(tree: CompiledTree) -> _Plan:
    inside = set(tree.order)
    needed = [node_id for node_id in tree.topo if node_id in inside]
    users = dict.fromkeys(needed, 0)
    for node_id in needed:
        for kid in tree.children[node_id]:
            users[kid] += 1
    left, alive, peak = dict(users), 0, 1
    for node_id in needed:
        alive += 1
        peak = max(peak, alive)
        for kid in tree.children[node_id]:
            left[kid] -= 1
            if left[kid] == 0:
                alive -= 1
    return _Plan(needed, users, peak)


def _root_chunk(tree: CompiledTree, plan: _Plan, base: Mapping[str, float],
                varied: Callable[[str, int, int], np.ndarray | None],
                start: int, stop: int) -> np.ndarray:
    """The root for variants start..stop: children first, each value freed after its last use."""
    values: dict[str, Any] = {}
    left = dict(plan.users)
    formulas, children = tree.formulas, tree.children
    for node_id in plan.needed:
        kids = children[node_id]
        if kids:
            values[node_id] = formulas[node_id].evaluate({kid: values[kid] for kid in kids})
            for kid in kids:
                left[kid] -= 1
                if left[kid] == 0:
                    del values[kid]
        else:
            found = varied(node_id, start, stop)
            values[node_id] = np.float64(base[node_id]) if found is None else found
    return np.broadcast_to(np.asarray(values[tree.root], dtype=np.float64), (stop - start,))


def shapley_exact(tree: CompiledTree, base: Mapping[str, float], start: Mapping[str, float],
                  end: Mapping[str, float], players: list[str]) -> np.ndarray:
    """Exact Shapley values of `players` (leaves that moved from `start` to `end`)."""
    n = len(players)
    if n == 0:
        return np.zeros(0)
    masks = np.arange(1 << n, dtype=np.int64)
    bits = {leaf: bit for bit, leaf in enumerate(players)}

    def varied(leaf: str, first: int, last: int) -> np.ndarray | None:
        if leaf not in bits:
            return None
        on = ((masks[first:last] >> bits[leaf]) & 1).astype(bool)
        return np.where(on, end[leaf], start[leaf])

    value = _root_values(tree, base, varied, 1 << n, "a mix of the two periods' leaf values")
    sizes = np.bitwise_count(masks.astype(np.uint64)).astype(np.int64)
    # weight of a coalition of s players joined by one more: s! (n-1-s)! / n!
    weights = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)])
    phi = np.empty(n)
    for bit in range(n):
        flag = 1 << bit
        without = masks[(masks & flag) == 0]
        phi[bit] = float(np.sum(weights[sizes[without]] * (value[without | flag] - value[without])))
    return phi


def shapley_sampled(tree: CompiledTree, base: Mapping[str, float], start: Mapping[str, float],
                    end: Mapping[str, float], players: list[str], pairs: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values estimated from `pairs` antithetic pairs of permutations, and their SE.

    Each permutation walks the players in its order from all-old to all-new, so
    its marginal effects telescope to the root's change: every estimate adds up.
    Permutations are evaluated a block of pairs at a time (a permutation and its
    reverse together), so memory does not grow with pairs × players × nodes.
    """
    n = len(players)
    rng = np.random.default_rng(seed)
    forward = np.argsort(rng.random((pairs, n)), axis=1)
    paired = np.empty((pairs, n))
    block = max(1, min(pairs, CHUNK_BYTES // (8 * 2 * (n + 1) * 8)))
    for first in range(0, pairs, block):
        last = min(pairs, first + block)
        paired[first:last] = _paired_block(tree, base, start, end, players,
                                           forward[first:last])
    phi = paired.mean(axis=0)
    spread = paired.std(axis=0, ddof=1) if pairs > 1 else np.full(n, np.nan)
    return phi, spread / math.sqrt(pairs)


def _paired_block(tree: CompiledTree, base: Mapping[str, float], start: Mapping[str, float],
                  end: Mapping[str, float], players: list[str],
                  forward: np.ndarray) -> np.ndarray:
    """Each pair's mean marginal effect per player: a permutation and its reverse."""
    pairs, n = forward.shape
    orders = np.concatenate([forward, forward[:, ::-1]])          # (2m, n): player at position
    count = len(orders)
    rank = np.empty_like(orders)
    rank[np.arange(count)[:, None], orders] = np.arange(n)          # position of each player
    column = {leaf: player for player, leaf in enumerate(players)}
    where: dict[str, Any] = {}   # the chunk's variants as (permutation, step), made once

    def varied(leaf: str, first: int, last: int) -> np.ndarray | None:
        if leaf not in column:
            return None
        if where.get("span") != (first, last):
            index = np.arange(first, last)
            where.update(span=(first, last), perm=index // (n + 1), step=index % (n + 1))
        on = rank[where["perm"], column[leaf]] < where["step"]
        return np.where(on, end[leaf], start[leaf])

    value = _root_values(tree, base, varied, count * (n + 1),
                         "a mix of the two periods' leaf values").reshape(count, n + 1)
    step_effect = np.diff(value, axis=1)                           # effect of the k-th mover
    marginal = np.take_along_axis(step_effect, rank, axis=1)       # (2m, n) by player
    return (marginal[:pairs] + marginal[pairs:]) / 2.0


# ---------------------------------------------------------------- LMDI


def log_mean(a: float, b: float) -> float:
    """L(a, b) = (a − b) / (ln a − ln b), with L(a, a) = a, for a, b > 0."""
    if a == b:
        return a
    return (a - b) / math.log1p((a - b) / b)


def _factors(expr: ast.expr, formula: str, node_id: str) -> dict[str, float]:
    """A formula as exponents of its names (c · Π x^a), or RequestError when it is not one."""

    def refuse(what: str) -> RequestError:
        return RequestError("method", "lmdi", f"'{node_id}' = {formula.strip()} {what}; lmdi "
                            "needs products and quotients of positive factors",
                            advice=": use {method} shapley")

    if isinstance(expr, ast.Name):
        return {expr.id: 1.0}
    if isinstance(expr, ast.Constant):
        if float(expr.value) <= 0:
            raise refuse("has a factor that is not positive")
        return {}
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.UAdd):
        return _factors(expr.operand, formula, node_id)
    if isinstance(expr, ast.UnaryOp):
        raise refuse("changes a sign")
    if isinstance(expr, ast.BinOp):
        if isinstance(expr.op, (ast.Add, ast.Sub)):
            raise refuse("is a sum" if isinstance(expr.op, ast.Add) else "is a difference")
        left = _factors(expr.left, formula, node_id)
        if isinstance(expr.op, ast.Pow):
            if not isinstance(expr.right, ast.Constant):
                raise refuse("has a power whose exponent is not a number")
            return {name: a * float(expr.right.value) for name, a in left.items()}
        right = _factors(expr.right, formula, node_id)
        sign = 1.0 if isinstance(expr.op, ast.Mult) else -1.0
        for name, a in right.items():
            left[name] = left.get(name, 0.0) + sign * a
        return left
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id == "sqrt"):
        return {name: a / 2 for name, a in _factors(expr.args[0], formula, node_id).items()}
    name = expr.func.id if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) else ""
    raise refuse(f"uses {name}()" if name else "is not a product")


def leaf_exponents(tree: CompiledTree) -> dict[str, float]:
    """The root as c · Π leaf^a: each leaf's exponent a, composed down the tree."""
    memo: dict[str, dict[str, float]] = {}

    def down(node_id: str) -> dict[str, float]:
        if node_id in memo:
            return memo[node_id]
        if not tree.children[node_id]:
            memo[node_id] = {node_id: 1.0}
            return memo[node_id]
        text = tree.formulas[node_id].text
        expr, _ = formula_syntax(text)
        found: dict[str, float] = {}
        for kid, a in _factors(expr, text, node_id).items():
            for leaf, b in down(kid).items():
                found[leaf] = found.get(leaf, 0.0) + a * b
        memo[node_id] = found
        return found

    return down(tree.root)


def lmdi(tree: CompiledTree, start: Mapping[str, float], end: Mapping[str, float],
         y0: float, y1: float, labels: tuple[str, str]) -> dict[str, float]:
    """LMDI-I contributions L(y1, y0) · a_i · ln(x_i1 / x_i0), with the analytical zero limits.

    A factor that is 0 in one period takes the whole change (the limit as it
    tends to 0); several factors at 0 in the same period have no unique limit.
    """
    exponents = leaf_exponents(tree)
    used = {leaf: a for leaf, a in exponents.items() if a != 0}
    for leaf in used:
        for label, value in zip(labels, (start[leaf], end[leaf]), strict=True):
            if value < 0:
                raise RequestError("method", "lmdi", f"'{leaf}' is {value:g} in {label}: lmdi "
                                   "needs positive factors", advice="; use {method} shapley")
    result = dict.fromkeys(exponents, 0.0)
    if y0 == 0 and y1 == 0:
        return result
    for label, period_value, values in ((labels[0], y0, start), (labels[1], y1, end)):
        if period_value != 0:
            continue
        zeros = [leaf for leaf in used if values[leaf] == 0]
        if len(zeros) != 1 or used[zeros[0]] < 0:
            raise RequestError("method", "lmdi", f"{', '.join(zeros) or 'the root'} at 0 in "
                               f"{label}: the log-mean limit is not unique",
                               advice="; use {method} shapley")
        result[zeros[0]] = y1 - y0
        return result
    weight = log_mean(y1, y0)
    for leaf, a in used.items():
        if start[leaf] != end[leaf]:
            result[leaf] = weight * a * math.log(end[leaf] / start[leaf])
    return result


# ---------------------------------------------------------------- the result


def explain_result(
    ev: Evaluation,
    start_index: int,
    end_index: int,
    options: ExplainOptions,
) -> ExplainResult:
    """The `nsm explain` result."""
    tree = ev.tree
    labels = (ev.periods[start_index], ev.periods[end_index])
    _missing_data(ev, start_index, end_index)
    inputs = _leaf_ids(tree)
    start = {leaf: _at(ev.inputs, leaf, start_index) for leaf in inputs}
    end = {leaf: _at(ev.inputs, leaf, end_index) for leaf in inputs}
    y0, y1 = _at(ev.values, tree.root, start_index), _at(ev.values, tree.root, end_index)
    for label, value in zip(labels, (y0, y1), strict=True):
        if not math.isfinite(value):
            raise _no_value(tree, {k: np.asarray(v)[..., ev.periods.index(label)]
                                   for k, v in ev.values.items()}, label)
    change = y1 - y0
    players = [leaf for leaf in tree.leaves if start[leaf] != end[leaf]]
    contribution, errors, pairs, notes = _attribute(tree, start, end, (y0, y1), labels,
                                                    players, options)
    exact = errors is None

    def share(value: float) -> float | None:
        return None if change == 0 else json_number(value / change, 6)

    position = {leaf: i for i, leaf in enumerate(tree.leaves)}
    ordered = sorted(tree.leaves, key=lambda leaf: (-abs(contribution[leaf]), position[leaf]))
    rows = []
    for leaf in ordered:
        node = tree.nodes[leaf]
        rows.append(Contribution(
            id=leaf, name=node.name, unit=node.unit, owner=node.owner,
            from_value=json_number(start[leaf]), to_value=json_number(end[leaf]),
            leaf_change=json_number(end[leaf] - start[leaf]),
            contribution=json_number(contribution[leaf]), share=share(contribution[leaf]),
            error=ABSENT if errors is None else json_number(errors[leaf]),
        ))
    total = math.fsum(contribution.values())
    return ExplainResult(
        **tree.header(),
        from_=labels[0],
        to=labels[1],
        from_value=json_number(y0),
        to_value=json_number(y1),
        change=json_number(change),
        change_pct=None if y0 == 0 else json_number(change / abs(y0), 6),
        method=options.method,
        exact=exact,
        changed=len(players),
        samples=None if exact else 2 * pairs,
        seed=None if exact else options.seed,
        residual=json_number(total - change),
        contributions=rows,
        nodes=_nodes(ev, tree, start_index, end_index, contribution, share),
        warnings=list(ev.warnings) + notes,
    )


def _attribute(tree: CompiledTree, start: Mapping[str, float], end: Mapping[str, float],
               roots: tuple[float, float], labels: tuple[str, str], players: list[str],
               options: ExplainOptions) -> tuple[dict[str, float], dict[str, float] | None, int,
                                                 list[Diagnostic]]:
    """Each leaf's contribution, its standard error when sampled (None when exact), the
    permutation pairs sampled and a W202 when they are fewer than asked."""
    contribution = dict.fromkeys(tree.leaves, 0.0)
    if options.method == "lmdi":
        contribution.update(lmdi(tree, start, end, roots[0], roots[1], labels))
        return contribution, None, 0, []
    if len(players) <= options.max_exact:
        phi = shapley_exact(tree, start, start, end, players)
        contribution.update(zip(players, phi.tolist(), strict=True))
        return contribution, None, 0, []
    pairs, notes = _affordable(tree, len(players), options.samples)
    phi, se = shapley_sampled(tree, start, start, end, players, pairs, options.seed)
    contribution.update(zip(players, phi.tolist(), strict=True))
    errors = dict.fromkeys(tree.leaves, 0.0)
    errors.update(zip(players, se.tolist(), strict=True))
    return contribution, errors, pairs, notes


def _affordable(tree: CompiledTree, players: int, pairs: int) -> tuple[int, list[Diagnostic]]:
    """At most as many permutation pairs as finish in seconds: each pair evaluates the tree
    2 × (players + 1) times. Fewer than asked gives a W202 warning; the standard errors
    say how precise the estimate still is."""
    interior = sum(1 for node_id in tree.order if tree.children[node_id])
    per_pair = 2 * (players + 1) * max(1, interior)
    if 2 * per_pair > 2 * MAX_WORK:   # even the fewest pairs with an error estimate: minutes
        raise RequestError("method", "shapley", f"{players:,} leaves changed in a tree of "
                           f"{len(tree.order):,} nodes: even 2 sampled orders of them would take "
                           "minutes", advice="; use {method} lmdi for a tree of products, or "
                           "compare periods closer together")
    affordable = max(2, MAX_WORK // per_pair)
    if pairs <= affordable:
        return pairs, []
    root = tree.nodes[tree.root]
    note = warning("W202", f"{players:,} leaves changed in a tree of {len(tree.order):,} nodes:"
                   f" sampled {affordable:,} permutation pairs instead of {pairs:,} to finish "
                   "in seconds; read the ± errors (or explain a smaller tree or fewer periods "
                   "apart)", root.span)
    return affordable, [note]


def _nodes(ev: Evaluation, tree: CompiledTree, start_index: int, end_index: int,
           contribution: Mapping[str, float], share) -> list[ExplainNode]:
    """Every node of the tree with its two values and the sum of its leaves' contributions.

    A shared driver counts where it is defined, so siblings' sums add up to their
    parent's. Children are listed largest |sum| first (ties in the file's order).
    """
    below: dict[str, list[str]] = {}

    def leaves_under(node_id: str) -> list[str]:
        if node_id not in below:
            kids = [kid for kid in tree.children[node_id] if tree.parent.get(kid) == node_id]
            below[node_id] = ([node_id] if not tree.children[node_id]
                              else [leaf for kid in kids for leaf in leaves_under(kid)])
        return below[node_id]

    total = {node_id: math.fsum(contribution[leaf] for leaf in leaves_under(node_id))
             for node_id in tree.order}
    nodes = []
    for node_id in tree.order:
        node = tree.nodes[node_id]
        kids = tree.children[node_id]
        order = {kid: i for i, kid in enumerate(kids)}
        y0, y1 = _at(ev.values, node_id, start_index), _at(ev.values, node_id, end_index)
        nodes.append(ExplainNode(
            id=node_id, name=node.name, unit=node.unit,
            parent=tree.parent.get(node_id), depth=tree.depth.get(node_id, 0),
            children=sorted(kids, key=lambda kid: (-abs(total[kid]), order[kid])),
            shared=[c.id for c in node.children if c.is_ref],
            from_value=json_number(y0), to_value=json_number(y1), change=json_number(y1 - y0),
            contribution=json_number(total[node_id]), share=share(total[node_id]),
            leaf=not kids,
        ))
    return nodes

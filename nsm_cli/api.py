"""The library as plain calls, for notebooks and scripts: the CLI is one client of these.

Each call takes a tree (a path, or what :func:`load` returned, to load it once) and
returns the command's typed result (`nsm_cli.analysis.results`): read its fields, or
`.to_json()` for exactly what `nsm COMMAND --format json` prints. Numbers may be given
as numbers or as text in the one grammar (`"1%"`, `"+2pp"`, `"600,000"`).

Bad input raises :class:`~nsm_cli.diagnostics.NsmError` (a tree or data problem, with
`file:line:column` diagnostics) or :class:`~nsm_cli.diagnostics.RequestError` (a period,
node or option value the tree cannot answer, naming the parameter). Nothing is printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from nsm_cli.analysis.evaluate import Evaluation
    from nsm_cli.analysis.forecast import ForecastResult
    from nsm_cli.analysis.results import (
        AlertsResult,
        EvalResult,
        ExplainResult,
        GoalSeekResult,
        LeversResult,
    )
    from nsm_cli.data.load import LoadedTree
    from nsm_cli.tree.changes import Change

Tree = Union[str, "PathLike[str]", "LoadedTree"]
# {node id: change} (`{"visitors": "+10%", "rate": 0.5}`) or `["visitors=+10%"]` as on the CLI
Sets = Mapping[str, object] | Iterable[str] | None


def load(path: str | PathLike[str]) -> LoadedTree:
    """Load a tree file with its data, once, for several calls."""
    from nsm_cli.data.load import load_tree

    return load_tree(str(path))


def _loaded(tree: Tree) -> LoadedTree:
    from nsm_cli.data.load import LoadedTree

    return tree if isinstance(tree, LoadedTree) else load(tree)


def _changes(sets: Sets) -> list[Change]:
    from nsm_cli.diagnostics import RequestError
    from nsm_cli.numbers import NumberError, read_change
    from nsm_cli.tree.changes import Change, parse_assignment

    if sets is None:
        return []
    if isinstance(sets, str):   # one "id=change", not its characters
        sets = [sets]
    if not isinstance(sets, Mapping):
        return [parse_assignment(text) for text in sets]
    found = []
    for node_id, change in sets.items():
        try:
            kind, amount = read_change(change)
        except NumberError as exc:
            raise RequestError("set", f"{node_id}={change}", str(exc)) from None
        found.append(Change(node_id, kind, amount, str(change)))
    return found


def _label(period: object) -> str | None:
    """A period as its label: `2025` given as a number is the period "2025"."""
    return None if period is None else str(period)


def _evaluated(tree: Tree, scenario: str | None, sets: Sets) -> Evaluation:
    from nsm_cli.analysis.evaluate import evaluate as run

    return run(_loaded(tree), scenario=scenario, sets=_changes(sets))


def evaluate(tree: Tree, period: str | None = None, scenario: str | None = None,
             set: Sets = None, trend: int | None = None,  # noqa: A002 (the CLI's --set)
             compare: str | None = None) -> EvalResult:
    """Every node's value, benchmark, gap and target in one period (`nsm eval`)."""
    from nsm_cli.analysis.eval_result import eval_result

    ev = _evaluated(tree, scenario, set)
    other = None if compare is None else ev.period_index(_label(compare), "compare")
    return eval_result(ev, ev.period_index(_label(period)), trend=trend, compare=other)


def rank_levers(tree: Tree, period: str | None = None, step: str | float = "1%",
                points: bool = False, sort: str = "delta", top: int | None = None,
                scenario: str | None = None, set: Sets = None,  # noqa: A002
                ) -> LeversResult:
    """Each leaf stepped alone and the root's change, strongest first (`nsm rank-levers`).

    `step` is text (`"1%"`, `"2pp"`) or a fraction (0.01).
    """
    from nsm_cli.analysis.levers import LeverOptions, levers_result, parse_step

    by_points = False
    if isinstance(step, str):
        step, by_points = parse_step(step)
    options = LeverOptions(step=float(step), points=points or by_points, sort=sort, top=top)
    ev = _evaluated(tree, scenario, set)
    return levers_result(ev, ev.period_index(_label(period)), options)


def explain(tree: Tree, from_period: str | None = None, to_period: str | None = None,
            method: str = "shapley", max_exact: int = 16, samples: int = 1000,
            seed: int = 0) -> ExplainResult:
    """Each leaf's contribution to the root's change between two periods (`nsm explain`)."""
    from nsm_cli.analysis.explain import explain as run

    return run(_loaded(tree), from_period=_label(from_period), to_period=_label(to_period),
               method=method, max_exact=max_exact, samples=samples, seed=seed)


def goal_seek(tree: Tree, target: str | float | None = None, levers: Iterable[str] = (),
              period: str | None = None, scenario: str | None = None,
              set: Sets = None) -> GoalSeekResult:  # noqa: A002
    """The value each lever alone must reach for the root to hit `target` (`nsm goal-seek`).

    `target` is a number, text (`"600,000"`, `"80%"`), or None for the root's `target`.
    """
    from nsm_cli.analysis.goalseek import goal_seek_result, parse_target

    wanted = parse_target(target) if isinstance(target, str) else target
    if isinstance(levers, str):   # one lever, not its characters
        levers = (levers,)
    ev = _evaluated(tree, scenario, set)
    return goal_seek_result(ev, ev.period_index(_label(period)), wanted, levers)


def alerts(tree: Tree, period: str | None = None, scenario: str | None = None,
           set: Sets = None) -> AlertsResult:  # noqa: A002
    """The alert rules and bounds that fire in a period (`nsm alerts`)."""
    from nsm_cli.analysis.alerts import alerts_result

    ev = _evaluated(tree, scenario, set)
    return alerts_result(ev, ev.period_index(_label(period)))


def forecast(tree: Tree, horizon: int = 3, samples: int = 2000, seed: int | None = None,
             backtest: int | None = None) -> ForecastResult:
    """p10/p50/p90 of every node ahead and the chance the root meets its target
    (`nsm forecast`); `backtest` K hides the last K periods and forecasts them."""
    from nsm_cli.analysis.forecast import ForecastOptions
    from nsm_cli.analysis.forecast import forecast as run

    options = ForecastOptions(horizon=horizon, samples=samples, seed=seed, backtest=backtest)
    return run(_loaded(tree), options)


def by_segment(tree: Tree, by: str, where: Mapping[str, str] | None = None,
               period: str | None = None) -> dict:
    """The tree per value of a segment column (`nsm eval --by COL --format json`): the total
    over all (filtered) rows in `nodes`, every segment in `segments`, best root first."""
    from nsm_cli.analysis.segments import evaluate_by, segment_eval_result
    from nsm_cli.data.load import LoadedTree, load_tree
    from nsm_cli.data.segments import slices_for

    filters = tuple((str(k), str(v)) for k, v in (where or {}).items())
    path = tree.tree.path if isinstance(tree, LoadedTree) else str(tree)
    segmented = evaluate_by(load_tree(path, slices_for(by, filters)), by, filters)
    return segment_eval_result(segmented, segmented.total.period_index(period))

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
        SegmentEvalResult,
        SegmentExplainResult,
        SegmentLeversResult,
    )
    from nsm_cli.data.load import LoadedTree
    from nsm_cli.tree.changes import Change

Tree = Union[str, "PathLike[str]", "LoadedTree"]
# {node id: change} (`{"visitors": "+10%", "rate": 0.5}`) or `["visitors=+10%"]` as on the CLI
Sets = Mapping[str, object] | Iterable[str] | None
# {column: value} (`{"region": "华北"}`) or `["region=华北"]` as on the CLI: all must hold
Where = Mapping[str, object] | Iterable[str] | None


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


def _filters(where: Where) -> tuple[tuple[str, str], ...]:
    """`where` as (column, value) pairs, each value a literal."""
    from nsm_cli.analysis.segments import parse_where

    if where is None:
        return ()
    if isinstance(where, str):   # one "col=value", not its characters
        where = [where]
    if isinstance(where, Mapping):
        return parse_where([f"{column}={value}" for column, value in where.items()])
    return parse_where(list(where))


def _sliced(tree: Tree, by: str | None, where: tuple[tuple[str, str], ...]) -> LoadedTree:
    """The tree loaded with the segment groupings `by` and `where` read (from its path)."""
    from nsm_cli.data.load import LoadedTree, load_tree
    from nsm_cli.data.segments import slices_for

    if by is None and not where:
        return _loaded(tree)
    path = tree.tree.path if isinstance(tree, LoadedTree) else str(tree)
    return load_tree(path, slices_for(by, where))


def _evaluated(tree: Tree, scenario: str | None, sets: Sets,
               where: tuple[tuple[str, str], ...] = ()) -> Evaluation:
    from nsm_cli.analysis.evaluate import evaluate as run
    from nsm_cli.analysis.segments import where_view

    return run(where_view(_sliced(tree, None, where), where), scenario=scenario,
               sets=_changes(sets))


def _segmented(tree: Tree, by: str, where: tuple[tuple[str, str], ...],
               scenario: str | None = None, sets: Sets = None):
    from nsm_cli.analysis.segments import evaluate_by

    return evaluate_by(_sliced(tree, by, where), by, where, scenario, _changes(sets))


def _alone(by: str | None, **others: object) -> None:
    """Inputs that do not combine with `by` (yet): a RequestError naming the first."""
    from nsm_cli.diagnostics import RequestError

    for parameter, value in others.items():
        if by is not None and value:
            raise RequestError(parameter, None, "does not combine with",
                               advice=f" {{by}} ({by})")


def evaluate(tree: Tree, period: str | None = None, scenario: str | None = None,
             set: Sets = None, trend: int | None = None,  # noqa: A002 (the CLI's --set)
             compare: str | None = None, by: str | None = None,
             where: Where = None) -> EvalResult | SegmentEvalResult:
    """Every node's value, benchmark, gap and target in one period (`nsm eval`); over the
    rows `where` keeps. With `by`, every segment too, as :func:`by_segment` gives it."""
    from nsm_cli.analysis.eval_result import eval_result
    from nsm_cli.analysis.segments import segment_eval_result, with_where

    filters = _filters(where)
    if by is not None:
        _alone(by, trend=trend, compare=compare)
        segmented = _segmented(tree, by, filters, scenario, set)
        return segment_eval_result(segmented, segmented.total.period_index(_label(period)))
    ev = _evaluated(tree, scenario, set, filters)
    other = None if compare is None else ev.period_index(_label(compare), "compare")
    result = eval_result(ev, ev.period_index(_label(period)), trend=trend, compare=other)
    return with_where(result, filters)


def rank_levers(tree: Tree, period: str | None = None, step: str | float = "1%",
                points: bool = False, sort: str = "delta", top: int | None = None,
                scenario: str | None = None, set: Sets = None,  # noqa: A002
                by: str | None = None, where: Where = None
                ) -> LeversResult | SegmentLeversResult:
    """Each leaf stepped alone and the root's change, strongest first (`nsm rank-levers`).

    `step` is text (`"1%"`, `"2pp"`) or a fraction (0.01). With `by`, (segment, leaf) pairs
    by the change of the total root (`nsm rank-levers --by`).
    """
    from nsm_cli.analysis.levers import LeverOptions, levers_result, parse_step
    from nsm_cli.analysis.segments import segment_levers, with_where

    by_points = False
    if isinstance(step, str):
        step, by_points = parse_step(step)
    options = LeverOptions(step=float(step), points=points or by_points, sort=sort, top=top)
    filters = _filters(where)
    if by is not None:
        _alone(by, sort=sort != "delta")
        segmented = _segmented(tree, by, filters, scenario, set)
        return segment_levers(segmented, segmented.total.period_index(_label(period)),
                              options.step, options.points, top)
    ev = _evaluated(tree, scenario, set, filters)
    return with_where(levers_result(ev, ev.period_index(_label(period)), options), filters)


def explain(tree: Tree, from_period: str | None = None, to_period: str | None = None,
            method: str = "shapley", max_exact: int = 16, samples: int = 1000,
            seed: int = 0, by: str | None = None, where: Where = None
            ) -> ExplainResult | SegmentExplainResult:
    """Each leaf's contribution to the root's change between two periods (`nsm explain`);
    with `by`, each segment's part of it (`nsm explain --by`)."""
    from nsm_cli.analysis.explain import ExplainOptions, explain_result, period_pair
    from nsm_cli.analysis.segments import segment_explain, with_where

    options = ExplainOptions(method, max_exact, samples, seed)
    filters = _filters(where)
    if by is not None:
        segmented = _segmented(tree, by, filters)
        start, end = period_pair(segmented.total, _label(from_period), _label(to_period))
        return segment_explain(segmented, start, end, options)
    ev = _evaluated(tree, None, None, filters)
    start, end = period_pair(ev, _label(from_period), _label(to_period))
    return with_where(explain_result(ev, start, end, options), filters)


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
           set: Sets = None, by: str | None = None,  # noqa: A002
           where: Where = None) -> AlertsResult:
    """The alert rules and bounds that fire in a period (`nsm alerts`); with `by`, in the
    total and in every segment."""
    from nsm_cli.analysis.alerts import alerts_result
    from nsm_cli.analysis.segments import segment_alerts, with_where

    filters = _filters(where)
    if by is not None:
        segmented = _segmented(tree, by, filters, scenario, set)
        return segment_alerts(segmented, segmented.total.period_index(_label(period)))
    ev = _evaluated(tree, scenario, set, filters)
    return with_where(alerts_result(ev, ev.period_index(_label(period))), filters)


def forecast(tree: Tree, horizon: int = 3, samples: int = 2000, seed: int | None = None,
             backtest: int | None = None) -> ForecastResult:
    """p10/p50/p90 of every node ahead and the chance the root meets its target
    (`nsm forecast`); `backtest` K hides the last K periods and forecasts them."""
    from nsm_cli.analysis.forecast import ForecastOptions
    from nsm_cli.analysis.forecast import forecast as run

    options = ForecastOptions(horizon=horizon, samples=samples, seed=seed, backtest=backtest)
    return run(_loaded(tree), options)


def by_segment(tree: Tree, by: str, where: Where = None, period: str | None = None
               ) -> SegmentEvalResult:
    """The tree per value of a segment column (`nsm eval --by COL`): the total over all
    (filtered) rows in `nodes`, every segment in `segments`, best root first."""
    from nsm_cli.analysis.segments import segment_eval_result

    segmented = _segmented(tree, by, _filters(where))
    return segment_eval_result(segmented, segmented.total.period_index(_label(period)))

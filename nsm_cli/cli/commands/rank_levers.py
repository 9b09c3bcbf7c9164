"""`nsm rank-levers`: rank the leaves by how much the root moves when each improves by one step."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import (
    ByOpt,
    FormatOpt,
    PeriodOpt,
    PointsOpt,
    ScenarioOpt,
    SetOpt,
    StepOpt,
    TreeArg,
    WhereOpt,
    refuse_with_by,
)

TopOpt = Annotated[
    int | None,
    typer.Option("--top", "-n", min=1, metavar="N",
                 help="Show only the N strongest levers (leaves without data stay listed)."),
]
SortOpt = Annotated[
    str,
    typer.Option("--sort", metavar="BY",
                 help="delta: by the root's change for one step (default); potential: by the "
                 "root's change if the leaf alone reached its benchmark."),
]


@app.command("rank-levers")
def rank_levers_command(
    tree: TreeArg,
    period: PeriodOpt = None,
    step: StepOpt = "1%",
    points: PointsOpt = False,
    top: TopOpt = None,
    sort: SortOpt = "delta",
    scenario: ScenarioOpt = None,
    set_: SetOpt = None,
    format_: FormatOpt = None,
    by: ByOpt = None,
    where: WhereOpt = None,
) -> None:
    """Rank the leaves by how much the root moves when each alone improves by one step.

    A step improves the leaf: up, or down for `direction: down` (churn). Each
    row shows the root's change (delta), its elasticity and its potential: the
    root's change if that leaf alone reached its benchmark. Leaves without data
    for the period are listed with the reason, never ranked as zero.
    """
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.analysis.levers import LeverOptions, levers_result, parse_step
    from nsm_cli.analysis.segments import parse_where, where_view, with_where
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.levers_formats import LEVERS_FORMATS
    from nsm_cli.tree.changes import parse_assignment

    amount, by_points = parse_step(step)
    filters = parse_where(where or [])
    sets = [parse_assignment(text) for text in set_ or []]
    if by is not None:
        refuse_with_by(by, **{"--sort": sort != "delta"})
        return _levers_by(tree, by, filters, period, amount, points or by_points, top, format_,
                          (scenario, sets))
    renderer = check_format(format_, LEVERS_FORMATS)
    options = LeverOptions(step=amount, points=points or by_points, sort=sort, top=top)
    loaded = where_view(load_tree(str(tree), slices_for(None, filters)), filters)
    evaluation = evaluate(loaded, scenario=scenario, sets=sets)
    result = with_where(levers_result(evaluation, evaluation.period_index(period), options),
                        filters)
    report_diagnostics(result.warnings)
    emit(renderer(result))


def _levers_by(tree, by: str, where, period: str | None, step: float, points: bool,
               top: int | None, format_: str | None, what_if: tuple) -> None:
    """`rank-levers --by COL`: (segment, leaf) pairs by the change of the total root."""
    from nsm_cli.analysis.segments import evaluate_by, segment_levers
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.segment_formats import DEFAULT_PAIRS, SEGMENT_LEVER_FORMATS

    renderer = check_format(format_, SEGMENT_LEVER_FORMATS)
    if top is None and renderer is not SEGMENT_LEVER_FORMATS["json"]:
        top = DEFAULT_PAIRS   # people read the strongest pairs; JSON gets every pair
    segmented = evaluate_by(load_tree(str(tree), slices_for(by, where)), by, where, *what_if)
    result = segment_levers(segmented, segmented.total.period_index(period), step, points, top)
    report_diagnostics(segmented.warnings)
    emit(renderer(result))

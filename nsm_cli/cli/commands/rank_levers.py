"""`nsm rank-levers`: rank the leaves by how much the root moves when each improves by one step."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import (
    FormatOpt,
    PeriodOpt,
    PointsOpt,
    ScenarioOpt,
    SetOpt,
    StepOpt,
    TreeArg,
    lever_options,
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
) -> None:
    """Rank the leaves by how much the root moves when each alone improves by one step.

    A step improves the leaf: up, or down for `direction: down` (churn). Each
    row shows the root's change (delta), its elasticity and its potential: the
    root's change if that leaf alone reached its benchmark. Leaves without data
    for the period are listed with the reason, never ranked as zero.
    """
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.analysis.levers import levers_result
    from nsm_cli.data.load import load_tree
    from nsm_cli.render.levers_formats import LEVERS_FORMATS
    from nsm_cli.tree.changes import parse_assignment

    renderer = check_format(format_, LEVERS_FORMATS)
    options = lever_options(step, points, sort=sort, top=top)
    sets = [parse_assignment(text) for text in set_ or []]
    evaluation = evaluate(load_tree(str(tree)), scenario=scenario, sets=sets)
    result = levers_result(evaluation, evaluation.period_index(period), options)
    report_diagnostics(result.warnings)
    emit(renderer(result))


"""`nsm goal-seek`: the value each lever alone must reach for the root to hit a target."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import FormatOpt, PeriodOpt, ScenarioOpt, SetOpt, TreeArg

TargetOpt = Annotated[
    str | None,
    typer.Option("--target", "-t", metavar="VALUE",
                 help="The root's target: 600000, 600,000 or 80% for a rate root "
                 "(default: the root's `target` in the file)."),
]
LeverOpt = Annotated[
    list[str] | None,
    typer.Option("--lever", "-l", metavar="ID",
                 help="A node to solve for (repeatable; default: every leaf). An interior "
                 "node is set as a whole, as a scenario would."),
]


@app.command("goal-seek")
def goal_seek_command(
    tree: TreeArg,
    target: TargetOpt = None,
    lever: LeverOpt = None,
    period: PeriodOpt = None,
    scenario: ScenarioOpt = None,
    set_: SetOpt = None,
    format_: FormatOpt = None,
) -> None:
    """For each lever, the value it alone must reach for the root to hit the target.

    Solved numerically (a scan of the lever's range, then Brent's method), so
    any formula works, not only linear ones. The search stays within the
    lever's range (rates 0–100%, other metrics ≥ 0, or the node's `domain`); a
    lever that cannot reach the target there is marked ✗ with the reason and
    the value it would need outside the range.
    """
    from nsm_cli.analysis.goalseek import goal_seek, parse_target
    from nsm_cli.data.load import load_tree
    from nsm_cli.render.goalseek_formats import GOALSEEK_FORMATS
    from nsm_cli.tree.changes import parse_assignment

    renderer = check_format(format_, GOALSEEK_FORMATS)
    wanted = None if target is None else parse_target(target)
    sets = [parse_assignment(text) for text in set_ or []]
    loaded = load_tree(str(tree))
    result = goal_seek(loaded, target=wanted, levers=lever or [], period=period,
                       scenario=scenario, sets=sets)
    report_diagnostics(result.warnings)
    emit(renderer(result))

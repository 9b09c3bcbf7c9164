"""`nsm eval`: fill every node of a tree and show it with benchmarks and gaps."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, keep_until_exit, report_diagnostics
from nsm_cli.cli.options import (
    ByOpt,
    PeriodOpt,
    ScenarioOpt,
    SegmentTopOpt,
    SetOpt,
    TreeArg,
    WhereOpt,
    format_option,
    refuse_with_by,
)

DEFAULT_LAST = 6  # the same as trend.DEFAULT_LAST; kept here so `--help` needs no numpy

TrendOpt = Annotated[
    bool,
    typer.Option("--trend", "-t",
                 help="Add each node's last periods as a sparkline and its change against the "
                 "previous period (▲▼, green when it improves for the node's direction)."),
]
LastOpt = Annotated[
    int | None,
    typer.Option("--last", "-n", metavar="N", min=1,
                 help=f"How many periods the trend shows, up to the selected one "
                 f"(default {DEFAULT_LAST}); implies --trend."),
]
FormatOpt = format_option("markdown for a pull-request comment, mermaid or dot for a "
                          "diagram")
CompareOpt = Annotated[
    str | None,
    typer.Option("--compare", "-c", metavar="PERIOD",
                 help="Show another period beside the selected one, with the change from it."),
]


@app.command("eval")
def eval_command(
    tree: TreeArg,
    period: PeriodOpt = None,
    scenario: ScenarioOpt = None,
    set_: SetOpt = None,
    format_: FormatOpt = None,
    trend: TrendOpt = False,
    last: LastOpt = None,
    compare: CompareOpt = None,
    by: ByOpt = None,
    where: WhereOpt = None,
    top: SegmentTopOpt = None,
) -> None:
    """Fill every node from the CSVs and render the tree with value, benchmark and gap.

    Rates (unit %) show as percent and their gaps in percentage points; a node
    whose observed value (its `source`) differs from its formula is marked ≠; a
    node whose `alert:` rule fires is marked 🔔 (see `nsm alerts`).
    """
    from nsm_cli.data.ahead import queries_ahead

    # A database block's query goes out before the analyses are imported (issue 12).
    plain = by is None and not where
    with queries_ahead(str(tree) if plain else None):
        _eval(tree, period, scenario, set_, format_, trend, last, compare, by, where, top)


def _eval(tree, period, scenario, set_, format_, trend, last, compare, by, where,
          top) -> None:
    """The command, once its database queries are on their way."""
    from nsm_cli.analysis.domain import domain_warnings
    from nsm_cli.analysis.eval_result import eval_result
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.analysis.segments import parse_where, where_view, with_where
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.eval_formats import EVAL_FORMATS
    from nsm_cli.tree.changes import parse_assignment

    sets = [parse_assignment(text) for text in set_ or []]
    if by is not None:
        refuse_with_by(by, **{"--trend": trend, "--last": last, "--compare": compare})
        return _eval_by(tree, by, parse_where(where or []), period, top, format_,
                        scenario, sets)
    renderer = check_format(format_, EVAL_FORMATS)
    filters = parse_where(where or [])
    loaded = where_view(load_tree(str(tree), slices_for(None, filters)), filters)
    evaluation = evaluate(loaded, scenario=scenario, sets=sets)
    index = evaluation.period_index(period)
    other = None if compare is None else evaluation.period_index(compare, "compare")
    span = last if last is not None else (DEFAULT_LAST if trend else None)
    result = with_where(eval_result(evaluation, index, trend=span, compare=other), filters)
    report_diagnostics(evaluation.warnings + domain_warnings(evaluation))
    emit(renderer(result))
    keep_until_exit(loaded, evaluation, result)


def _eval_by(tree, by: str, where, period: str | None, top: int | None,
             format_: str | None, scenario: str | None, sets: list) -> None:
    """`eval --by COL`: the total, then every segment (the segment matrix in text), under
    the scenario and --set changes when given."""
    from nsm_cli.analysis.segments import evaluate_by, segment_eval_result
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.segment_formats import DEFAULT_TOP, SEGMENT_EVAL_FORMATS

    renderer = check_format(format_, SEGMENT_EVAL_FORMATS)
    segmented = evaluate_by(load_tree(str(tree), slices_for(by, where)), by, where, scenario,
                            sets)
    index = segmented.total.period_index(period)
    people = renderer is not SEGMENT_EVAL_FORMATS["json"]
    shown = (top or DEFAULT_TOP) if people else top
    result = segment_eval_result(segmented, index, shown, everything=not people,
                                 columns=not people)
    report_diagnostics(segmented.warnings)
    emit(renderer(result))
    keep_until_exit(segmented, result)

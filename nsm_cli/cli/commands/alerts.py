"""`nsm alerts`: which `alert:` rules and guardrail bounds fire, with an exit code for cron."""

from __future__ import annotations

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import (
    ByOpt,
    FormatOpt,
    PeriodOpt,
    ScenarioOpt,
    SetOpt,
    TreeArg,
    WhereOpt,
)

EXIT_FIRED = 3


@app.command("alerts")
def alerts_command(
    tree: TreeArg,
    period: PeriodOpt = None,
    scenario: ScenarioOpt = None,
    set_: SetOpt = None,
    format_: FormatOpt = None,
    by: ByOpt = None,
    where: WhereOpt = None,
) -> None:
    """List the alerts that fire in a period (default: the latest).

    Rules come from `alert:` on nodes and guardrails — min, max, falls_for: N
    (N moves in a row the worse way for the node's direction), change_below /
    change_above (period-on-period, -5% relative or -2pp for rates),
    forecast_below_target (the forecast's chance of meeting the node's target N
    periods ahead is below a probability; see nsm forecast) — and from every
    node's own min/max bound, so a breached guardrail fires too.

    Exit codes: 0 nothing fired, 3 at least one alert fired (so a scheduled job
    can notify), 1 invalid tree or data, 2 wrong usage.
    """
    from nsm_cli.analysis.alerts import alerts_result
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.analysis.segments import (
        evaluate_by,
        parse_where,
        segment_alerts,
        where_view,
        with_where,
    )
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.alerts_formats import ALERTS_FORMATS
    from nsm_cli.tree.changes import parse_assignment

    renderer = check_format(format_, ALERTS_FORMATS)
    sets = [parse_assignment(text) for text in set_ or []]
    filters = parse_where(where or [])
    if by is not None:
        segmented = evaluate_by(load_tree(str(tree), slices_for(by, filters)), by, filters,
                                scenario, sets)
        result = segment_alerts(segmented, segmented.total.period_index(period))
        warnings = segmented.warnings
    else:
        evaluation = evaluate(where_view(load_tree(str(tree), slices_for(None, filters)), filters),
                              scenario=scenario,
                              sets=sets)
        result = with_where(alerts_result(evaluation, evaluation.period_index(period)), filters)
        warnings = evaluation.warnings
    report_diagnostics(warnings)
    emit(renderer(result))
    if result.fired:
        raise typer.Exit(EXIT_FIRED)

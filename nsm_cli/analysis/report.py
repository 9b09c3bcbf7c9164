"""`nsm report`: every analysis a weekly review reads, for one period, in one result.

The result holds the results of `nsm eval` (with a trend), `nsm rank-levers`,
`nsm explain` (previous period → this one), `nsm alerts` and `nsm forecast` (the next
three periods, seed 0) side by side, each in
its own result type (a ReportResult), so the HTML renderer is a pure function of it.
With `--by` a `segments` list holds the segment matrix and levers; with `--where` every
part is computed over the matching rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nsm_cli.analysis.evaluate import evaluate
from nsm_cli.analysis.levers import LeverOptions
from nsm_cli.analysis.results import ExplainResult, ReportResult, SegmentReport
from nsm_cli.data.load import LoadedTree
from nsm_cli.diagnostics import NsmError
from nsm_cli.tree.changes import Change

TREND_PERIODS = 6
FORECAST_PERIODS, FORECAST_SAMPLES = 3, 2000
FORECAST_VALUES = 6_000_000   # paths × periods × nodes the report's forecast may hold (48 MB)


def report_result(loaded: LoadedTree, period: str | None = None, scenario: str | None = None,
                  sets: Iterable[Change] = (), by: str | None = None,
                  levers: LeverOptions | None = None,
                  where: tuple[tuple[str, str], ...] = ()) -> ReportResult:
    """The report's data: eval with trend, levers (ranked with `levers`, default +1%), why
    the root moved, alerts, warnings; with `where`, all of it over the matching rows (the
    tree loaded with slices_for(by, where))."""
    from nsm_cli.analysis.alerts import alerts_result
    from nsm_cli.analysis.eval_result import eval_result
    from nsm_cli.analysis.levers import levers_result
    from nsm_cli.analysis.segments import where_view, with_where

    sets, levers = list(sets), levers or LeverOptions()
    whole, loaded = loaded, where_view(loaded, where)
    evaluation = evaluate(loaded, scenario=scenario, sets=sets)
    index = evaluation.period_index(period)
    base = evaluate(loaded) if evaluation.changes else evaluation
    shown = with_where(eval_result(evaluation, index, trend=TREND_PERIODS), where)
    ranked = levers_result(evaluation, index, levers)
    fired = alerts_result(evaluation, index)
    why, why_note = _why(base, index)
    ahead, ahead_note = _ahead(loaded, base, index)
    segments = [] if by is None else [_by_segment(whole, by, evaluation.periods[index], levers,
                                                  where, (scenario, sets))]
    return ReportResult(eval=shown, levers=ranked, explain=why, explain_note=why_note,
                        alerts=fired, segments=segments, forecast=ahead,
                        forecast_note=ahead_note)


SEGMENT_COLUMNS = 8   # segments the report shows as columns
SEGMENT_LEVERS = 10   # (segment, leaf) pairs it lists


def _by_segment(loaded: LoadedTree, by: str, period: str, levers: LeverOptions,
                where: tuple[tuple[str, str], ...] = (),
                what_if: tuple[str | None, list[Change]] = (None, [])) -> SegmentReport:
    """The segment matrix and the strongest (segment, leaf) levers, as eval/rank-levers --by
    (under the scenario and changes, as the rest of the report)."""
    from nsm_cli.analysis.segments import evaluate_by, segment_eval_result, segment_levers

    segmented = evaluate_by(loaded, by, where, *what_if)
    index = segmented.periods.index(period)
    return SegmentReport(
        eval=segment_eval_result(segmented, index, SEGMENT_COLUMNS, everything=False),
        levers=segment_levers(segmented, index, levers.step, levers.points, SEGMENT_LEVERS))


def _ahead(loaded: LoadedTree, base: Any, index: int) -> tuple[Any, str]:
    """`nsm forecast` from the data's last period (seeded: the same file every run)."""
    from nsm_cli.analysis.forecast import ForecastOptions, forecast

    nodes = len(loaded.tree.topo) * FORECAST_PERIODS
    samples = max(100, min(FORECAST_SAMPLES, FORECAST_VALUES // nodes))   # big trees: fewer
    result = forecast(loaded, ForecastOptions(FORECAST_PERIODS, samples, seed=0))
    note = "" if index == len(base.periods) - 1 else (
        f"From the last period in the data, {base.periods[-1]}, not from {base.periods[index]}.")
    return result, note


def _why(base: Any, index: int) -> tuple[ExplainResult | None, str | None]:
    """Explain the base's root between the previous period and this one, or say why not."""
    from nsm_cli.analysis.explain import ExplainOptions, explain_result

    if index == 0:
        return None, f"{base.periods[0]} is the first period in the data: nothing to compare."
    try:
        return explain_result(base, index - 1, index, ExplainOptions()), None
    except NsmError as exc:
        return None, "; ".join(d.message for d in exc.diagnostics)

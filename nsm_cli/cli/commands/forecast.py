"""`nsm forecast`: project the leaves, carry the uncertainty through the formulas."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import FormatOpt, TreeArg

# the same as forecast.DEFAULT_*; kept here so `--help` needs no numpy
DEFAULT_HORIZON, DEFAULT_SAMPLES = 3, 2000

HorizonOpt = Annotated[
    int,
    typer.Option("--horizon", "-H", metavar="N", help="How many periods ahead (1–120)."),
]
SamplesOpt = Annotated[
    int,
    typer.Option("--samples", "-k", metavar="K",
                 help="Simulated paths of every leaf (100–1,000,000)."),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", metavar="S", help="Seed of the simulation, for repeatable output."),
]
BacktestOpt = Annotated[
    int | None,
    typer.Option("--backtest", metavar="K",
                 help="Hide the last K periods, forecast them, and report the error (MAE, "
                 "MAPE) beside the last-value forecast's; the horizon is then K."),
]


@app.command("forecast")
def forecast_command(
    tree: TreeArg,
    horizon: HorizonOpt = DEFAULT_HORIZON,
    samples: SamplesOpt = DEFAULT_SAMPLES,
    seed: SeedOpt = None,
    backtest: BacktestOpt = None,
    format_: FormatOpt = "text",
) -> None:
    """Forecast every node: p10/p50/p90 per future period and the chance the root meets its target.

    Each sourced leaf with 6 or more periods of history is fitted a damped-trend exponential
    smoothing (with an additive season once it has two full seasons: 12 months, 4 quarters,
    52 weeks, 7 days); its one-step residuals, drawn by whole past periods, drive K
    simulated paths through the formulas. Rates stay within 0–100%, other metrics at or
    above 0 (or the node's `domain`). Leaves with less history, and constants, stay at
    their last value and are listed. The text output is a fan chart per node, the share of
    the root's variance each leaf accounts for, and with --backtest the errors.
    """
    from nsm_cli.analysis.forecast import ForecastOptions, forecast
    from nsm_cli.data.load import load_tree
    from nsm_cli.render.forecast_formats import FORECAST_FORMATS

    renderer = check_format(format_, FORECAST_FORMATS)
    options = ForecastOptions(horizon=horizon, samples=samples, seed=seed, backtest=backtest)
    loaded = load_tree(str(tree))
    report_diagnostics(list(loaded.warnings))
    emit(renderer(forecast(loaded, options)))

"""Options shared by several commands, declared once so their help reads the same."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

# The library names its inputs by parameter; the CLI by option (domain errors → usage errors).
OPTION_NAMES = {
    "period": "--period", "compare": "--compare", "trend": "--last", "from_period": "--from",
    "to_period": "--to",
    "scenario": "--scenario", "set": "--set", "format": "--format", "step": "--step",
    "sort": "--sort", "top": "--top", "method": "--method", "max_exact": "--max-exact",
    "samples": "--samples", "target": "--target", "levers": "--lever", "config": "--config",
    "by": "--by", "where": "--where",
    "horizon": "--horizon", "seed": "--seed", "backtest": "--backtest", "points": "--points",
}

TreeArg = Annotated[Path, typer.Argument(help="The tree file (YAML).", show_default=False,
                                 metavar="TREE")]
PeriodOpt = Annotated[
    str | None,
    typer.Option("--period", "-p", metavar="PERIOD",
                 help="Period to use (default: the file's period, else the latest)."),
]
ScenarioOpt = Annotated[
    str | None,
    typer.Option("--scenario", "-s", metavar="NAME",
                 help="Apply a scenario from the file's scenarios."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="ID=CHANGE",
        help="Change a node: ID=CHANGE, where CHANGE is a new value (0.5, 50%), an amount to "
        "add (+200, -5), a relative change (+10%), percentage points for rates (+2pp) or a "
        "factor (x1.1). Repeatable; applied after --scenario.",
    ),
]
StepOpt = Annotated[
    str,
    typer.Option("--step", metavar="STEP",
                 help="Size of the improving step: a percentage (1%, 0.5%; a bare number "
                 "like 2 means 2%). With --points, % leaves move by that many percentage points "
                 "(1pp, which also turns --points on)."),
]
PointsOpt = Annotated[
    bool,
    typer.Option("--points", help="Move leaves whose unit is % by percentage points "
                 "(92% → 93%) instead of relatively; other leaves still move by --step %."),
]


def lever_options(step: str, points: bool, **ranking: Any) -> Any:
    """`--step` and `--points` (and the ranking's own options) as the library's LeverOptions."""
    from nsm_cli.analysis.levers import LeverOptions, parse_step

    amount, by_points = parse_step(step)
    return LeverOptions(step=amount, points=points or by_points, **ranking)


def format_option(others: str = "markdown for a pull-request comment") -> Any:
    """`--format` of a command whose formats beyond text and json are `others`."""
    return Annotated[
        str | None,
        typer.Option(
            "--format", "-f", metavar="FORMAT", show_default=False,
            help=f"Output format: text for people, json for scripts (nothing else on stdout), "
            f"{others}. Default: $NSM_FORMAT when this command offers it, else text.",
        ),
    ]


FormatOpt = format_option()
ByOpt = Annotated[
    str | None,
    typer.Option("--by", metavar="COL",
                 help="Slice by a segment column (listed under a data block's segments): every "
                 "value is one segment; the total stays the tree over all rows."),
]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option("--where", metavar="COL=VALUE",
                 help="Keep only the rows whose segment column COL holds VALUE (a literal). "
                 "Repeatable: all must hold."),
]
SegmentTopOpt = Annotated[
    int | None,
    typer.Option("--top", "-n", min=1, metavar="N",
                 help="With --by: show the N best segments by the root as columns and "
                 "summarise the rest (default 6)."),
]


def refuse_with_by(by: str | None, **given: object) -> None:
    """Options that do not combine with --by (yet): a usage error naming them."""
    from nsm_cli.diagnostics import UsageError

    if by is None:
        return
    clashes = [name for name, value in given.items() if value]
    if clashes:
        raise UsageError(f"--by does not combine with {', '.join(clashes)}")

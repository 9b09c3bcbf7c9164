"""`nsm explain`: attribute the root's change between two periods to the leaves that moved."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import ByOpt, FormatOpt, TreeArg, WhereOpt

# the same as explain.DEFAULT_*; kept here so `--help` needs no numpy
DEFAULT_MAX_EXACT, DEFAULT_SAMPLES = 16, 1000

FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="PERIOD",
                 help="The earlier period (default: the second-to-last in the data)."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", metavar="PERIOD", help="The later period (default: the last)."),
]
MethodOpt = Annotated[
    str,
    typer.Option("--method", "-m", metavar="METHOD",
                 help="shapley: Shapley values of the changed leaves; lmdi: "
                 "log-mean Divisia index, for trees that are products/quotients of positive "
                 "factors."),
]
MaxExactOpt = Annotated[
    int,
    typer.Option("--max-exact", metavar="N",
                 help="Exact Shapley up to N changed leaves (2^N evaluations, N ≤ 20); "
                 "beyond, sampled permutations with a standard error."),
]
SamplesOpt = Annotated[
    int,
    typer.Option("--samples", metavar="PAIRS",
                 help="Antithetic permutation pairs when sampling."),
]
SeedOpt = Annotated[
    int,
    typer.Option("--seed", metavar="N", help="Seed of the sampling, for repeatable estimates."),
]


@app.command("explain")
def explain_command(
    tree: TreeArg,
    from_: FromOpt = None,
    to: ToOpt = None,
    method: MethodOpt = "shapley",
    max_exact: MaxExactOpt = DEFAULT_MAX_EXACT,
    samples: SamplesOpt = DEFAULT_SAMPLES,
    seed: SeedOpt = 0,
    format_: FormatOpt = None,
    by: ByOpt = None,
    where: WhereOpt = None,
) -> None:
    """Explain why the root moved between two periods: each leaf's contribution.

    The contributions add up exactly to the root's change and do not depend on
    the order of a formula's terms (no chain substitution). Shown as the tree,
    largest contribution first, with a waterfall from the first period's root
    value to the second's. A leaf without data in either period is an error
    (exit 1); --method lmdi on a tree that is not a product of positive factors
    is refused (exit 2).
    """
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.analysis.explain import ExplainOptions, explain_result, period_pair
    from nsm_cli.analysis.segments import parse_where, where_view, with_where
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.explain_formats import EXPLAIN_FORMATS

    filters = parse_where(where or [])
    options = ExplainOptions(method, max_exact, samples, seed)
    if by is not None:
        return _explain_by(tree, by, filters, from_, to, options, format_)
    renderer = check_format(format_, EXPLAIN_FORMATS)
    evaluation = evaluate(where_view(load_tree(str(tree), slices_for(None, filters)), filters))
    start, end = period_pair(evaluation, from_, to)
    result = with_where(explain_result(evaluation, start, end, options), filters)
    report_diagnostics(result.warnings)
    emit(renderer(result))


def _explain_by(tree, by: str, where, from_: str | None, to: str | None, options,
                format_: str | None) -> None:
    """`explain --by COL`: each segment's part of the total root's change, then its leaves."""
    from nsm_cli.analysis.explain import period_pair
    from nsm_cli.analysis.segments import evaluate_by, segment_explain
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.segment_formats import SEGMENT_EXPLAIN_FORMATS

    renderer = check_format(format_, SEGMENT_EXPLAIN_FORMATS)
    segmented = evaluate_by(load_tree(str(tree), slices_for(by, where)), by, where)
    start, end = period_pair(segmented.total, from_, to)
    result = segment_explain(segmented, start, end, options)
    report_diagnostics(segmented.warnings)
    emit(renderer(result))

"""`nsm eval`: fill every node of a tree and show it with benchmarks and gaps."""

from __future__ import annotations

from ..app import app, check_format, emit, report_diagnostics
from .options import FormatOpt, PeriodOpt, ScenarioOpt, SetOpt, TreeArg

EVAL_FORMAT_NAMES = ("text", "json", "markdown")


@app.command("eval")
def eval_command(
    tree: TreeArg,
    period: PeriodOpt = None,
    scenario: ScenarioOpt = None,
    set_: SetOpt = None,
    format_: FormatOpt = "text",
) -> None:
    """Fill every node from the CSVs and render the tree with value, benchmark and gap.

    Rates (unit %) show as percent and their gaps in percentage points; a node
    whose observed value (its `source`) differs from its formula is marked ≠.
    """
    from ..changes import parse_assignment
    from ..evaluate import evaluate
    from ..load import load_tree
    from ..render.eval_formats import EVAL_FORMATS
    from ..report import eval_result

    renderer = check_format(format_, EVAL_FORMATS)
    sets = [parse_assignment(text) for text in set_ or []]
    loaded = load_tree(str(tree))
    evaluation = evaluate(loaded, scenario=scenario, sets=sets)
    result = eval_result(evaluation, evaluation.period_index(period))
    report_diagnostics(evaluation.warnings)
    emit(renderer(result))



"""`nsm diff`: two versions of a tree (files or `REV:PATH`), structure and values side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit, report_diagnostics
from nsm_cli.cli.options import FormatOpt, PeriodOpt

OldArg = Annotated[str, typer.Argument(
    show_default=False, metavar="OLD",
    help="The tree before: a file, or REV:PATH for the file as of a git revision "
    "(HEAD~1:trees/mau.yaml).")]
NewArg = Annotated[str, typer.Argument(
    show_default=False, metavar="NEW", help="The tree after: a file, or REV:PATH.")]
FailOpt = Annotated[bool, typer.Option(
    "--fail-on-change", help="Exit 1 when anything changed (structure or a value).")]


@app.command("diff")
def diff_command(
    old: OldArg,
    new: NewArg,
    period: PeriodOpt = None,
    format_: FormatOpt = None,
    fail_on_change: FailOpt = False,
) -> None:
    """Compare two versions of a tree: the nodes that changed and the values that differ.

    Nodes added, removed or changed (formula, source, benchmark…), and the root and
    every node whose value differs in the period.

    OLD and NEW are tree files or REV:PATH, the file as of a git revision with its
    data files as of the same revision (where git tracks them). `--format markdown`
    makes a pull-request comment. Exit 0, or with --fail-on-change 1 when anything
    changed.
    """
    from nsm_cli.analysis.diff import diff
    from nsm_cli.data.gitrev import materialize
    from nsm_cli.render.diff_formats import DIFF_FORMATS

    renderer = check_format(format_, DIFF_FORMATS)
    trees = [materialize(old)]
    try:
        trees.append(materialize(new))
        loaded = [_load(tree) for tree in trees]
        result = diff(loaded[0], loaded[1], period, (trees[0].label, trees[1].label))
        for tree, one in zip(trees, loaded, strict=True):
            report_diagnostics(tree.relabel(one.warnings))
    finally:
        for tree in trees:
            tree.close()
    emit(renderer(result))
    if fail_on_change and result.changed_anything:
        raise typer.Exit(1)


def _load(tree):
    from nsm_cli.data.load import load_tree
    from nsm_cli.diagnostics import NsmError

    try:
        return load_tree(tree.path)
    except NsmError as exc:
        raise NsmError(tree.relabel(exc.diagnostics)) from None

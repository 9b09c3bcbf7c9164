"""`nsm report`: the whole picture for one period as a self-contained HTML file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nsm_cli.cli.app import app, report_diagnostics
from nsm_cli.cli.options import (
    ByOpt,
    PeriodOpt,
    PointsOpt,
    ScenarioOpt,
    SetOpt,
    StepOpt,
    TreeArg,
    WhereOpt,
    lever_options,
)

OutputOpt = Annotated[
    Path,
    typer.Option("--output", "-o", metavar="FILE.html", show_default=False,
                 help="Where to write the report (replaced atomically: a reader never sees "
                 "half a file)."),
]


@app.command("report")
def report_command(
    tree: TreeArg,
    output: OutputOpt,
    period: PeriodOpt = None,
    scenario: ScenarioOpt = None,
    set_: SetOpt = None,
    by: ByOpt = None,
    step: StepOpt = "1%",
    points: PointsOpt = False,
    where: WhereOpt = None,
) -> None:
    """Write one HTML file: the tree as a diagram, guardrails, levers, why, alerts, forecast.

    The levers, and why the root moved since the previous period, are those of
    `nsm rank-levers` (with its --step and --points) and `nsm explain`; the alerts,
    those that fire; the forecast, that of the next three periods.

    The file loads nothing from outside (no scripts, fonts or images from the
    network): it opens offline and as an e-mail attachment, and prints on A4
    landscape.
    """
    from nsm_cli.analysis.report import report_result
    from nsm_cli.analysis.segments import parse_where
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render.report_html import render_report
    from nsm_cli.tree.changes import parse_assignment

    levers = lever_options(step, points)
    sets = [parse_assignment(text) for text in set_ or []]
    filters = parse_where(where or [])
    loaded = load_tree(str(tree), slices_for(by, filters))
    result = report_result(loaded, period=period, scenario=scenario, sets=sets, by=by,
                           levers=levers, where=filters)
    report_diagnostics(result.eval.warnings)
    write_atomically(output, render_report(result))
    print(f"wrote {output}", file=sys.stderr)


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over: all or nothing."""
    import os
    import tempfile

    from nsm_cli.diagnostics import UsageError

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--output {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise UsageError(f"--output {path}: is a folder; give a file name such as report.html")
    if path.exists() and not path.is_file():   # the rename would put a file in its place
        raise UsageError(f"--output {path}: is not a regular file (a device or a FIFO, such "
                         "as /dev/null); give a file name such as report.html")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        _cannot_write(path, exc)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)   # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            _cannot_write(path, exc)
        raise


def _cannot_write(path: Path, exc: OSError) -> None:
    print(f"nsm: error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
    raise typer.Exit(1)

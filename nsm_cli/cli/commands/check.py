"""`nsm check`: lint tree files for CI — every error the core finds, the five rules as warnings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit

CHECK_FORMAT_NAMES = ("text", "json", "markdown", "github", "sarif")

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Tree files, or folders to search for *.yaml / *.yml (hidden ones "
                   "skipped).", show_default=False, metavar="PATH"),
]
CheckFormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="FORMAT", show_default=False,
                 help="text (grouped by file), json, markdown, github (annotations on the pull "
                 "request), sarif (code scanning) or auto (github under GitHub Actions, else "
                 "text). Default: $NSM_FORMAT when it names one of these, else auto."),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Exit 1 on warnings too (infos never fail)."),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option("--select", metavar="CODES",
                 help="Report only these codes or prefixes (W4, W401,E); overrides the config."),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", metavar="CODES",
                 help="Do not report these codes or prefixes; added to the config's ignore."),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", metavar="FILE",
                 help="Settings file (.nsm.yaml or a pyproject.toml with \\[tool.nsm]) instead "
                 "of the one found from the current folder upwards."),
]
ToleranceOpt = Annotated[
    str | None,
    typer.Option("--tolerance", metavar="FRACTION",
                 help="W401: how far an observed value may be from its formula, 0.01 or 1% "
                 "(default 1%); overrides the config."),
]
OfflineOpt = Annotated[
    bool, typer.Option("--offline", help="Open no database connection (CI without a "
                       "database): database blocks are checked for shape and their sql "
                       "for safety only."),
]
ListOpt = Annotated[
    bool, typer.Option("--list-rules", help="List every code with its severity and examples."),
]


def resolve_format(given: str | None) -> str:
    """--format, else $NSM_FORMAT when check knows it, else auto; auto → github or text."""
    name = given
    if name is None:
        env = os.environ.get("NSM_FORMAT", "").strip()
        name = env if env in (*CHECK_FORMAT_NAMES, "auto") else "auto"
    if name == "auto":
        return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    return name


@app.command("check")
def check_command(
    paths: PathsArg = None,
    format_: CheckFormatOpt = None,
    strict: StrictOpt = False,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    config_file: ConfigOpt = None,
    tolerance: ToleranceOpt = None,
    list_rules: ListOpt = False,
    offline: OfflineOpt = False,
) -> None:
    """Validate tree files for CI: errors, warnings and infos, each with a stable code.

    Errors: E1xx file and schema, E2xx formulas, E3xx data; warnings: W201 missing
    values, W4xx the five rules of a good tree.

    Every finding of every file is reported, sorted by file and line, with a stable code
    and a message that says what to do. Settings come from \\[tool.nsm] in pyproject.toml
    or .nsm.yaml (select, ignore, tolerance, max_depth, max_children, money_units,
    exclude); a node's `ignore: [W407]` silences a rule on that node.

    Database blocks are checked against the real schema without scanning rows (LIMIT 0);
    --offline skips every connection.

    Exit codes: 0 clean, 1 an error (with --strict, a warning too), 2 wrong usage.
    """
    from dataclasses import replace

    from nsm_cli.check import check_paths, find_config, load_config
    from nsm_cli.check.config import apply
    from nsm_cli.check.formats import CHECK_FORMATS
    from nsm_cli.diagnostics import UsageError

    name = resolve_format(format_)
    if list_rules:
        emit(rules_listing(name))
        return
    renderer = check_format(name, CHECK_FORMATS)
    if not paths:
        raise UsageError("give at least one tree file or folder, e.g. nsm check trees")
    config = load_config(config_file) if config_file else find_config()
    if select:
        config = apply(config, {"select": select}, "--select")
    if ignore:
        config = replace(config, ignore=config.ignore + apply(config, {"ignore": ignore},
                                                               "--ignore").ignore)
    if tolerance is not None:
        config = apply(config, {"tolerance": tolerance}, "--tolerance")
    result = check_paths([str(p) for p in paths], config,
                         databases="offline" if offline else "validate")
    if not result.files and not result.diagnostics:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(str(p) for p in paths)}")
    emit(renderer(result))
    if result.failed(strict):
        raise typer.Exit(1)


def rules_listing(name: str):
    """Every code: JSON for scripts, else a table for people."""
    from nsm_cli.check.catalogue import catalogue
    from nsm_cli.render import to_json

    entries = catalogue()
    if name == "json":
        return to_json({"rules": [
            {"code": e.code, "name": e.name or None, "severity": e.severity, "group": e.group,
             "title": e.title, "bad": e.bad, "good": e.good, "help": e.help}
            for e in entries.values()]})
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("code", "severity", "what", "bad", "good"):
        table.add_column(column, overflow="fold", no_wrap=column in ("code", "severity"))
    for e in entries.values():
        table.add_row(e.code, e.severity, e.title, e.bad, e.good)
    from nsm_cli.render import FitTable

    return FitTable(table, names=("what", "bad", "good"), optional=("bad", "good"))

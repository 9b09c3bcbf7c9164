"""`nsm init`: start a tree from one of the articles' patterns, or draft one from a CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nsm_cli.cli.app import EXIT_INVALID, app

TemplateArg = Annotated[
    str | None,
    typer.Argument(help="formula (default), funnel, journey, flow or saas; see --list.",
                   show_default=False, metavar="[TEMPLATE]"),
]
DirArg = Annotated[
    Path | None,
    typer.Argument(help="The folder to write into (created if missing; default: the current "
                   "folder).", show_default=False, metavar="[DIR]"),
]
ListOpt = Annotated[bool, typer.Option("--list", help="List the templates, one line each.")]
FromCsvOpt = Annotated[
    Path | None,
    typer.Option("--from-csv", metavar="FILE",
                 help="Draft a tree from this CSV's columns instead of a template: the period "
                 "column found, numeric columns as leaves under a root to fill in. Then the "
                 "only argument is DIR."),
]


@app.command("init")
def init_command(
    template: TemplateArg = None,
    directory: DirArg = None,
    list_: ListOpt = False,
    from_csv: FromCsvOpt = None,
) -> None:
    """Write a working tree and its CSV from a template, or draft one from a CSV.

    Every template carries owners, benchmarks, a target, a guardrail and an
    alert rule, passes nsm check --strict and runs with every command as
    written. Beside the tree goes nsm.schema.json, which the tree's first line
    points editors at. Nothing is ever overwritten: when a file exists, nsm
    init names it, writes nothing and exits 1.
    """
    from nsm_cli.authoring.templates import DEFAULT, TEMPLATES, InitError, template_files
    from nsm_cli.diagnostics import UsageError

    if list_:
        width = max(len(name) for name in TEMPLATES)
        files = max(len(t.stem) for t in TEMPLATES.values()) + len(".yaml")
        for t in TEMPLATES.values():
            print(f"{t.name:<{width}}  {t.stem + '.yaml':<{files}}  {t.summary}")
        return
    try:
        if from_csv is not None:
            if directory is not None:
                raise UsageError("with --from-csv, give only the folder: nsm init --from-csv "
                                 "FILE [DIR]")
            from nsm_cli.authoring.draft import draft_tree

            folder = template or "."
            name, text = draft_tree(str(from_csv), folder)
            files = {name: text}
        else:
            name = template or DEFAULT
            if name not in TEMPLATES:
                raise UsageError(f"unknown template '{name}': choose one of "
                                 f"{', '.join(TEMPLATES)} (nsm init --list); to write the "
                                 f"{DEFAULT} template into a folder: nsm init {DEFAULT} {name}")
            folder = str(directory or ".")
            files = template_files(name)
        _write(folder, files)
    except InitError as exc:
        print(f"nsm: error: {exc}", file=sys.stderr)   # as every command says it
        raise typer.Exit(EXIT_INVALID) from None


def _write(folder: str, files: dict[str, str]) -> None:
    """Write the files and say what was written and what to run next."""
    import os

    from nsm_cli.authoring.templates import write_files

    done = write_files(folder, files)
    for path in done.files:
        print(f"wrote {path}")
    for path in done.kept:
        print(f"kept {path} as it was (refresh it with: nsm schema > {path})", file=sys.stderr)
    tree = next(n for n in files if n.endswith(".yaml"))
    tree = tree if os.path.normpath(folder) == "." else os.path.join(folder, tree)
    print(f"next: nsm check {tree} && nsm eval {tree}")

"""The typer application and what every command shares: output, formats, exit codes.

Commands live in :mod:`nsm_cli.commands`, one module each, and stay thin: parse
options, call the library, pick a renderer. Heavy modules (numpy, rich tables)
are imported inside the commands, so `nsm --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from nsm_cli.diagnostics import Diagnostic

app = typer.Typer(
    name="nsm",
    help="Break a North Star Metric into a metric tree, fill it from CSVs, find the levers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_INVALID, EXIT_USAGE = 1, 2


def _show_version(value: bool) -> None:
    if value:
        from nsm_cli import __version__

        print(f"nsm {__version__}")
        raise typer.Exit()


@app.callback()
def _nsm(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True,
                     help="Show the version and exit."),
    ] = False,
) -> None:
    """Break a North Star Metric into a metric tree, fill it from CSVs, find the levers.

    Exit codes: 0 ok, 1 invalid tree or data (or findings of check), 2 wrong usage.
    """


def check_format(name: str | None, registry: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    """The renderer for --format; without it, $NSM_FORMAT where this command offers it, else text.

    An environment variable is a preference shared by every command, so a format one command
    lacks falls back to text instead of failing; an explicit --format is checked strictly.
    """
    from nsm_cli.diagnostics import require_choice

    if name is None:
        wanted = os.environ.get("NSM_FORMAT", "").strip()
        return registry[wanted if wanted in registry else "text"]
    return registry[require_choice("format", name, registry)]


def stdout_console():
    """A console for stdout: colour only on a terminal and without NO_COLOR; wide when piped."""
    from rich.console import Console

    width = None
    if not sys.stdout.isatty():
        columns = os.environ.get("COLUMNS", "").strip()  # "abc" or "-5" would mean nothing
        width = int(columns) if columns.isdigit() and int(columns) > 0 else 200
    return Console(highlight=False, soft_wrap=False, width=width)


def emit(rendered: Any) -> None:
    """Write a renderer's output: plain text as is, rich renderables through a console."""
    if isinstance(rendered, str):
        sys.stdout.write(rendered)
        sys.stdout.flush()
    else:
        console = stdout_console()
        if console.color_system is None and not console.is_terminal:
            from nsm_cli.render.plain import plain_text

            text = plain_text(rendered, console)   # rich's characters, written much faster
            if text is not None:
                sys.stdout.write(text)
                sys.stdout.flush()
                return
        console.print(rendered)


def report_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """Diagnostics for people go to stderr, one `file:line:column: message` line each."""
    for diagnostic in diagnostics:
        print(diagnostic, file=sys.stderr)

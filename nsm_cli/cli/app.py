"""The typer application and what every command shares: output, formats, exit codes.

Commands live in :mod:`nsm_cli.commands`, one module each, and stay thin: parse
options, call the library, pick a renderer. Heavy modules (numpy, rich tables)
are imported inside the commands, so `nsm --help` starts fast.
"""

from __future__ import annotations

import contextlib
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
    Formats for people get results whose text is printable (control characters escaped).
    """
    from nsm_cli.diagnostics import require_choice
    from nsm_cli.render import MACHINE_FORMATS, for_people

    if name is None:
        wanted = os.environ.get("NSM_FORMAT", "").strip()
        name = wanted if wanted in registry else "text"
    else:
        name = require_choice("format", name, registry)
    renderer = registry[name]
    return renderer if name in MACHINE_FORMATS else for_people(renderer)


MAX_COLUMNS = 1000   # a bigger COLUMNS is a mistake, not a terminal; ignored like a non-number
PIPED_COLUMNS = 200


class OutputError(Exception):
    """stdout cannot take the output (closed, a full disk, /dev/full). Exit code 1."""


class ReaderGone(Exception):
    """The reader of stdout closed the pipe (`| head -1`). Not an OSError on purpose: click
    turns an EPIPE OSError into a bare exit 1."""


def columns() -> int | None:
    """The width for output that is not a terminal: $COLUMNS when it is a sane number."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_COLUMNS:
        return int(text)
    return None


def stdout_console():
    """A console for stdout: colour only on a terminal and without NO_COLOR; wide when piped.

    Strings reaching it are never read as markup or emoji codes: every renderer builds
    `Text` from names, and this is the second lock on that door.
    """
    from rich.console import Console

    width = columns()
    if width is None and not sys.stdout.isatty():
        width = PIPED_COLUMNS
    # rich reads COLUMNS/LINES itself (and int('²') raises): it gets them only when sane
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    console = Console(highlight=False, soft_wrap=False, width=width, markup=False, emoji=False,
                      _environ=environ)
    console.on_broken_pipe = _reader_gone   # rich would exit 1 itself
    return console


def _reader_gone() -> None:
    raise ReaderGone()


def emit(rendered: Any) -> None:
    """Write a renderer's output: plain text as is, rich renderables through a console."""
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    try:
        if isinstance(rendered, str):
            sys.stdout.write(rendered)
            sys.stdout.flush()
        else:
            _print(rendered)
    except BrokenPipeError:
        raise ReaderGone() from None
    except (OSError, ValueError) as exc:   # ValueError: I/O operation on closed file
        raise OutputError(getattr(exc, "strerror", None) or str(exc)) from None


def _print(rendered: Any) -> None:
    """A rich renderable to stdout; without colour, tables go straight as plain text."""
    console = stdout_console()
    if console.color_system is None and not console.is_terminal:
        from nsm_cli.render.plain import plain_text

        text = plain_text(rendered, console)   # rich's characters, written much faster
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
    console.print(rendered)


# Objects a run built, held until the process ends when `run()` will end it with os._exit:
# freeing a 100,000-node tree object by object takes longer than the OS takes to drop its pages.
_KEPT: list[Any] | None = None


def end_without_freeing() -> None:
    """From now on, `keep_until_exit` holds what it is given (the console script only)."""
    global _KEPT
    _KEPT = []


def keep_until_exit(*objects: Any) -> None:
    """Hold a finished command's big results so they are not freed one by one before exit;
    a no-op when nsm runs inside another program (tests, notebooks)."""
    if _KEPT is not None:
        _KEPT.append(objects)


def say(text: str) -> None:
    """One line for people on stderr (never stdout, even when stderr is closed)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            print(text, file=sys.stderr)


def report_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """Diagnostics for people go to stderr, one `file:line:column: message` line each."""
    for diagnostic in diagnostics:
        say(str(diagnostic))

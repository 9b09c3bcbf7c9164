"""Entry point: run a command and turn our exceptions into exit codes, in this one place.

Typer handles its own usage errors (exit 2, with help); the library raises
:class:`NsmError` for invalid input (exit 1) and :class:`RequestError` for a
request the tree cannot answer (a period it lacks: exit 2, named by option).
Anything else is a bug in nsm: one line on stderr asking for a report, exit 1
(NSM_DEBUG=1 lets it through with its traceback).
"""

from __future__ import annotations

import os
import sys

from nsm_cli.cli.app import (
    EXIT_INVALID,
    EXIT_USAGE,
    OutputError,
    ReaderGone,
    app,
    end_without_freeing,
    report_diagnostics,
    say,
)
from nsm_cli.cli.options import OPTION_NAMES
from nsm_cli.diagnostics import (
    InputError,
    NsmError,
    RequestError,
    UsageError,
    escape_control,
)

# A reader that stops early (`nsm eval … | head -1`) closes the pipe: exit quietly with the
# code a shell reports for a program ended by SIGPIPE (128 + 13), as `cat` or `grep` do.
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130   # 128 + SIGINT, what a shell reports for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    """Run `nsm`; return the exit code (0 ok, 1 invalid input or findings, 2 usage)."""
    from nsm_cli.cli import commands  # noqa: F401  (registers the commands)
    from nsm_cli.cli.progress import bar
    from nsm_cli.data.runtime import collector_paused, reporting

    if sys.stdout is None:
        say("nsm: error: standard output is closed: nothing can be printed "
            "(send it to /dev/null to discard it)")
        return EXIT_INVALID
    _ascii_safe(sys.stdout)
    before = _identity(1)
    # polars' allocator (jemalloc) keeps freed pages for 10 s; have it hand them back at once
    # (1,000,000-row benchmark file: 207 MB peak instead of 283 MB). Unless the user set it.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
    try:
        with collector_paused(), reporting(bar):
            app(args=argv, prog_name="nsm", standalone_mode=True)
    except SystemExit as exc:
        if _click_saw_broken_pipe() or _rich_saw_broken_pipe(before):
            return EXIT_BROKEN_PIPE
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    except NsmError as exc:
        report_diagnostics(exc.diagnostics)
        return EXIT_INVALID
    except InputError as exc:   # a request the data cannot answer (an undeclared column)
        say(escape_control(f"nsm: error: {exc.describe(OPTION_NAMES)}"))
        return EXIT_INVALID
    except UsageError as exc:
        say(escape_control(f"nsm: error: {exc}"))
        return EXIT_USAGE
    except RequestError as exc:   # the library's names for its inputs become option names
        say(escape_control(f"nsm: error: {exc.describe(OPTION_NAMES)}"))
        return EXIT_USAGE
    except (BrokenPipeError, ReaderGone):
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OutputError as exc:
        _silence_stdout()
        say(f"nsm: error: cannot write the output: {exc}")
        return EXIT_INVALID
    except KeyboardInterrupt:   # typer turns one inside a command into exit 130 itself
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("NSM_DEBUG", "").strip() not in ("", "0"):
            raise
        say(internal_error(exc))
        return EXIT_INVALID
    return 0


def internal_error(exc: BaseException) -> str:
    """The one line for a bug: what went wrong, and how to get the traceback for a report."""
    what = type(exc).__name__
    message = str(exc)
    if message:
        what = f"{what}: {message}"
    return escape_control(f"nsm: internal error: {what} — please report it "
                          "(set NSM_DEBUG=1 for the traceback)")


def _ascii_safe(stream) -> None:
    """On a stdout that cannot encode box lines, ▼ or Chinese (PYTHONIOENCODING=ascii, a C
    locale), write what it cannot encode as \\u escapes instead of failing."""
    try:
        "│▼元".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _click_saw_broken_pipe() -> bool:
    """Click answers EPIPE while printing help by wrapping stdout and exiting 1; undo both."""
    wrapped = getattr(sys.stdout, "wrapped", None)
    if type(sys.stdout).__name__ != "PacifyFlushWrapper" or wrapped is None:
        return False
    sys.stdout = wrapped
    sys.stderr = getattr(sys.stderr, "wrapped", sys.stderr)
    _silence_stdout()
    return True


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _rich_saw_broken_pipe(before: tuple[int, int] | None) -> bool:
    """Rich (printing help) answers EPIPE by pointing stdout at /dev/null and exiting 1."""
    now = _identity(1)
    return now is not None and now != before and now == _identity_of(os.devnull)


def _identity_of(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:
    """Console-script entry: exit with main's code.

    Once the output is flushed, the process ends at once (os._exit) instead of tearing the
    interpreter down object by object: 0.2-0.3 s of a 100,000-node eval. If the last flush
    fails, the interpreter's usual exit handles it.
    """
    from nsm_cli.data.ahead import drop_early

    end_without_freeing()
    code = main()
    drop_early()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)

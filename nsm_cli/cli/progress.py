"""The CLI's progress hook: a bar on stderr for long work, only when stderr is a terminal.

Never on stdout (so `--format json` stays clean) and never when stderr is piped or
redirected; rich is imported only when a bar is actually shown. `cli.main` installs it
(:func:`nsm_cli.data.runtime.reporting`); the library only reports stages.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nsm_cli.data.runtime import MIN_TOTAL, quiet


@contextmanager
def bar(description: str, total: int, minimum: int = MIN_TOTAL) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; draw a transient bar only for big work on a terminal."""
    if total < minimum or not sys.stderr.isatty():
        with quiet(description, total, minimum) as advance:
            yield advance
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from nsm_cli.diagnostics import escape_control

    progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                        TaskProgressColumn(), console=Console(stderr=True), transient=True)
    with progress:
        task = progress.add_task(escape_control(description), total=total)
        yield lambda n: progress.advance(task, n)

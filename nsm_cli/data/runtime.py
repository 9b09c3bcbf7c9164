"""What the caller decides for a whole run: how progress shows, and the garbage collector.

The library never writes to a terminal nor changes process-wide settings on its own. Long
stages (loading a huge tree, reading a big file) report through :func:`stage`: by default
nothing is shown; the CLI installs a progress bar with :func:`reporting`, and a notebook may
install its own (any callable with :data:`Progress`'s signature). The CLI also runs inside
:func:`collector_paused`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

MIN_TOTAL = 16 << 20  # units (bytes, nodes) below which work is too quick to need a bar

Advance = Callable[[int], None]
# (description, total units, the least total worth showing) → a context yielding advance(n)
Progress = Callable[[str, int, int], AbstractContextManager[Advance]]


def _nothing(_: int) -> None:
    return None


@contextmanager
def quiet(description: str, total: int, minimum: int = MIN_TOTAL) -> Iterator[Advance]:
    """The default hook: show nothing."""
    yield _nothing


_HOOK: ContextVar[Progress] = ContextVar("nsm_progress", default=quiet)


@contextmanager
def reporting(hook: Progress) -> Iterator[None]:
    """Report the stages of the work done inside through `hook`."""
    token = _HOOK.set(hook)
    try:
        yield
    finally:
        _HOOK.reset(token)


def stage(description: str, total: int, minimum: int = MIN_TOTAL
          ) -> AbstractContextManager[Advance]:
    """A stage of `total` units: the installed hook decides whether and how it shows."""
    return _HOOK.get()(description, total, minimum)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a run, then freeze what it built.

    Loading builds millions of small acyclic objects; the collector would walk them again
    and again (a 100,000-node tree loads in 9 s instead of 24 s without it). A process-wide
    setting: the CLI wraps its run in it; the library never calls it on its own (a notebook
    may, around a big load).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()

"""Database queries sent ahead: `nsm eval` sends a database block's query right after reading
the tree, on a thread, so that the database works while nsm imports numpy, the analyses and
the renderers; the block then takes the answer (data/warehouse.py, read_database). A cheap
query is mostly nsm's start-up otherwise (issue 12: PostgreSQL within 1.5× of psql).

This module stays light: a tree that names no connection costs one read of its first
megabyte, and nothing of the database code is imported for it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath

BIG_TREE = 1 << 20  # bytes: a tree this big is not parsed a second time to send queries ahead


# Options a plain `nsm eval TREE` may carry for its queries to go out before the command line
# is even loaded: they change the rendering, never the query.
EARLY_OPTIONS = {"--format": 1, "-f": 1, "--period": 1, "-p": 1}
_SENT_EARLY: list[str] = []   # the tree whose queries went out from the console entry


def send_early(argv: list[str]) -> None:
    """From the console entry, before typer loads: `nsm eval TREE` with nothing but
    EARLY_OPTIONS sends the tree's queries now. Anything else waits for the command; queries
    the command never takes (a usage error) are dropped by `drop_early` at the end."""
    if len(argv) < 2 or argv[0] != "eval" or argv[1].startswith("-"):
        return
    rest = argv[2:]
    while rest:
        wanted = EARLY_OPTIONS.get(rest[0])
        if wanted is None or len(rest) <= wanted:
            return
        rest = rest[1 + wanted:]
    if not _names_a_connection(argv[1]):
        return
    from nsm_cli.data.warehouse import send_ahead

    _SENT_EARLY.append(str(PurePath(argv[1])))   # as typer's Path will spell it
    send_ahead(argv[1])


def drop_early() -> None:
    """Drop what the console entry sent and no command took (the process is about to end)."""
    if _SENT_EARLY:
        from nsm_cli.data.warehouse import drop_unclaimed

        drop_unclaimed()


@contextmanager
def queries_ahead(path: str | None) -> Iterator[None]:
    """Send the tree's database queries now (unless the console entry already did) and run
    the block; any answer not taken by the end (an error, Ctrl-C) is dropped: its query
    interrupted, its connection closed."""
    early = path is not None and path in _SENT_EARLY
    if not early and (path is None or not _names_a_connection(path)):
        yield
        return
    from nsm_cli.data.warehouse import drop_unclaimed, send_ahead

    try:
        if not early:
            send_ahead(path)
        yield
    finally:
        drop_unclaimed()


def _names_a_connection(path: str) -> bool:
    """Whether a tree of at most BIG_TREE bytes mentions connections (a big tree is not
    parsed twice: its blocks ask in their turn)."""
    try:
        found = os.stat(path)
        if not stat.S_ISREG(found.st_mode) or found.st_size > BIG_TREE:
            return False  # a FIFO or a device would block: the parser refuses it (E100)
        with open(path, "rb") as file:
            head = file.read(BIG_TREE + 1)
    except OSError:
        return False
    return len(head) <= BIG_TREE and b"connection" in head

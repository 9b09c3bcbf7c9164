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

BIG_TREE = 1 << 20  # bytes: a tree this big is not parsed a second time to send queries ahead


@contextmanager
def queries_ahead(path: str | None) -> Iterator[None]:
    """Send the tree's database queries now and run the block; any answer not taken by the
    end (an error, Ctrl-C) is dropped: its query interrupted, its connection closed."""
    if path is None or not _names_a_connection(path):
        yield
        return
    from nsm_cli.data.warehouse import drop_unclaimed, send_ahead

    try:
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

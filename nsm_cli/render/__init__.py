"""Renderers: pure functions from a command's result (plain data) to text or a rich renderable.

Each command has one registry of formats; the CLI picks from it by `--format`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Renderer = Callable[[Any], Any]


def to_json(result: Any) -> str:
    """The result as JSON: UTF-8 names kept readable, keys in the result's order."""
    from nsm_cli.analysis.results import to_json as plain_data

    return json.dumps(plain_data(result), ensure_ascii=False, indent=2) + "\n"


def tree_guides(result_nodes: list[Any], root: str) -> list[tuple[str, str, bool]]:
    """Rows of (prefix, node id, is_reference) walking the tree from the root.

    A shared driver is drawn in full where it is defined and as a reference
    (`↪`) wherever else it feeds a formula.
    """
    by_id = {node.id: node for node in result_nodes}
    rows: list[tuple[str, str, bool]] = []
    stack: list[tuple[str, str, str, bool]] = [(root, "", "", False)]
    while stack:
        node_id, lead, continuation, is_ref = stack.pop()
        rows.append((lead, node_id, is_ref))
        node = by_id.get(node_id)
        if node is None or is_ref:
            continue
        kids = node.children
        shared = set(node.shared)
        items = []
        for position, kid in enumerate(kids):
            last = position == len(kids) - 1
            branch = "└── " if last else "├── "
            further = "    " if last else "│   "
            reference = kid in shared or getattr(by_id.get(kid), "parent", None) != node_id
            items.append((kid, continuation + branch, continuation + further, reference))
        stack.extend(reversed(items))
    return rows


def guide_label(prefix: str, node: Any, is_ref: bool, shared_note: str) -> Any:
    """A row's label after its tree guides: the name, or `↪ name (note)` for a shared driver."""
    from rich.text import Text

    label = Text(prefix, style="dim")
    if is_ref:
        label.append(f"↪ {node.name}", style="italic")
        label.append(f" ({shared_note})", style="dim")
    return label


def keep_numbers_whole(table: Any, shrinkable: tuple[str, ...] = ("metric", "owner")) -> Any:
    """Let only name-like columns shrink on a narrow terminal: numbers are never cut short."""
    from rich.cells import cell_len
    from rich.text import Text

    for column in table.columns:
        if str(column.header) in shrinkable:
            continue
        widths = [cell_len(cell.plain if isinstance(cell, Text) else str(cell))
                  for cell in column.cells]
        header = column.header.plain if isinstance(column.header, Text) else str(column.header)
        column.min_width = max([cell_len(header), *widths])
    return table


def plain_table() -> Any:
    """The table every text renderer uses: no box, one space between columns, bold header."""
    from rich.table import Table

    return Table(box=None, pad_edge=False, show_edge=False, padding=(0, 1), header_style="bold")

"""Renderers: pure functions from a command's result (plain data) to text or a rich renderable.

Each command has one registry of formats; the CLI picks from it by `--format`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from nsm_cli.diagnostics import escape_control

Renderer = Callable[[dict[str, Any]], Any]
# formats whose output is JSON: it escapes control characters itself and must keep names as is
MACHINE_FORMATS = frozenset({"json", "sarif"})


def printable(result: Any) -> Any:
    """The result with every string's control characters escaped (see `escape_control`).

    Applied once, where the CLI hands a result to a renderer for people (text, markdown,
    github): names, units, ids, periods and paths are other people's text. Dicts, lists,
    tuples and dataclasses are rebuilt; everything else is returned as it is.
    """
    if isinstance(result, str):
        return escape_control(result)
    if isinstance(result, dict):
        return {printable(key): printable(value) for key, value in result.items()}
    if isinstance(result, (list, tuple)):
        return type(result)(printable(item) for item in result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        changed = {f.name: printable(getattr(result, f.name))
                   for f in dataclasses.fields(result) if f.init}
        return dataclasses.replace(result, **changed)
    return result


def for_people(renderer: Callable[..., Any]) -> Callable[..., Any]:
    """`renderer` fed with :func:`printable` results."""

    def render(result: Any) -> Any:
        return renderer(printable(result))

    return render


def to_json(result: dict[str, Any]) -> str:
    """The result as JSON: UTF-8 names kept readable, keys in the result's order."""
    return json.dumps(result, ensure_ascii=False, indent=2) + "\n"


def tree_guides(result_nodes: list[dict[str, Any]], root: str) -> list[tuple[str, str, bool]]:
    """Rows of (prefix, node id, is_reference) walking the tree from the root.

    A shared driver is drawn in full where it is defined and as a reference
    (`↪`) wherever else it feeds a formula.
    """
    by_id = {node["id"]: node for node in result_nodes}
    rows: list[tuple[str, str, bool]] = []
    stack: list[tuple[str, str, str, bool]] = [(root, "", "", False)]
    while stack:
        node_id, lead, continuation, is_ref = stack.pop()
        rows.append((lead, node_id, is_ref))
        node = by_id.get(node_id)
        if node is None or is_ref:
            continue
        kids = node["children"]
        shared = set(node.get("shared", []))
        items = []
        for position, kid in enumerate(kids):
            last = position == len(kids) - 1
            branch = "└── " if last else "├── "
            further = "    " if last else "│   "
            reference = kid in shared or by_id.get(kid, {}).get("parent") != node_id
            items.append((kid, continuation + branch, continuation + further, reference))
        stack.extend(reversed(items))
    return rows


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
    """The table every text renderer uses: no box, one space between columns, bold header.

    Its cells and headers given as strings are plain text, never rich markup: a unit
    `元[/人]` or a name `[bold]` prints as written.
    """
    from nsm_cli.render.text_table import TextTable

    return TextTable(box=None, pad_edge=False, show_edge=False, padding=(0, 1),
                     header_style="bold")

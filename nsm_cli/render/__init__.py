"""Renderers: pure functions from a command's result (plain data) to text or a rich renderable.

Each command has one registry of formats; the CLI picks from it by `--format`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from nsm_cli.analysis.results import Rows
from nsm_cli.diagnostics import escape_control

Renderer = Callable[[Any], Any]
# formats that escape text themselves: JSON (and SARIF) keep names exactly, escaped by JSON;
# Mermaid and DOT labels put a line break as a space and escape the rest (render/diagrams.py)
MACHINE_FORMATS = frozenset({"json", "sarif", "mermaid", "dot"})


def printable(result: Any) -> Any:
    """The result with every string's control characters escaped (see `escape_control`).

    Applied once, where the CLI hands a result to a renderer for people (text, markdown,
    github): names, units, ids, periods and paths are other people's text. Dicts, lists,
    tuples and dataclasses are rebuilt; everything else is returned as it is.
    """
    if _all_printable(result):   # the usual case: nothing to escape, nothing to rebuild
        return result
    return _escaped_copy(result)


def _escaped_copy(result: Any) -> Any:
    if isinstance(result, str):
        return escape_control(result)
    if isinstance(result, dict):
        return {_escaped_copy(key): _escaped_copy(value) for key, value in result.items()}
    if isinstance(result, Rows):
        return [_escaped_copy(item) for item in result]
    if isinstance(result, (list, tuple)):
        return type(result)(_escaped_copy(item) for item in result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        changed = {name: _escaped_copy(getattr(result, name))
                   for name in _init_fields(type(result))}
        return dataclasses.replace(result, **changed)
    return result


_NUMBERS = frozenset({float, int, bool, type(None)})


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _all_printable(result: Any) -> bool:
    """True when no string :func:`printable` would reach needs escaping (one walk, no copy)."""
    stack = [result]
    while stack:
        item = stack.pop()
        if type(item) in _NUMBERS:
            continue
        if isinstance(item, str):
            if not item.isprintable():
                return False
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, Rows)):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend([getattr(item, name) for name in _init_fields(type(item))])
    return True


def for_people(renderer: Callable[..., Any]) -> Callable[..., Any]:
    """`renderer` fed with :func:`printable` results (whatever it takes: a result, or none)."""

    def render(*results: Any) -> Any:
        return renderer(*(printable(result) for result in results))

    return render


def to_json(result: Any) -> str:
    """The result as JSON: UTF-8 names kept readable, keys in the result's order."""
    from nsm_cli.render.fastjson import dumps

    return dumps(result) + "\n"


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


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: pipes, emphasis, links and tags escaped, line
    breaks made spaces (a formula's `a * b * c` must not turn italic)."""
    escaped = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
    escaped = escaped.replace("[", "\\[")   # no link or image: `![x](https://…)` stays text
    escaped = escaped.replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(escaped.split("\n"))


def md_plain(text: str) -> str:
    """No raw HTML in Markdown: `<` and `>` as entities, so a unit or name from a tree file
    (`<img src=…>`) shows as text in a pull-request comment. Idempotent on `md_cell`'s output."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;")


def md_row(cells: list[str]) -> str:
    """One Markdown table row; every cell passes through :func:`md_plain`."""
    return "| " + " | ".join(md_plain(cell) for cell in cells) + " |"


def md_table(header: list[str], align: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table; `align` holds `:--`, `--:` or `:-:` per column."""
    lines = [md_row(header), "|" + "|".join(align) + "|"]
    lines += [md_row(row) for row in rows]
    return lines


# --- text that fits: wrap names, never cut a number ------------------------------------------

MIN_NAME = 16   # cells a wrapped name keeps beside its tree guides, at the least


def cell_width(cell: Any) -> int:
    """The widest line of a cell, in terminal cells (a Han character is two)."""
    from rich.cells import cell_len
    from rich.text import Text

    text = cell.plain if isinstance(cell, Text) else str(cell)
    if "\n" not in text:   # most cells: one line (5,000-row trees measure every cell)
        return len(text) if text.isascii() and text.isprintable() else cell_len(text)
    return max(cell_len(line) for line in text.split("\n"))


def column_width(cells: list[Any]) -> int:
    """The widest line of any of the cells, in terminal cells: `max(map(cell_width, cells))`,
    measured in one pass over the whole column when every character takes one cell."""
    from rich.cells import get_character_cell_size
    from rich.text import Text

    if not cells:
        return 0
    joined = "\n".join([cell.plain if isinstance(cell, Text) else str(cell) for cell in cells])
    chars = set(joined)
    chars.discard("\n")
    if all(char.isascii() and char.isprintable() or get_character_cell_size(char) == 1
           and char not in "\u200d\ufe0f" for char in chars):
        return max(map(len, joined.split("\n")))
    return max(map(cell_width, cells))


def natural_width(table: Any) -> int:
    """The width a borderless table takes unshrunk: widest cell per column plus the gaps."""
    columns = [column_width([column.header, *column.cells]) for column in table.columns]
    return sum(columns) + 2 * (len(columns) - 1)


def wrap_words(text: str, width: float, measure: Callable[[str], float] | None = None
               ) -> list[str]:
    """Lines of at most `width` (terminal cells, or what `measure` counts: pixels), broken
    between words (inside a word only when it is longer than a line, as Chinese names are)."""
    from rich.cells import cell_len

    measure = measure or cell_len
    width = max(width, 2)
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if measure(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    lines.append(line)
    return lines


def tree_label(prefix: str, name: str, width: int | None, has_kids: bool,
               style: str = "", extra: list[tuple[str, str]] = ()) -> Any:
    """A tree row's label: guides, then the name wrapped to `width` cells (None: one line).

    Continuation lines carry the guides on, so the tree still reads when names wrap;
    `extra` adds (text, style) pieces after the name (marks, a unit, an owner line).
    """
    from rich.cells import cell_len
    from rich.text import Text

    label = Text(prefix, style="dim")
    if width is None:
        label.append(name, style=style)
        for text, piece_style in extra:
            label.append(text, style=piece_style)
        return label
    further = prefix.replace("├── ", "│   ").replace("└── ", "    ")
    further += "│   " if has_kids else "    "
    room = max(width - cell_len(further), MIN_NAME // 2)
    words = name + "".join(text for text, _ in extra)
    lines = wrap_words(words, room)
    position = 0
    for number, line in enumerate(lines):
        if number:
            label.append("\n" + further, style="dim")
        start = words.index(line, position) if line else position
        _append_styled(label, line, start, len(name), style, extra)
        position = start + len(line)
    return label


def _append_styled(label: Any, line: str, start: int, name_length: int, style: str,
                   extra: list[tuple[str, str]]) -> None:
    """Append one wrapped line, styling the name's part and each extra piece as given."""
    bounds = [(0, name_length, style)]
    at = name_length
    for text, piece_style in extra:
        bounds.append((at, at + len(text), piece_style))
        at += len(text)
    end = start + len(line)
    for low, high, piece_style in bounds:
        low, high = max(low, start), min(high, end)
        if low < high:
            label.append(line[low - start:high - start], style=piece_style)


class Fitted:
    """A table laid out when printed: as built if it fits, else with names wrapped, else in
    its compact form (units and owners beside the names), so numbers are never cut.

    `build(name_width, compact)` makes the table; column 0 holds the names. `min_name` is
    the narrowest the names' column may get (tree guides included).
    """

    WIDE_ENOUGH = 36   # below this many cells for names, the compact form reads better

    def __init__(self, build: Callable[[int | None, bool], Any], min_name: int = MIN_NAME):
        self.build = build
        self.min_name = min_name

    def __rich_console__(self, console: Any, options: Any):
        width = options.max_width
        room = self.min_name
        for compact in (False, True):
            table = self.build(None, compact)
            whole = natural_width(table)
            if whole <= width:
                yield table
                return
            names = max([cell_width(table.columns[0].header),
                         *map(cell_width, table.columns[0].cells)])
            room = width - (whole - names)
            if room >= (self.min_name if compact else max(self.min_name, self.WIDE_ENOUGH)):
                yield self.build(room, compact)
                return
        # too many columns for one table: the names and as many columns as fit, then the
        # names again with the rest, so no column is cut off at the terminal's edge
        table = self.build(max(self.min_name, width // 3), True)
        yield from split_columns(table, width)


def split_columns(table: Any, width: int) -> list[Any]:
    """The table as several, each with column 0 and as many of the others as fit `width`."""
    sizes = [max([cell_width(c.header), *map(cell_width, c.cells)]) for c in table.columns]
    groups: list[list[int]] = [[]]
    used = sizes[0]
    for index in range(1, len(sizes)):
        if groups[-1] and used + 2 + sizes[index] > width:
            groups.append([])
            used = sizes[0]
        groups[-1].append(index)
        used += 2 + sizes[index]
    parts: list[Any] = []
    for number, group in enumerate(groups):
        part = plain_table()
        for column in [table.columns[0]] + [table.columns[i] for i in group]:
            part.add_column(column.header, justify=column.justify, no_wrap=column.no_wrap,
                            min_width=column.min_width, overflow=column.overflow)
        for row in range(table.row_count):
            part.add_row(*[table.columns[i]._cells[row] for i in [0, *group]])
        if number:
            parts.append("")
        parts.append(part)
    return parts


def min_name_width(rows: list[tuple[str, str, bool]]) -> int:
    """The narrowest a tree's names column may get: the deepest guides and a few cells."""
    from rich.cells import cell_len

    deepest = max((cell_len(prefix) for prefix, _, _ in rows), default=0)
    return deepest + 4 + MIN_NAME // 2

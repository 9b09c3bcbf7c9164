"""Text output without colour, written straight from the tables: the same characters rich prints.

rich lays a table out cell by cell through its segment machinery: 8 s for the 5,461 rows of a
big eval. When nothing is styled (output not to a terminal, or no colour) a borderless table
that fits the width is just columns padded and joined with two spaces, so this module writes
that directly. It handles what the renderers use (Group, Text, str, the `Fitted` table and
tables made by `plain_table()`) and answers None for anything else, or anything it cannot be
sure to lay out exactly as rich would (a tab, markup, a line wider than the terminal, a
fixed-width column): the caller then prints through rich. Tests compare both outputs.
"""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len, get_character_cell_size
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from nsm_cli.render import Fitted

# what rich's str → Text conversion would change (markup, emoji codes, control characters)
_RICH_STR = re.compile(r"[\[:\x00-\x1f\x7f]")
# characters str.splitlines() breaks on besides "\n": rich measures with it, renders with "\n"
_ODD_BREAKS = re.compile(r"[\t\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _zero_width(text: str) -> bool:
    """A combining accent or another character of no width: rich's cropping differs there."""
    return not text.isascii() and any(get_character_cell_size(char) == 0 for char in text)


class _NotPlain(Exception):
    """Something rich would lay out differently from the plain writer: let rich print it."""


def plain_text(renderable: Any, console: Console) -> str | None:
    """What `console.print(renderable)` writes when nothing is styled, or None if unsure."""
    lines: list[str] = []
    try:
        _render(renderable, console, lines)
    except _NotPlain:
        return None
    return "".join(line + "\n" for line in lines)


def _render(renderable: Any, console: Console, lines: list[str]) -> None:
    width = console.width
    if isinstance(renderable, Group):
        for part in renderable.renderables:
            _render(part, console, lines)
    elif isinstance(renderable, Fitted):
        for part in renderable.__rich_console__(console, console.options):
            _render(part, console, lines)
    elif isinstance(renderable, Table):
        lines.extend(_table_lines(renderable, console, width))
    elif isinstance(renderable, (str, Text)):
        text = _cell_text(renderable, console)
        if (text.justify not in (None, "default", "left") or _ODD_BREAKS.search(text.plain)
                or _zero_width(text.plain)):
            raise _NotPlain
        for line in text.plain.split("\n"):
            if cell_len(line) > width or line[-1:].isspace():
                raise _NotPlain   # rich would wrap it, or might drop the trailing space
            lines.append(line)
    else:
        raise _NotPlain


def _cell_text(cell: Any, console: Console) -> Text:
    """A cell as rich sees it: a str goes through markup and emoji codes, as rich does."""
    if isinstance(cell, Text):
        return cell
    if isinstance(cell, str):
        return console.render_str(cell) if _RICH_STR.search(cell) else Text(cell)
    raise _NotPlain


def _check_table(table: Table) -> None:
    """Only the shape `plain_table()` makes: no box, header shown, padding (0, 1), no edge."""
    if (table.box is not None or not table.show_header or table.show_footer or table.expand
            or table.pad_edge or tuple(table.padding) != (0, 1, 0, 1) or table.width is not None
            or table.min_width is not None or table.title or table.caption
            or table.collapse_padding or table.row_styles or not table.columns):
        raise _NotPlain
    for column in table.columns:
        if (column.width is not None or column.max_width is not None or column.ratio
                or column.justify not in ("left", "right", "center")
                or column.vertical != "top" or column.overflow not in ("ellipsis", "fold", "crop")):
            raise _NotPlain


def _column_lines(column: Any, console: Console) -> list[list[str]]:
    """Each cell of a column (header first) as its lines of plain text."""
    cells: list[list[str]] = []
    for cell in [column.header, *column.cells]:
        text = _cell_text(cell, console)
        plain = text.plain
        if (text.justify is not None or text.overflow is not None
                or getattr(cell, "vertical", None) or _ODD_BREAKS.search(plain)
                or plain.endswith("\n") or _zero_width(plain)):
            raise _NotPlain
        lines = plain.split("\n") if plain else [""]
        if not column.no_wrap and any(line[-1:].isspace() for line in lines):
            raise _NotPlain   # rich's word wrap may drop a trailing space
        cells.append(lines)
    return cells


def _table_lines(table: Table, console: Console, width: int) -> list[str]:
    _check_table(table)
    last = len(table.columns) - 1
    columns = [_column_lines(column, console) for column in table.columns]
    pads = [(0 if index == 0 else 1, 0 if index == last else 1) for index in range(last + 1)]
    widths = []
    for index, cells in enumerate(columns):
        content = max(cell_len(line) for cell in cells for line in cell)
        minimum = table.columns[index].min_width
        widths.append(max(content, minimum or 0, 0) + sum(pads[index]) or 1)
    if sum(widths) > width:
        raise _NotPlain   # rich would shrink or wrap columns
    justify = [column.justify for column in table.columns]
    out: list[str] = []
    for row in range(len(columns[0])):
        cells = [cells[row] for cells in columns]
        height = max(len(cell) for cell in cells)
        for line_no in range(height):
            parts = []
            for index, cell in enumerate(cells):
                # the header sits at the bottom of its row, other cells at the top
                at = line_no - (height - len(cell)) if row == 0 else line_no
                text = cell[at] if 0 <= at < len(cell) else ""
                left, right = pads[index]
                parts.append(" " * left + _justify(text, widths[index] - left - right,
                                                   justify[index] if text else "left")
                             + " " * right)
            out.append("".join(parts))
    return out


def _justify(text: str, width: int, how: str) -> str:
    """One line of a cell padded to the column's width as rich justifies it."""
    if how == "left":
        return text + " " * (width - cell_len(text))
    text = text.rstrip()
    room = width - cell_len(text)
    if how == "right":
        return " " * room + text
    return " " * (room // 2) + text + " " * (room - room // 2)

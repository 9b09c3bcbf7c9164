"""Text output without colour, written straight from the tables: the same characters rich prints.

rich lays a table out cell by cell through its segment machinery: 8 s for the 5,461 rows of a
big eval. When nothing is styled (output not to a terminal, or no colour) a borderless table
that fits the width is just columns padded and joined with two spaces, so this module writes
that directly. It handles what the renderers use (Group, Text, str, what a `LaidOut` (Fitted,
FitTable…) lays out for the width, and tables made by `plain_table()`) and answers None for
anything else, or anything it cannot be sure to lay out exactly as rich would (a tab, markup,
a line wider than the terminal, a fixed-width column): the caller then prints through rich.
Tests compare both outputs.
"""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len, get_character_cell_size
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from nsm_cli.render import LaidOut

# what rich's str → Text conversion would change (markup, emoji codes, control characters)
_RICH_STR = re.compile(r"[\[:\x00-\x1f\x7f]")
# control characters (no width, or stripped by rich), tabs, and what str.splitlines() breaks on
# besides "\n" (rich measures lines with it but renders them split at "\n")
_AWKWARD = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\x85\u2028\u2029]")


def _zero_width(text: str) -> bool:
    """A combining accent or another character of no width: rich's cropping differs there."""
    return not text.isascii() and any(get_character_cell_size(char) == 0 for char in text)


_JOINERS = {"\u200d", "\ufe0f"}   # rich measures these with the character before them
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
    elif isinstance(renderable, LaidOut):
        for part in renderable.__rich_console__(console, console.options):
            _render(part, console, lines)
    elif isinstance(renderable, Table):
        lines.extend(_table_lines(renderable, console, width))
    elif isinstance(renderable, (str, Text)):
        text = _cell_text(renderable, console)
        if (text.justify not in (None, "default", "left") or _AWKWARD.search(text.plain)
                or _zero_width(text.plain) or _JOINERS.intersection(text.plain)):
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


def _width(line: str) -> int:
    return len(line) if line.isascii() else cell_len(line)


def _column_plains(column: Any, console: Console) -> list[str]:
    """Each cell of a column (header first) as its plain text."""
    plains: list[str] = []
    append = plains.append
    for cell in [column.header, *column.cells]:
        if type(cell) is str and not _RICH_STR.search(cell):
            append(cell)
            continue
        text = _cell_text(cell, console)
        if text.justify is not None or text.overflow is not None or getattr(
                cell, "vertical", None):
            raise _NotPlain
        append(text.plain)
    return plains


def _one_cell_each(joined: str) -> bool:
    """True when every character of the text takes one cell, so widths are lengths; raises
    for a character of no width (a combining accent, a joiner), where rich's cropping differs."""
    if joined.isascii():
        return True
    chars = set(joined)
    chars.discard("\n")
    if chars & _JOINERS or any(get_character_cell_size(char) == 0 for char in chars):
        raise _NotPlain
    return all(get_character_cell_size(char) == 1 for char in chars)


def _padded_column(column: Any, plains: list[str], left: int, right: int,
                   ) -> tuple[int, list[str | list[str]]]:
    """The column's width and each cell padded to it: a line, or a cell's lines."""
    joined = "\n".join(plains)
    if _AWKWARD.search(joined):
        raise _NotPlain
    uniform = _one_cell_each(joined)
    several = joined.count("\n") >= len(plains)
    if several and any(plain[-1:] == "\n" for plain in plains):
        raise _NotPlain   # rich drops a cell's last empty line
    cells = [plain.split("\n") for plain in plains] if several else None
    if not column.no_wrap and any(line[-1:].isspace() for line in joined.split("\n")):
        raise _NotPlain   # rich's word wrap may drop a trailing space
    measure = len if uniform else _width
    lines = [line for cell in cells for line in cell] if cells else plains
    inner = max(max(map(measure, lines)), column.min_width or 0)
    if inner + left + right == 0:
        inner = 1   # rich gives an empty column one cell
    pre, post, how = " " * left, " " * right, column.justify
    if uniform and how != "center":
        def fit(line: str) -> str:
            return pre + (line.ljust(inner) if how == "left" else line.rstrip().rjust(inner)) + post
    else:
        def fit(line: str) -> str:
            return pre + _justify(line, inner, how) + post
    if cells is None:
        return inner + left + right, [fit(plain) for plain in plains]
    return inner + left + right, [list(map(fit, cell)) if len(cell) > 1 else fit(cell[0])
                                  for cell in cells]


def _table_lines(table: Table, console: Console, width: int) -> list[str]:
    _check_table(table)
    last = len(table.columns) - 1
    padded: list[list[str | list[str]]] = []   # per column, per cell: its padded line(s)
    widths: list[int] = []
    for index, column in enumerate(table.columns):
        size, cells = _padded_column(column, _column_plains(column, console),
                                     0 if index == 0 else 1, 0 if index == last else 1)
        widths.append(size)
        padded.append(cells)
    if sum(widths) > width:
        raise _NotPlain   # rich would shrink or wrap columns
    out: list[str] = []
    for row, cells in enumerate(zip(*padded, strict=True)):
        if all(type(cell) is str for cell in cells):
            out.append("".join(cells))
            continue
        out.extend(_tall_row([[cell] if type(cell) is str else cell for cell in cells],
                             widths, header=row == 0))
    return out


def _tall_row(cells: list[list[str]], widths: list[int], header: bool) -> list[str]:
    """A row whose cells span several lines: the header sits at the bottom, cells at the top."""
    height = max(map(len, cells))
    out = []
    for line_no in range(height):
        parts = []
        for index, cell in enumerate(cells):
            at = line_no - (height - len(cell)) if header else line_no
            parts.append(cell[at] if 0 <= at < len(cell) else " " * widths[index])
        out.append("".join(parts))
    return out


def _justify(text: str, width: int, how: str) -> str:
    """One line of a cell padded to the column's width as rich justifies it."""
    if how == "left" or not text:
        return text + " " * (width - _width(text))
    text = text.rstrip()
    room = width - _width(text)
    if how == "right":
        return " " * room + text
    return " " * (room // 2) + text + " " * (room - room // 2)

"""A rich table whose string cells are text, and that stays fast with thousands of rows.

Names and units are never read as markup. Rich lays out a table by measuring and
rendering every cell as its own renderable, about a millisecond a row: 18,000 alerts
took half a minute as text against seconds as JSON. Past :data:`FAST_ROWS` rows this
table lays itself out line by line (the same columns, padding, justification and
shrinking rules, folding long cells at the column's width), which costs microseconds
a row.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

FAST_ROWS = 500   # more rows than this: lay out line by line
MIN_SHRUNK = 4    # cells of a name column kept when the terminal is narrow


def as_text(cell: Any) -> Any:
    """A string as plain `Text` (rich would parse `[/]` in it as markup); others unchanged."""
    return Text(cell) if isinstance(cell, str) else cell


class TextTable(Table):
    """`rich.table.Table` that takes strings as text, in rows and in column headers."""

    def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:
        super().add_column(as_text(header), *args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(as_text(cell) for cell in cells), **kwargs)

    @classmethod
    def text_grid(cls, **kwargs: Any) -> TextTable:
        """Like `Table.grid`: no header, no edge, no box."""
        return cls(show_header=False, show_edge=False, box=None, pad_edge=False, **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.row_count <= FAST_ROWS or not self._plain_enough():
            yield from super().__rich_console__(console, options)
            return
        yield from _fast_lines(self, console, options.max_width)

    def _plain_enough(self) -> bool:
        """Only text cells, no box, no edge padding, no title: what the fast layout draws."""
        return (self.box is None and not self.pad_edge and self.title is None
                and self.caption is None
                and all(isinstance(cell, Text) for column in self.columns
                        for cell in column._cells))


def _fast_lines(table: TextTable, console: Console, width: int) -> RenderResult:
    _, right, _, left = Padding.unpack(table.padding)
    gap = max(right, left) if table.collapse_padding else right + left
    columns = table.columns
    header = [as_text(c.header) for c in columns] if table.show_header else None
    widths, lengths = _fit(table, header, width, gap)
    header_style = console.get_style(table.header_style) if table.header_style else None
    styles: dict[Any, Style | None] = {}

    def style_of(text: Text) -> Style | None:
        if text.style not in styles:
            styles[text.style] = console.get_style(text.style) if text.style else None
        return styles[text.style]

    spacer, last = Segment(" " * gap), len(columns) - 1
    rows = range(-1 if header else 0, table.row_count)
    for i in rows:
        row = header if i < 0 else [column._cells[i] for column in columns]
        pieces = [_cell_lines(console, cell, column, size, lengths[k][i + 1])
                  for k, (cell, column, size) in enumerate(zip(row, columns, widths,
                                                               strict=True))]
        for line in range(max(len(p) for p in pieces)):
            for k, (piece, column, size) in enumerate(zip(pieces, columns, widths, strict=True)):
                if k:
                    yield spacer
                text, used = piece[line] if line < len(piece) else (Text(""), 0)
                pad = " " * (size - used)
                if column.justify == "right":
                    yield Segment(pad)
                base = header_style if i < 0 else None
                if text.spans:
                    for segment in text.render(console):
                        yield Segment(segment.text, _joined(base, segment.style))
                else:
                    yield Segment(text.plain, _joined(base, style_of(text)))
                if column.justify != "right" and k < last:
                    yield Segment(pad)
            yield Segment.line()


def _joined(first: Style | None, second: Style | None) -> Style | None:
    return first + second if first and second else first or second


def _fit(table: TextTable, header: list[Text] | None, width: int,
         gap: int) -> tuple[list[int], list[list[int]]]:
    """Each column's width (name columns shrunk to fit `width`) and every cell's length
    (header first)."""
    widths, lengths = [], []
    for k, column in enumerate(table.columns):
        found = [cell_len(header[k].plain) if header else 0]
        found += [cell_len(cell.plain) for cell in column._cells]
        lengths.append(found)
        widths.append(max(found))
    excess = sum(widths) + gap * (len(widths) - 1) - width
    # like rich: columns that wrap give way first, then those cut with an ellipsis
    for wraps in (True, False):
        shrinkable = [k for k, column in enumerate(table.columns)
                      if column.min_width is None and column.overflow in ("ellipsis", "fold")
                      and (not column.no_wrap) is wraps]
        while excess > 0 and shrinkable:
            k = max(shrinkable, key=lambda k: widths[k])
            if widths[k] <= MIN_SHRUNK:
                break
            widths[k] -= 1
            excess -= 1
    return widths, lengths


def _cell_lines(console: Console, cell: Text, column: Any, size: int,
                length: int) -> list[tuple[Text, int]]:
    """The cell within `size` cells, with each line's length: as it is, cut with …
    (ellipsis), or wrapped (fold)."""
    if length <= size:
        return [(cell, length)]
    plain = cell.plain
    if column.overflow == "fold" and not column.no_wrap:
        if cell.spans:
            lines = list(cell.wrap(console, size, overflow="fold"))
        else:
            lines = [Text(line, style=cell.style) for line in _wrap(plain, size)]
        return [(line, cell_len(line.plain)) for line in lines]
    cut = set_cell_size(plain, max(size - 1, 0))
    return [(cell[: len(cut)] + Text("…", style=cell.style), cell_len(cut) + 1)]


def _wrap(plain: str, size: int) -> list[str]:
    """Words greedily into lines of at most `size` cells; a longer word is folded (as rich's
    `overflow="fold"` wrap does, at a fraction of its cost for a one-style cell)."""
    lines: list[str] = []
    current, width = "", 0
    for word in plain.split(" "):
        length = cell_len(word)
        if current and width + 1 + length <= size:
            current, width = f"{current} {word}", width + 1 + length
            continue
        if current:
            lines.append(current)
        while length > size:
            head, *_ = chop_cells(word, size)
            lines.append(head)
            word = word[len(head):]
            length = cell_len(word)
        current, width = word, length
    lines.append(current)
    return lines

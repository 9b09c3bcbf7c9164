"""A rich table whose string cells are text: names and units are never read as markup."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text


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

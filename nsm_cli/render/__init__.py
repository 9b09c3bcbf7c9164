"""Renderers: pure functions from a command's result (plain data) to text or a rich renderable.

Each command has one registry of formats; the CLI picks from it by `--format`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
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


class LaidOut:
    """A renderable laid out for the terminal's width when printed: `parts(width)` are the
    tables and lines it prints (render/plain.py writes them without rich when it can)."""

    def parts(self, width: int) -> list[Any]:
        raise NotImplementedError

    def __rich_console__(self, console: Any, options: Any):
        yield from self.parts(options.max_width)


STACK_BELOW = 80   # a table that fits no other way: records below this width, split above


class Fitted(LaidOut):
    """A table laid out when printed: as built if it fits, else with names wrapped, else in
    its compact form (units and owners beside the names), so numbers are never cut; else
    continued below with the names repeated, or (below STACK_BELOW columns, or when a
    column alone does not fit) one record per row.

    `build(name_width, compact)` makes the table; column 0 holds the names. `min_name` is
    the narrowest the names' column may get (tree guides included).
    """

    WIDE_ENOUGH = 36   # below this many cells for names, the compact form reads better

    def __init__(self, build: Callable[[int | None, bool], Any], min_name: int = MIN_NAME,
                 heading: int = 1):
        self.build = build
        self.min_name = min_name
        self.heading = heading

    def parts(self, width: int) -> list[Any]:
        for compact in (False, True):
            table = self.build(None, compact)
            whole = natural_width(table)
            if whole <= width:
                return [table]
            names = max([cell_width(table.columns[0].header),
                         *map(cell_width, table.columns[0].cells)])
            room = width - (whole - names)
            if room >= (self.min_name if compact else max(self.min_name, self.WIDE_ENOUGH)):
                return [self.build(room, compact)]
        # too many columns for one table: the names and as many columns as fit, then the
        # names again with the rest, so no column is cut off at the terminal's edge
        if width >= STACK_BELOW:
            pieces = split_columns(self.build(max(self.min_name, width // 3), True), width)
            if all(natural_width(piece) <= width for piece in pieces if piece != ""):
                return pieces
        return stacked(self.build(None, False), width, self.heading)


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


# --- a flat table that fits: wrapped names, optional columns hidden, or records ------------

NAME_FLOOR = 10   # cells a wrapped name keeps at the least: no one-character slivers


class FitTable(LaidOut):
    """A flat table laid out when printed: as built if it fits (or, from STACK_BELOW columns,
    with rich wrapping its text columns, as before); else its `names` columns wrap between
    words (none narrower than its floor); else the `optional` columns go, in that order,
    said in one line; else one record per row (:func:`stacked`). Numbers never shrink."""

    def __init__(self, table: Any, names: tuple[str, ...] = (), optional: tuple[str, ...] = (),
                 heading: int = 1, charts: tuple[str, ...] = ()):
        self.table = table
        self.names = names
        self.optional = optional
        self.heading = heading
        self.charts = charts   # columns of bars: hidden as `bars`, and left out of records

    def fits(self, width: int) -> bool:
        """True when the whole table fits `width`, its names wrapped if need be."""
        table = self.table
        names = [i for i, c in enumerate(table.columns) if header_text(c.header) in self.names]
        return (natural_width(table) <= width
                or _name_widths(table, list(range(len(table.columns))), names, width,
                                self.optional) is not None)

    def parts(self, width: int) -> list[Any]:
        table = self.table
        if natural_width(table) <= width or width >= STACK_BELOW:
            return [table]   # from 80 columns rich wraps the text columns, as it always did
        headers = [header_text(column.header) for column in table.columns]
        hidden: list[str] = []
        for drop in [None, *self.optional]:
            if drop is not None:
                if drop not in headers:
                    continue
                hidden.append(drop)
            kept = [i for i, header in enumerate(headers) if header not in hidden]
            sizes = _name_widths(table, kept, [i for i in kept if headers[i] in self.names],
                                 width, self.optional)
            if sizes is not None:
                fitted = _wrapped(table, kept, sizes)
                said = [name or "bars" for name in hidden]
                return [fitted, hidden_note(said, width)] if hidden else [fitted]
        kept = [i for i, header in enumerate(headers) if header not in self.charts]
        return stacked(_wrapped(table, kept, {}), width, self.heading)


def header_text(header: Any) -> str:
    from rich.text import Text

    return header.plain if isinstance(header, Text) else str(header)


def hidden_note(hidden: list[str], width: int) -> Any:
    """The one line that says which columns a narrow terminal hid, and how to see them."""
    from rich.text import Text

    return Text(f"{', '.join(hidden)}: hidden at {width} columns; widen the terminal or use "
                "--format markdown", style="dim")


WORD_ROOM = 20      # a name's longest word (a Chinese name is one) stays whole up to this
OPTIONAL_FLOOR = 20   # cells an optional text column needs to read; narrower, it is hidden


def _floor(cells: list[Any], natural: int, optional: bool) -> int:
    """The narrowest a text column may wrap to: NAME_FLOOR cells, or its longest word."""
    from rich.cells import cell_len

    words = [cell_len(word) for cell in cells for word in header_text(cell).split()]
    floor = max(NAME_FLOOR, min(max(words, default=0), WORD_ROOM))
    return min(natural, max(floor, OPTIONAL_FLOOR) if optional else floor)


def _name_widths(table: Any, kept: list[int], names: list[int], width: int,
                 optional: tuple[str, ...] = ()) -> dict[int, int] | None:
    """Widths for the `names` columns so the `kept` columns fit `width`, None if they cannot
    (each keeps its :func:`_floor`)."""
    cells = {i: [table.columns[i].header, *table.columns[i].cells] for i in kept}
    sizes = {i: column_width(cells[i]) for i in kept}
    floors = {i: _floor(cells[i], sizes[i],
                        header_text(table.columns[i].header) in optional) for i in names}
    excess = sum(sizes.values()) + 2 * (len(kept) - 1) - width
    while excess > 0:
        wide = [i for i in names if sizes[i] > floors[i]]
        if not wide:
            return None
        widest = max(wide, key=lambda i: sizes[i] - floors[i])
        sizes[widest] -= 1
        excess -= 1
    return {i: sizes[i] for i in names}


def _wrapped(table: Any, kept: list[int], sizes: dict[int, int]) -> Any:
    """A copy of the table with only the `kept` columns, the name columns' cells (and
    headers) wrapped between words to their `sizes`, so rich and the plain writer agree."""
    part = plain_table()
    for i in kept:
        column = table.columns[i]
        header = wrap_cell(column.header, sizes[i]) if i in sizes else column.header
        part.add_column(header, justify=column.justify, no_wrap=True,
                        min_width=None if i in sizes else column.min_width,
                        overflow=column.overflow)
    for row in range(table.row_count):
        part.add_row(*[wrap_cell(table.columns[i]._cells[row], sizes[i]) if i in sizes
                       else table.columns[i]._cells[row] for i in kept])
    return part


def wrap_cell(cell: Any, width: int) -> Any:
    """A cell's text wrapped between words to `width` cells, its styles kept."""
    from rich.text import Text

    text = cell if isinstance(cell, Text) else Text(str(cell))
    if cell_width(text) <= width:
        return text
    plain = text.plain
    lines = wrap_words(plain, width)
    pieces, position = [], 0
    for line in lines:
        start = plain.index(line, position) if line else position
        pieces.append(text[start:start + len(line)])
        position = start + len(line)
    return Text("\n").join(pieces)


def stacked(table: Any, width: int, heading: int = 1) -> list[Any]:
    """One record per row: its first `heading` cells as a heading line, then one
    `header: value` line per other cell that holds something (a column without a header,
    or with an arrow-like header as each of its cells, joins the field before it)."""
    from rich.text import Text

    headers = [header_text(column.header) for column in table.columns]
    rows = [[_as_text(column._cells[row]) for column in table.columns]
            for row in range(table.row_count)]
    heads = [Text("  ").join([cell for cell in cells[:heading] if cell.plain]) for cells in rows]
    deepest = max((len(_guides(head.plain)) for head in heads), default=0)
    joiners = _joiners(table, headers[heading:], heading)
    lines: list[Any] = []
    for cells, head in zip(rows, heads, strict=True):
        if deepest > width // 3:   # deep trees on a very narrow terminal: guides half as wide
            guides = _guides(head.plain)
            head = Text(_half(guides), style="dim") + head[len(guides):]
        lead = _continuation(head.plain)
        lines.append(head)
        for label, value in _fields(headers[heading:], cells[heading:], joiners):
            lines += _field_lines(lead, label, value, width)
    return lines


def _guides(head: str) -> str:
    return head[:len(head) - len(head.lstrip("│├└─ "))]


def _half(guides: str) -> str:
    """`│   ├── ` as `│ ├ `: the same tree in half the cells."""
    for wide, narrow in (("├── ", "├ "), ("└── ", "└ "), ("│   ", "│ "), ("    ", "  ")):
        guides = guides.replace(wide, narrow)
    return guides


def _as_text(cell: Any) -> Any:
    from rich.text import Text

    return cell if isinstance(cell, Text) else Text(str(cell))


def _continuation(head: str) -> str:
    """The tree guides a record's fields carry under its heading: `│   ` where a branch goes on."""
    guides = _guides(head)
    return (guides.replace("├── ", "│   ").replace("└── ", "    ").replace("├ ", "│ ")
            .replace("└ ", "  ").replace("─", " "))


def _joiners(table: Any, headers: list[str], offset: int) -> list[bool]:
    """Per column from `offset`: True for an arrow-like column (each cell its header, `→`),
    which joins the fields on either side of it (`value → stepped: 92% → 93%`)."""
    return [bool(header) and all(header_text(c) in (header, "") for c in column.cells)
            for header, column in zip(headers, table.columns[offset:], strict=True)]


def _fields(headers: list[str], cells: list[Any],
            joiners: list[bool]) -> list[tuple[str, Any]]:
    from rich.text import Text

    fields: list[tuple[str, Any]] = []
    joining = False
    for header, cell, joiner in zip(headers, cells, joiners, strict=True):
        if not cell.plain.strip() and not joiner:
            joining = False
            continue
        if (not header or joiner or joining) and fields:
            label, value = fields[-1]
            label = f"{label} {header}" if joiner or joining else label
            fields[-1] = (label, Text(" ").join([value, cell]) if cell.plain else value)
            joining = joiner
            continue
        fields.append((header, cell))
        joining = False
    return fields


def _field_lines(lead: str, label: str, value: Any, width: int) -> list[Any]:
    """`label: value` under a record's heading; the value on a line of its own when both do
    not fit, and never cut."""
    from rich.text import Text

    def joined(*pieces: Any) -> Any:
        line = Text()
        for piece in pieces:
            line.append(piece) if isinstance(piece, Text) else line.append(*piece)
        return line

    indent = (lead + "  ", "dim")
    if not label:
        return [joined(indent, value)]
    line = joined(indent, (f"{label}: ", ""), value)
    if cell_width(line) <= width:
        return [line]
    deeper = (lead + "    ", "dim")
    room = width - cell_width(Text(deeper[0]))
    values = _whole_words(value, room) if cell_width(value) > room else [value]
    return [joined(indent, (f"{label}:", "")),
            *[joined(deeper if cell_width(part) <= room else ("", ""), part) for part in values]]


def _whole_words(value: Any, room: int) -> list[Any]:
    """The value's lines of at most `room` cells, broken only between words: a number (or
    any word) longer than a line stands whole on its own."""
    plain, lines, start, end = value.plain, [], 0, 0
    for word in re.finditer(r"\S+", plain):
        unit = len(word.group()) <= 3 and not re.search(r"[\d→▲▼=≠]", word.group())
        if end > start and not unit and cell_width(plain[start:word.end()]) > room:
            lines.append(value[start:end])
            start = word.start()
        end = word.end()
    lines.append(value[start:end])
    return lines


def min_name_width(rows: list[tuple[str, str, bool]]) -> int:
    """The narrowest a tree's names column may get: the deepest guides and a few cells."""
    from rich.cells import cell_len

    deepest = max((cell_len(prefix) for prefix, _, _ in rows), default=0)
    return deepest + 4 + MIN_NAME // 2

"""`nsm rank-levers` renderers: a ranked table with a tornado of bars for people; JSON."""

from __future__ import annotations

import math
import re
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nsm_cli.analysis.results import Lever, LeversResult, present
from nsm_cli.numbers import MINUS, MISSING, percent, plain, value_text
from nsm_cli.render import (
    FitTable,
    Renderer,
    keep_numbers_whole,
    md_cell,
    md_table,
    plain_table,
    to_json,
)

BAR_WIDTH = 20
NAME_ROOM = 18   # cells a lever's name or owner keeps before it wraps, when room is short
MIN_BAR = 8
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
FULL = "█"


def bar(size: float, largest: float, width: int = BAR_WIDTH) -> str:
    """|size| as a bar of `width` cells at `largest`, in eighths of a cell; never empty if ≠ 0."""
    if not largest or not size or not math.isfinite(size):
        return ""
    eighths = round(abs(size) / largest * width * 8)
    eighths = max(eighths, 1)
    return FULL * (eighths // 8) + EIGHTHS[eighths % 8]


SHORT_NAME = 20   # cells of a root's name in a column header (the title has it in full)


def short_name(name: str) -> str:
    """`MAU(月活跃客户数)` → `MAU`: the part before a bracket, for a column header; a long
    name keeps its first words (`Monthly recurring…`)."""
    from rich.cells import cell_len

    head = re.split(r"[(（]", name, maxsplit=1)[0].strip() or name
    if cell_len(head) <= SHORT_NAME:
        return head
    kept = ""
    for word in head.split(" "):
        if cell_len(f"{kept} {word}".strip()) > SHORT_NAME - 1:
            break
        kept = f"{kept} {word}".strip()
    while cell_len(kept) > SHORT_NAME - 1:
        kept = kept[:-1]
    return (kept or head[:SHORT_NAME // 2]) + "…"


def _scale(unit: str | None) -> float:
    return 100.0 if unit == "%" else 1.0


def decimals(values: list[float | None], unit: str | None) -> int:
    """One number of decimals for a column: exact if a digit more allows, else 3 significant."""
    sizes = [abs(v) * _scale(unit) for v in values if v is not None and v != 0]
    if not sizes:
        return 0
    least = min(6, max(0, 2 - math.floor(math.log10(max(sizes)))))
    for digits in range(least + 2):
        if all(abs(round(x, digits) - x) <= 1e-9 * max(1.0, x) for x in sizes):
            return digits
    return least


def change_cell(change: float | None, unit: str | None, digits: int) -> str:
    """A signed change of the root: `+65.0` (its unit is in the header), `+0.839 pp` for a rate."""
    if change is None:
        return MISSING
    if unit == "%":
        text = f"{abs(change) * 100:,.{digits}f}"
        zero = float(text.replace(",", "")) == 0
        sign = "" if zero else (MINUS if change < 0 else "+")
        return f"{sign}{text} pp"
    return plain(change, decimals=digits, signed=True)


def change_header(label: str, unit: str | None) -> str:
    """`Δ MAU (人)`; a rate root's changes carry `pp` in their cells."""
    return f"{label} ({unit})" if unit and unit != "%" else label


def level_text(value: float | None, unit: str | None) -> str:
    """A leaf's value with every digit its step needs: `1.717`, `560.55`, `92.92%`.

    The leaf's own unit is left out (it is a column of many units); rates keep their %.
    """
    if value is None:
        return MISSING
    if unit == "%":
        return percent(value)
    text = plain(value)
    start = len(text.split(".")[1]) if "." in text else 0
    for digits in range(start, start + 4):
        if abs(round(value, digits) - value) <= 1e-9 * max(1.0, abs(value)):
            return plain(value, decimals=digits)
    return text


def step_text(result: LeversResult) -> str:
    size = result.step * 100
    amount = f"{size:g}"
    if result.mode == "points":
        return f"step +{amount} pt (rates) / +{amount}% (others)"
    return f"step +{amount}%"


def title(result: LeversResult) -> str:
    root = f"{result.root_name} = {value_text(result.root_value, result.root_unit)}"
    parts = [f"Levers for {root}", result.period, step_text(result)]
    if result.scenario:
        parts.append(f"scenario {result.scenario}")
    elif result.changes:
        parts.append("set " + ", ".join(f"{c.id} {c.change}" for c in result.changes))
    if result.sort == "potential":
        parts.append("sorted by potential")
    if where := present(result.where):
        parts.append("where " + ", ".join(f"{k}={v}" for k, v in where.items()))
    return " · ".join(parts)


def natural_width(table: Table, cap: int | None = None) -> int:
    """The width a borderless table takes unshrunk: widest cell per column plus the gaps.

    Measured from the cells' text, which is much faster than rich's measuring on thousands
    of rows and the same for these one-line cells.
    """
    from rich.cells import cell_len

    def width(cell: Any) -> int:
        return cell_len(cell.plain if isinstance(cell, Text) else str(cell))

    columns = [max([width(column.header), *map(width, column.cells)])
               for column in table.columns]
    # names wrap: count them at most `cap` cells wide, so bars and numbers get the rest
    if cap is not None:
        columns = [min(size, cap) if str(column.header) in ("lever", "owner") else size
                   for size, column in zip(columns, table.columns, strict=True)]
    return sum(columns) + 2 * (len(columns) - 1)


SORT_FIELDS = {"delta": "delta", "potential": "potential"}


def sort_size(row: Lever, sort: str) -> float | None:
    """The number a row is ranked by (`--sort delta|potential`), which its bar shows."""
    return getattr(row, SORT_FIELDS[sort])


class LeverTable:
    """The ranked table, laid out when printed: the bars get the width the numbers leave.

    Numbers are never cut and bars never cropped: on a narrow terminal the bars
    shrink to MIN_BAR cells, then the benchmark columns go, then the bars shrink further.
    """

    def __init__(self, result: LeversResult):
        self.result = result

    def layout(self, width: int) -> tuple[int | None, bool, bool, int]:
        """(name cap, benchmark shown, potential shown, bar width) for a terminal `width`."""
        # on a narrow terminal the benchmark columns go first (potential stays if it is the sort)
        # and before them, long names wrap within NAME_ROOM cells
        keep = self.result.sort == "potential"
        layouts = [(None, True, True), (NAME_ROOM, True, True), (NAME_ROOM, False, keep)]
        for cap, benchmark, potential in layouts:
            table = self.table(0, benchmark, potential, cap)
            room = width - natural_width(table, cap) - 2
            if room >= MIN_BAR:
                break
        # narrower still: shorter bars (eighths keep them readable), none below 3 cells
        return cap, benchmark, potential, min(BAR_WIDTH, room) if room >= 3 else 0

    def __rich_console__(self, console, options):
        width = options.max_width
        cap, benchmark, potential, bar_width = self.layout(width)
        table = self.table(bar_width, benchmark, potential, cap)
        if bar_width or natural_width(table) <= width:
            yield table
            return
        # narrower: names wrap between words (never to slivers), then the owners go, then
        # one record per lever
        yield from FitTable(table, names=("lever", "owner"), optional=("owner",),
                            heading=2).parts(width)

    def table(self, bar_width: int, benchmark: bool = True, potential: bool = True,
              cap: int | None = None) -> Table:
        """The table with bars `bar_width` cells long (none for 0), with or without potential;
        names and owners wrap within `cap` cells."""
        result = self.result
        unit, sort = result.root_unit, result.sort
        rows = [row for row in result.levers if row.delta is not None]
        has_benchmarks = any(row.benchmark is not None for row in result.levers)
        show_benchmark = benchmark and has_benchmarks
        show_potential = potential and has_benchmarks
        delta_digits = decimals([row.delta for row in rows], unit)
        potential_digits = decimals([row.potential for row in rows], unit)
        largest = max((abs(size) for row in rows if (size := sort_size(row, sort)) is not None),
                      default=0.0)
        table = plain_table()
        table.add_column("#", justify="right", no_wrap=True)
        # names may shrink (with …) to leave the numbers whole: the columns give way, the
        # cells do not wrap
        table.add_column("lever", overflow="fold", max_width=cap)
        table.add_column("owner", overflow="fold", max_width=cap)
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("→", no_wrap=True)
        table.add_column("stepped", justify="right", no_wrap=True)
        table.add_column(change_header(f"Δ {short_name(result.root_name)}", unit),
                         justify="right", no_wrap=True)
        if show_benchmark:
            table.add_column("benchmark", justify="right", no_wrap=True)
        if show_potential:
            table.add_column("potential", justify="right", no_wrap=True)
        if bar_width:
            table.add_column("", no_wrap=True, min_width=bar_width)
        for row in rows:
            name = Text(row.name)
            if row.shared:
                name.append(" ↪", style="dim")
            if row.reason:
                name.append(" *", style="yellow")
            cells: list[Any] = [
                "" if row.rank is None else str(row.rank),
                name,
                Text(row.owner or "", style="cyan"),
                level_text(row.value, row.unit),
                Text("→", style="dim"),
                level_text(row.new_value, row.unit),
                Text(change_cell(row.delta, unit, delta_digits),
                     style="bold" if row.rank == 1 and sort == "delta" else ""),
            ]
            if show_benchmark:
                cells.append("" if row.benchmark is None
                             else level_text(row.benchmark, row.unit))
            if show_potential:
                cells.append("" if row.potential is None
                             else change_cell(row.potential, unit, potential_digits))
            if bar_width:
                size = sort_size(row, sort)
                style = "red" if size is not None and size < 0 else "green"
                cells.append(Text(bar(size or 0.0, largest, bar_width), style=style))
            table.add_row(*cells)
        return keep_numbers_whole(table, shrinkable=("lever", "owner"))


def render_text(result: LeversResult) -> Group:
    """The ranked levers, one row each, with a bar so the order is seen at a glance."""
    parts: list[Any] = [Text(title(result), style="bold")]
    if any(row.delta is not None for row in result.levers):
        parts.append(LeverTable(result))
    if result.hidden:
        parts.append(Text(f"… {result.hidden} more lever(s) below the top {result.top}: "
                          "drop --top to see every leaf", style="dim"))
    ranked = [row for row in result.levers if row.delta is not None]
    for row in ranked:
        if row.reason:
            parts.append(Text(f"* {row.name}: {row.reason}", style="yellow"))
    unranked = [row for row in result.levers if row.delta is None]
    if unranked:
        parts.append(Text("Not ranked (no delta):", style="bold"))
        for row in unranked:
            parts.append(Text(f"  {row.name} ({row.id}): {row.reason}", style="yellow"))
    parts.append(Legend(result))
    return Group(*parts)


class Legend:
    """The line under the table; it explains `potential` only when the table shows it."""

    def __init__(self, result: LeversResult):
        self.result = result

    def __rich_console__(self, console, options):
        result = self.result
        show_potential = any(row.benchmark is not None for row in result.levers)
        if any(row.delta is not None for row in result.levers):
            show_potential = show_potential and LeverTable(result).layout(options.max_width)[2]
        yield Text(_legend(result, show_potential), style="dim")


def _legend(result: LeversResult, show_potential: bool) -> str:
    text = f"Δ {short_name(result.root_name)}: the leaf alone one step better"
    if show_potential:
        text += " · potential: the leaf alone at its benchmark"
    return text


def render_markdown(result: LeversResult) -> str:
    """The ranking as a GitHub Markdown table, for a pull-request comment or a wiki page."""
    unit, sort = result.root_unit, result.sort
    rows = [row for row in result.levers if row.delta is not None]
    delta_digits = decimals([row.delta for row in rows], unit)
    potential_digits = decimals([row.potential for row in rows], unit)
    header = ["#", "lever", "owner", "value", "stepped",
              md_cell(change_header(f"Δ {short_name(result.root_name)}", unit)),
              "benchmark", "potential"]
    body = []
    for row in result.levers:
        ranked = row.delta is not None
        body.append([
            "" if row.rank is None else str(row.rank),
            md_cell(row.name) + ("" if ranked else f" ({md_cell(row.reason or '')})"),
            md_cell(row.owner or ""),
            level_text(row.value, row.unit),
            level_text(row.new_value, row.unit) if ranked else "",
            change_cell(row.delta, unit, delta_digits) if ranked else "",
            "" if row.benchmark is None else level_text(row.benchmark, row.unit),
            "" if row.potential is None else change_cell(row.potential, unit,
                                                         potential_digits)])
    lines = [f"### {md_cell(title(result))}", ""]
    lines += md_table(header, ["--:", ":--", ":--", "--:", "--:", "--:", "--:", "--:"], body)
    if result.hidden:
        lines += ["", f"… {result.hidden} more lever(s) below the top {result.top}."]
    lines += ["", md_cell(_legend(result, sort == "potential" or any(
        row.benchmark is not None for row in result.levers)))]
    return "\n".join(lines) + "\n"


LEVERS_FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": to_json,
    "markdown": render_markdown,
}

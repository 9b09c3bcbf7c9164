"""A columnar reader for wide CSV files: thousands of metric columns, a row per period.

The exact reader (:mod:`nsm_cli.data.tables`) splits every row into cells with the csv
module, cuts out each used column and parses it cell by cell: on a 50,000-column export
that is seconds of Python. This reader takes the usual shape in bulk: no quotes, every row
as wide as the header, cells that are plain numbers. numpy reads a whole block of numbers
in one call (correctly rounded, as `float()` reads them); a row holding anything else
(`""`, `NA`, `92%`, ` 1 `) is read cell by cell with nsm's one number grammar.

It only ever answers when the file is right. Anything the exact reader would report (a bad
cell, a missing or doubled column, two rows for one period, a ragged row) makes it give up
with None, and the exact reader reads the file again and names every problem at its line
and column: the same table, or the same messages, either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nsm_cli.data.tables import (
    ALL,
    ColumnUse,
    Table,
    aggregate,
    build_table,
    cell_by_cell,
    find_column,
    period_codes,
    present_cells,
    read_rows,
    read_text,
)
from nsm_cli.tree.model import TEXT_AGGS, DataSpec


@dataclass
class WideRows:
    """A wide file cut into its data rows: the header, and per row its line number, its
    period label and its text."""

    header: list[str]
    period_at: int | None
    lines: list[int]
    labels: list[str]
    texts: list[str]


def read_wide(spec: DataSpec, text: str, uses: Sequence[ColumnUse]) -> Table | None:
    """The table of a wide file that is all right, read in bulk; None for any other file
    (the caller reads it with the exact reader)."""
    rows = split_rows(spec, text)
    if rows is None:
        return None
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(rows.header):
        if i != rows.period_at and name:
            positions.setdefault(name, []).append(i)
    aggs: dict[str, list[str | None]] = {}
    for use in uses:
        aggs.setdefault(use.column, []).append(use.agg)
    if any(len(positions.get(name, ())) != 1 for name in aggs):
        return None   # E302: a column the file lacks or has twice
    wanted = [positions[name][0] for name in aggs]
    counted = [all(agg in TEXT_AGGS for agg in column) for column in aggs.values()]
    values = read_numbers(rows.texts, wanted, counted)
    if values is None:
        return None
    if rows.period_at is None:
        periods, codes, grain = [ALL], np.zeros(len(rows.lines), dtype=np.intp), None
    else:
        periods, codes, grain = period_codes(spec, rows.labels)
    series = combine(values, codes, len(periods), aggs)
    if series is None:
        return None
    table = Table(spec, periods, series, list(positions), grain)
    table.rows = len(rows.lines)
    return table


def split_rows(spec: DataSpec, text: str) -> WideRows | None:
    """The rows of a file without quotes whose rows are all as wide as its header and all
    have a period label; None for any other."""
    if '"' in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:   # a lone carriage return ends a row for the csv module
            return None
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if not _blank(line)), None)
    if start is None:
        return None
    header = [cell.strip() for cell in lines[start].split(",")]
    period_at = find_column(header, spec.period_column)
    if period_at is None and spec.period_column_set:
        return None
    commas = len(header) - 1
    rows = WideRows(header, period_at, [], [], [])
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if _blank(line):
            continue
        if line.count(",") != commas:
            return None
        if period_at is not None:
            label = (line[:line.find(",")] if period_at == 0 and commas
                     else line.split(",", period_at + 1)[period_at]).strip()
            if not label:
                return None
            rows.labels.append(label)
        rows.lines.append(number + 1)
        rows.texts.append(line)
    return rows


def _blank(line: str) -> bool:
    """A row of nothing but commas and white space, which the readers skip."""
    first = line[:1]
    return not first or (first == "," or first.isspace()) and not line.replace(",", "").strip()


def read_numbers(texts: list[str], wanted: list[int], counted: list[bool]) -> np.ndarray | None:
    """The wanted cells of every row as numbers, rows × wanted (a column only counted: 1.0
    where a cell holds anything); None when a cell is no number of nsm's grammar."""
    out = _plain_block(texts, wanted)
    odd: list[int] = []
    if out is None:
        out = np.empty((len(texts), len(wanted)))
        odd = _numbers(texts, 0, len(texts), wanted, out)
    for row in odd:
        if not _odd_row(texts[row].split(","), wanted, counted, out[row]):
            return None
    counts = [j for j, only in enumerate(counted) if only]
    if counts:   # what the exact reader keeps of a counted column: whether a cell is there
        out[:, counts] = np.where(np.isnan(out[:, counts]), np.nan, 1.0)
    return out


def _plain_block(texts: list[str], wanted: list[int]) -> np.ndarray | None:
    """Every row at once when all wanted cells are plain finite numbers (the usual export),
    else None."""
    if not texts:   # a header and nothing else
        return np.empty((0, len(wanted)))
    try:
        block = np.loadtxt(texts, delimiter=",", comments=None, usecols=wanted,
                           dtype=np.float64, ndmin=2)
    except ValueError:
        return None
    return block if block.shape[0] == len(texts) and np.isfinite(block).all() else None


def _numbers(texts: list[str], start: int, stop: int, wanted: list[int],
             out: np.ndarray) -> list[int]:
    """Read rows start..stop into `out` where every wanted cell is a plain finite number;
    return the other rows. numpy reads a field only as `float()` would, or refuses it."""
    if start == stop:
        return []
    try:
        block = np.loadtxt(texts[start:stop], delimiter=",", comments=None, usecols=wanted,
                           dtype=np.float64, ndmin=2)
    except ValueError:   # a cell numpy does not read: find the rows that hold one
        if stop - start == 1:
            return [start]
        middle = (start + stop) // 2
        return (_numbers(texts, start, middle, wanted, out)
                + _numbers(texts, middle, stop, wanted, out))
    out[start:stop] = block
    finite = np.isfinite(block).all(axis=1)   # nan, inf, 1e999: the grammar decides
    return [] if finite.all() else (start + np.flatnonzero(~finite)).tolist()


def _odd_row(cells: list[str], wanted: list[int], counted: list[bool],
             out: np.ndarray) -> bool:
    """Read a row that holds cells besides plain numbers into `out`, with nsm's grammar;
    False when one of them is no number."""
    numeric = [j for j, only in enumerate(counted) if not only]
    numbers, bad = cell_by_cell([cells[wanted[j]] for j in numeric])
    if bad:
        return False
    out[numeric] = numbers
    counts = [j for j, only in enumerate(counted) if only]
    if counts:
        out[counts] = present_cells([cells[wanted[j]] for j in counts])
    return True


def combine(values: np.ndarray, codes: np.ndarray, size: int,
            aggs: dict[str, list[str | None]]) -> dict[tuple[str, str | None], np.ndarray]:
    """Each (column, agg) series over the periods; None when a column without agg has two
    rows for one period (E305, which the exact reader words)."""
    series: dict[tuple[str, str | None], np.ndarray] = {}
    plain = [j for j, column in enumerate(aggs.values()) if None in column]
    if plain:
        if codes.size and np.bincount(codes, minlength=size).max() > 1:
            return None
        if codes.size == size and np.array_equal(codes, np.arange(size)):
            placed = np.ascontiguousarray(values.T)   # a row per period, in period order
        else:
            placed = np.full((len(aggs), size), np.nan)
            placed[:, codes] = values.T
        names = list(aggs)
        for j in plain:
            series[(names[j], None)] = placed[j]
    for j, (name, column) in enumerate(aggs.items()):
        for agg in column:
            if agg is not None and (name, agg) not in series:
                series[(name, agg)] = aggregate(np.ascontiguousarray(values[:, j]), codes,
                                                size, agg)
    return series


def read_light(spec: DataSpec, uses: Sequence[ColumnUse]) -> Table:
    """A wide CSV file read by the light reader: in bulk when it is all right, else by the
    exact reader, which raises every problem at its line and column."""
    text = read_text(spec)
    table = read_wide(spec, text, uses)
    if table is None:
        table = build_table(spec, read_rows(spec, {use.column for use in uses}, text), uses)
    return table

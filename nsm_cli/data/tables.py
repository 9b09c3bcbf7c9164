"""Data files (CSV) → per-period float arrays for the leaves bound to them.

This is the light path for small files: the `csv` module reads the rows, numpy
aggregates them per period, and nothing heavy is imported. It is also the exact
reader: when the engine (:mod:`nsm_cli.data.engine`) finds a big file wrong, this
reader names every bad cell at its line and column.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from nsm_cli.data.periods import order_labels
from nsm_cli.diagnostics import Diagnostic, NsmError, Span, error
from nsm_cli.numbers import MISSING_CELLS, NumberError, parse_cell, read_value
from nsm_cli.tree.model import AGGS, FORMATS, TEXT_AGGS, DataSpec, text_codec

ALL = "all"  # the one period of a file without a period column
MAX_BAD_CELLS = 20  # E304 diagnostics per file before "… and N more"
MAX_SHOWN = 40  # characters of a bad cell quoted in a message

LIGHT_AGGS = ("sum", "mean", "min", "max", "last", "count")  # what aggregate() computes
_LIGHT_OR_NONE = frozenset((*LIGHT_AGGS, None))
AGG_HINT = "add agg: " + "|".join(AGGS) + " to the source"
NUMBER_HINT = "expected a number like 1,200, 92% or ¥1,200"

# Cells that mean "no value" (compared lower-cased, after stripping).



@dataclass(frozen=True)
class ColumnUse:
    """A column (wide) or metric (long) some node asks for, and how to combine its rows."""

    column: str
    agg: str | None
    span: Span
    where: object = None  # a parsed filter (nsm_cli.tree.where)
    where_text: str | None = None
    weight: str | None = None

    @property
    def key(self) -> tuple:
        """The series this use reads (SourceRef.key gives the same for its source)."""
        if self.where_text is None and self.weight is None:
            return (self.column, self.agg)
        return (self.column, self.agg, self.where_text, self.weight)

    @property
    def needs_engine(self) -> bool:
        """Filters, weights, medians and distinct counts are computed by the engine."""
        return (self.where is not None or self.weight is not None or not self.column
                or self.agg not in _LIGHT_OR_NONE)


@dataclass
class Table:
    """A data file reduced to what the tree needs: one float array per (column, agg)."""

    spec: DataSpec
    periods: list[str]
    series: dict[tuple[str, str | None], np.ndarray]
    columns: list[str]
    grain: str | None = None  # the calendar grain of the periods; None for other labels
    rows: int = -1  # data rows read (0: a header and nothing else)
    sampled: bool = False  # only the first rows were read (nsm check on a big block)
    sliced: dict = field(default_factory=dict)  # segments.Slice -> segments.Sliced


@dataclass
class RawColumn:
    """One requested column still as text: its cells and which data rows they sit in."""

    cells: list[str]
    rows: np.ndarray  # index into RawRows.labels / RawRows.lines, one per cell
    position: int  # 1-based column of the cells in the file (long format: the value column)


@dataclass
class RawRows:
    """What any reader produces from a file; :func:`build_table` does the rest."""

    labels: list[str] | None  # period label per data row; None when there is no period column
    lines: np.ndarray  # 1-based line where each data row starts
    columns: list[str]  # every metric the file offers, in file order
    used: dict[str, RawColumn]  # the requested columns the file has
    ambiguous: dict[str, list[int]] = field(default_factory=dict)  # name -> header positions
    bad_labels: list[tuple[int, int]] = field(default_factory=list)  # (line, column) of empty ones
    extra: list[tuple[int, int, str]] = field(default_factory=list)  # rows with too many cells


def read_table(spec: DataSpec, uses: Sequence[ColumnUse]) -> Table:
    """Read a small file with the csv module and build every requested (column, agg) series.

    Raises NsmError with every diagnostic found, not just the first. Big files, raw rows,
    Parquet and JSON lines go through :func:`nsm_cli.data.engine.read_block` instead.
    """
    raw = read_rows(spec, {use.column for use in uses if use.column})
    return build_table(spec, raw, uses)


# --- reading: file → text → rows -------------------------------------------------------------


def _fail(message: str, span: Span) -> NsmError:
    return NsmError([error("E303", message, span)])


def read_bytes(spec: DataSpec) -> bytes:
    """The file's bytes; E303 when it cannot be read (or is a FIFO, a device, too big)."""
    from nsm_cli.data.files import check_regular

    check_regular(spec, spec.path)
    try:
        with open(spec.path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise _fail(f"data '{spec.name}': {spec.path} does not exist", spec.span) from None
    except IsADirectoryError:
        raise _fail(f"data '{spec.name}': {spec.path} is a folder, not a CSV file",
                    spec.span) from None
    except PermissionError:
        raise _fail(f"data '{spec.name}': cannot open {spec.path} (permission denied)",
                    spec.span) from None
    except OSError as exc:
        raise _fail(f"data '{spec.name}': cannot read {spec.path} ({exc.strerror or exc})",
                    spec.span) from None
    return data


def codec_of(spec: DataSpec) -> str:
    """The encoding's canonical name; E303 for one Python does not know."""
    try:
        return text_codec(spec.encoding)
    except LookupError:
        raise _fail(f"data '{spec.name}': unknown encoding '{spec.encoding}' for {spec.path} "
                    "(try utf-8, gbk or gb18030)", spec.span) from None


def _undecodable(spec: DataSpec, data: bytes, exc: UnicodeDecodeError) -> NsmError:
    line = data.count(b"\n", 0, exc.start) + 1
    if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        hint = "set encoding: gbk in the data entry if the file comes from Excel"
    else:
        hint = "check the encoding in the data entry (utf-8, gbk or gb18030)"
    return _fail(f"cannot decode {spec.path} as {spec.encoding} (line {line}): {hint}",
                 Span(spec.path, line, 1))


def read_text(spec: DataSpec) -> str:
    """The file decoded; E303 for anything that keeps it from being a text CSV file."""
    data = read_bytes(spec)
    codec = codec_of(spec)
    wide_chars = codec.startswith(("utf-16", "utf-32"))
    if codec == "utf-8":
        codec = "utf-8-sig"  # Excel writes a BOM
    if not wide_chars and b"\x00" in data:
        raise _binary(spec)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _undecodable(spec, data, exc) from None
    except UnicodeError as exc:  # a codec that fails without a position (punycode)
        raise _fail(f"data '{spec.name}': cannot decode {spec.path} as {codec} ({exc})",
                    spec.span) from None
    if "\x00" in text:
        raise _binary(spec)
    return text.removeprefix("\ufeff")


def _binary(spec: DataSpec) -> NsmError:
    return _fail(f"data '{spec.name}': {spec.path} looks like a binary file, not a CSV file "
                 "(it contains NUL bytes)", spec.span)


def find_column(header: list[str], name: str) -> int | None:
    """Where a column is: the exact name, else the one name equal ignoring case."""
    if name in header:
        return header.index(name)
    folded = [i for i, cell in enumerate(header) if cell.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """A csv reader's rows that hold anything, each with the physical line it starts on (a
    quoted cell may span lines); a csv.Error comes through as the reader raises it."""
    previous = 0
    for row in reader:
        start, previous = previous + 1, reader.line_num  # type: ignore[attr-defined]
        if "".join(row).strip():
            yield start, row


def split_csv(spec: DataSpec, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and data rows with the physical line each row starts on; blank rows skipped."""
    # no field is longer than the file: the csv module's 128 KB default would refuse a long
    # note the numpy and polars readers read (the limit is per process; only this reader uses it)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    try:
        for start, row in numbered_rows(reader):
            if header is None:
                header = [cell.strip() for cell in row]
            else:
                body.append((start, row))
    except csv.Error as exc:
        line = reader.line_num
        raise _fail(f"cannot read {spec.path} as CSV (line {line}): {exc}",
                    Span(spec.path, line, 1)) from None
    if header is None:
        raise _fail(f"data '{spec.name}': {spec.path} is empty: expected a header row "
                    "such as period,visits", spec.span)
    return header, body


def read_rows(spec: DataSpec, wanted: set[str], text: str | None = None) -> RawRows:
    """Read a file (or its `text`, already read) with the csv module into text rows, keeping
    only the wanted columns."""
    if spec.format not in FORMATS:
        raise ValueError(f"unknown data format {spec.format!r}")
    header, body = split_csv(spec, read_text(spec) if text is None else text)
    period_at = find_column(header, spec.period_column)
    if period_at is None and spec.period_column_set:
        message = f"data '{spec.name}' ({spec.path}) has no period column '{spec.period_column}'"
        raise NsmError([error("E306", message + choices_hint(spec.period_column, header),
                              spec.span)])

    labels: list[str] = []
    lines: list[int] = []
    rows: list[list[str]] = []
    bad_labels: list[tuple[int, int]] = []
    extra: list[tuple[int, int, str]] = []
    for line, row in body:
        if len(row) > len(header) and "".join(row[len(header):]).strip():
            extra.append(extra_cells(line, len(row), len(header)))
        if period_at is not None:
            label = row[period_at].strip() if period_at < len(row) else ""
            if not label:
                bad_labels.append((line, period_at + 1))
                continue
            labels.append(label)
        lines.append(line)
        rows.append(row)

    if spec.format == "long":
        columns, used = long_columns(spec, header, rows, wanted)
        ambiguous: dict[str, list[int]] = {}
    else:
        columns, used, ambiguous = wide_columns(header, period_at, rows, wanted)
    return RawRows(None if period_at is None else labels, np.asarray(lines, dtype=np.int64),
                   columns, used, ambiguous, bad_labels, extra)


def extra_cells(line: int, cells: int, header: int) -> tuple[int, int, str]:
    """A row with more cells than the header shifts every column after the comma: refused."""
    return (line, header + 1, f"this row has {cells} cells but the header has {header}: quote "
            'a cell that holds a comma ("1,200") or remove the extra cells')


def wide_columns(
    header: list[str], period_at: int | None, rows: list[list[str]], wanted: set[str]
) -> tuple[list[str], dict[str, RawColumn], dict[str, list[int]]]:
    """Every header name but the period's is a metric; cut out the wanted ones."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        if i != period_at and name:
            positions.setdefault(name, []).append(i)
    everywhere = np.arange(len(rows), dtype=np.intp)
    used: dict[str, RawColumn] = {}
    ambiguous: dict[str, list[int]] = {}
    single: dict[str, int] = {}
    for name in wanted:
        found = positions.get(name)
        if not found:
            continue
        if len(found) > 1:
            ambiguous[name] = [i + 1 for i in found]
            continue
        single[name] = found[0]
    for name, cells in _cut_columns(rows, single).items():
        used[name] = RawColumn(cells, everywhere, single[name] + 1)
    return list(positions), used, ambiguous


def _cut_columns(rows: list[list[str]], columns: dict[str, int]) -> dict[str, list[str]]:
    """The cells of each named column (a short row has "" there).

    Picking many columns row by row, then transposing, runs in C: column by column, a
    50,000-column file costs 4 s of scattered reads instead of 0.3 s."""
    if len(columns) > 1 and rows and min(map(len, rows)) > max(columns.values()):
        picked = zip(*map(itemgetter(*columns.values()), rows), strict=True)
        return {name: list(cells) for name, cells in zip(columns, picked, strict=True)}
    return {name: [row[at] if at < len(row) else "" for row in rows]
            for name, at in columns.items()}


def long_columns(
    spec: DataSpec, header: list[str], rows: list[list[str]], wanted: set[str]
) -> tuple[list[str], dict[str, RawColumn]]:
    """Rows of (period, metric, value): each wanted metric gets the value cells of its rows."""
    metric_at, value_at = find_column(header, "metric"), find_column(header, "value")
    lacking = [name for name, at in (("metric", metric_at), ("value", value_at)) if at is None]
    if metric_at is None or value_at is None:
        names = " and ".join(f"'{name}'" for name in lacking)
        message = (f"data '{spec.name}' ({spec.path}) is in long format but has no {names} "
                   f"column{'s' if len(lacking) > 1 else ''}: the header should read "
                   f"{spec.period_column},metric,value")
        raise NsmError([error("E306", message, spec.span)])
    metrics: dict[str, None] = {}  # an ordered set
    cells: dict[str, list[str]] = {name: [] for name in wanted}
    where: dict[str, list[int]] = {name: [] for name in wanted}
    for index, row in enumerate(rows):
        metric = row[metric_at].strip() if metric_at < len(row) else ""
        if not metric:
            continue
        metrics[metric] = None
        if metric in cells:
            cells[metric].append(row[value_at] if value_at < len(row) else "")
            where[metric].append(index)
    used = {
        name: RawColumn(cells[name], np.asarray(where[name], dtype=np.intp), value_at + 1)
        for name in wanted
        if name in metrics
    }
    return list(metrics), used


# --- parsing and aggregating: rows → per-period arrays ---------------------------------------


def present_cells(cells: Sequence[str]) -> np.ndarray:
    """1 for a cell that holds anything (a number, a customer id), NaN for a missing one."""
    return np.array([math.nan if cell.strip().lower() in MISSING_CELLS else 1.0
                     for cell in cells], dtype=np.float64)


def cell_hint(text: str) -> str:
    """What to write instead of a bad cell: the grammar's advice (`write 0.55`), else examples."""
    try:
        read_value(text)
    except NumberError as exc:
        if not exc.shapeless and "decimal commas" in str(exc):
            return str(exc).partition(": ")[2]
    return NUMBER_HINT


def parse_cells(cells: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """Cells → float64 (NaN = missing) and the indices of cells that are not numbers."""
    try:   # a column of plain numbers, the common case: one float() per cell, in C
        plain = np.array(list(map(float, cells)), dtype=np.float64)
    except ValueError:
        pass
    else:
        if np.isfinite(plain).all() and "_" not in "".join(cells):
            return plain, []
    return cell_by_cell(cells)


def cell_by_cell(cells: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """:func:`parse_cells` one cell at a time, for columns with text, gaps or odd numbers."""
    values: list[float] = []
    bad: list[int] = []
    known: dict[str, float | None] = {}  # formatted cells repeat: "", "92%", "-"
    for i, cell in enumerate(cells):
        try:  # the common case, a plain number, costs one float()
            value = float(cell)
            if not math.isfinite(value) or "_" in cell:
                raise ValueError(cell)  # nan/inf/1_000: let the strict parser decide
        except ValueError:
            parsed = known[cell] if cell in known else known.setdefault(cell, parse_cell(cell))
            if parsed is None:
                bad.append(i)
                parsed = math.nan
            value = parsed
        values.append(value)
    return np.asarray(values, dtype=np.float64), bad


def aggregate(values: np.ndarray, codes: np.ndarray, size: int, agg: str | None) -> np.ndarray:
    """Combine the rows of each period; missing values never count, so no data stays NaN.

    With agg None every period must have at most one row (the caller checks).
    `count` is 0 for a period whose rows are all missing, NaN for a period without rows.
    """
    out = np.full(size, np.nan)
    if agg is None:
        out[codes] = values
        return out
    present = ~np.isnan(values)
    # a column without missing cells (the usual big export) needs no filtered copies
    where, kept = (codes, values) if present.all() else (codes[present], values[present])
    counts = np.bincount(where, minlength=size)
    if agg == "count":
        out = counts.astype(np.float64)
        out[np.bincount(codes, minlength=size) == 0] = np.nan
    elif agg in ("sum", "mean"):
        sums = np.bincount(where, weights=kept, minlength=size).astype(np.float64)
        if agg == "mean":
            np.divide(sums, counts, out=sums, where=counts > 0)
        out = np.where(counts > 0, sums, np.nan)
    elif agg == "min":
        np.fmin.at(out, where, kept)  # fmin ignores the NaN the array starts with
    elif agg == "max":
        np.fmax.at(out, where, kept)
    elif agg == "last":
        last_row = np.full(size, -1, dtype=np.intp)
        np.maximum.at(last_row, where, np.flatnonzero(present))
        found = last_row >= 0
        out[found] = values[last_row[found]]
    else:
        raise ValueError(f"unknown agg {agg!r}")
    return out


def build_table(spec: DataSpec, raw: RawRows, uses: Sequence[ColumnUse]) -> Table:
    """Parse the used columns as numbers and aggregate them per period, collecting every error."""
    grain: str | None = None
    if raw.labels is None:
        periods = [ALL]
        codes = np.zeros(len(raw.lines), dtype=np.intp)
    else:
        periods, codes, grain = period_codes(spec, raw.labels)
    noun = "metric" if spec.format == "long" else "column"

    bad_cells = _label_problems(spec, raw.bad_labels) + raw.extra
    parsed: dict[str, Parsed] = {}
    aggs: dict[str, list[str | None]] = {}   # per column, in order (one pass: 50,000 columns)
    for use in uses:
        aggs.setdefault(use.column, []).append(use.agg)
    for name, column_aggs in aggs.items():
        column = raw.used.get(name)
        if column is None:
            continue
        if all(agg in TEXT_AGGS for agg in column_aggs):
            parsed[name] = Parsed(present_cells(column.cells), column.rows)  # any text counts
            continue
        numbers, bad = parse_cells(column.cells)
        parsed[name] = Parsed(numbers, column.rows)
        where = f"column '{name}'" if noun == "column" else f"column 'value' (metric '{name}')"
        for i in bad:
            bad_cells.append((int(raw.lines[column.rows[i]]), column.position,
                              f"bad cell {quoted_cell(column.cells[i])} in {where}: "
                              f"{cell_hint(column.cells[i])}"))
    found = Found(periods, codes, raw.lines, raw.labels is None, raw.columns, raw.ambiguous,
                  grain)
    table = assemble(spec, found, parsed, bad_cells, uses)
    table.rows = len(raw.lines)
    return table


def period_codes(spec: DataSpec, labels: Sequence[str]) -> tuple[list[str], np.ndarray,
                                                                  str | None]:
    """Each row's period as an index into the block's periods, in time (or file) order."""
    first: dict[str, int] = {}
    codes = np.fromiter((first.setdefault(label, len(first)) for label in labels),
                        dtype=np.intp, count=len(labels))
    ordered = order_labels(list(first))
    if ordered.mixed is not None:
        one, other = ordered.mixed
        raise NsmError([error("E312", f"data '{spec.name}' ({spec.path}) mixes periods of "
                              f"different grains ('{one}' and '{other}'): keep one grain per "
                              "data block, or give raw rows a time column and a grain",
                              spec.span)])
    remap = np.fromiter((ordered.index[label] for label in first), dtype=np.intp,
                        count=len(first))
    return ordered.periods, remap[codes], ordered.grain


@dataclass
class Parsed:
    """A used column as numbers: one value per cell and the data row each cell sits in."""

    values: np.ndarray
    rows: np.ndarray


@dataclass
class Found:
    """What any reader learnt of a file's rows: periods, a period code and a line per row."""

    periods: list[str]
    codes: np.ndarray
    lines: np.ndarray
    no_period_column: bool
    columns: list[str]
    ambiguous: dict[str, list[int]]
    grain: str | None = None


def _label_problems(spec: DataSpec, bad_labels: list[tuple[int, int]]) -> list[
        tuple[int, int, str]]:
    return [(line, column, f"bad cell '' in column '{spec.period_column}': every row needs a "
                           "period label like 2025-06")
            for line, column in bad_labels]


def assemble(
    spec: DataSpec, found: Found, parsed: dict[str, Parsed],
    bad_cells: list[tuple[int, int, str]], uses: Sequence[ColumnUse],
) -> Table:
    """Aggregate the parsed columns per period; raise every problem found at once."""
    noun = "metric" if spec.format == "long" else "column"
    periods = found.periods
    diagnostics: list[Diagnostic] = capped_diagnostics(spec, bad_cells)
    series: dict[tuple[str, str | None], np.ndarray] = {}
    for use in uses:
        if use.column in found.ambiguous:
            places = ", ".join(str(p) for p in found.ambiguous[use.column])
            diagnostics.append(error(
                "E302", f"data '{spec.name}' ({spec.path}) has several columns named "
                f"'{use.column}' (columns {places}): rename all but one", use.span))
            continue
        if use.column not in parsed:
            message = f"data '{spec.name}' ({spec.path}) has no {noun} '{use.column}'"
            hint = choices_hint(use.column, found.columns, noun)
            diagnostics.append(error("E302", message + hint, use.span))
            continue
        column = parsed[use.column]
        # rows are increasing indices: as many as there are rows means all of them in order
        everywhere = column.rows.size == found.codes.size
        column_codes = found.codes if everywhere else found.codes[column.rows]
        if use.agg is None:
            clash = _duplicates(spec, found, noun, use, column, column_codes)
            if clash is not None:
                diagnostics.append(clash)
                continue
        key = (use.column, use.agg)
        if key not in series:
            series[key] = aggregate(column.values, column_codes, len(periods), use.agg)
    if diagnostics:
        raise NsmError(diagnostics)
    return Table(spec, periods, series, list(found.columns), found.grain)


def _duplicates(
    spec: DataSpec, found: Found, noun: str, use: ColumnUse, column: Parsed,
    codes: np.ndarray,
) -> Diagnostic | None:
    """E305 when a column without agg has several rows for one period."""
    periods = found.periods
    counts = np.bincount(codes, minlength=len(periods))
    crowded = np.flatnonzero(counts > 1)
    if crowded.size == 0:
        return None
    first = int(crowded[0])
    lines = found.lines[column.rows[codes == first]].tolist()
    shown = ", ".join(str(line) for line in lines[:6]) + (", …" if len(lines) > 6 else "")
    more = f"; {crowded.size - 1} more periods too" if crowded.size > 1 else ""
    if found.no_period_column:
        more += f"; the file has no '{spec.period_column}' column"
    return error("E305", f"{noun} '{use.column}' of {spec.path} has {len(lines)} rows for "
                 f"period {periods[first]} (lines {shown}{more}): {AGG_HINT}", use.span)


def capped_diagnostics(spec: DataSpec, bad_cells: list[tuple[int, int, str]]) -> list[Diagnostic]:
    """At most MAX_BAD_CELLS E304s, in file order, then one saying how many were left out."""
    bad_cells.sort()
    out = [error("E304", message, Span(spec.path, line, column))
           for line, column, message in bad_cells[:MAX_BAD_CELLS]]
    if len(bad_cells) > MAX_BAD_CELLS:
        line, column, _ = bad_cells[MAX_BAD_CELLS]
        rest = len(bad_cells) - MAX_BAD_CELLS
        out.append(error("E304", f"… and {rest} more bad cell{'s' if rest > 1 else ''} in "
                         f"{spec.path}", Span(spec.path, line, column)))
    return out


def quoted_cell(cell: str) -> str:
    """A cell fit for a one-line message: stripped, control characters escaped, cut short."""
    text = cell.strip()
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 1] + "…"
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return f"'{text}'"


def choices_hint(name: str, available: list[str], noun: str = "column") -> str:
    """`: did you mean 'x'?`, or the list of what there is when it is short."""
    available = [c for c in available if c]
    folded = [c for c in available if c.casefold() == name.casefold()]
    close = folded or difflib.get_close_matches(name, available, n=1)
    if close:
        return f": did you mean '{close[0]}'?"
    if not available:
        return f": the file has no {noun}s"
    if len(available) <= 10:
        return f": the {noun}s are " + ", ".join(f"'{c}'" for c in available)
    return ""

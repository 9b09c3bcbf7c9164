"""The polars path for big CSV files: a compiled, multi-threaded reader, exact cell rules.

Imported by :func:`nsm_cli.data.read_table` only for big files and only when polars is
installed (the optional `fast` extra): it costs ~0.1 s to import and ~180 MB to install, so
small files and installs without it never pay for it. Polars tokenizes the file and does the
cell cleanup with vectorised string expressions; the per-period aggregation is the light path's
own :func:`nsm_cli.data.aggregate`, so sums, means and `last` come out bit for bit the same.

The reader only answers when the file is regular. Anything else — a cell that is no number, an
empty period label, several rows per period without `agg`, an unknown column, a file polars
rejects, bytes that are not UTF-8 — makes it return None, and the exact readers (numpy fast
path, then the `csv` module) produce the diagnostics with file:line:column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl  # cli.main tunes its allocator (_RJEM_MALLOC_CONF) before it loads

from nsm_cli.data.tables import (
    ALL,
    MISSING_CELLS,
    ColumnUse,
    DataSpec,
    Found,
    Parsed,
    Table,
    assemble,
)
from nsm_cli.data.tables import _codec as codec_name
from nsm_cli.data.tables import _find as find_column
from nsm_cli.diagnostics import NsmError

INFER_ROWS = 10_000  # rows polars looks at to guess a column's type
# Polars is built for tall files; on wide ones (a column per leaf of a 100,000-node tree) its
# schema handling is far slower than the numpy path (minutes for 50,000 columns), so those go on.
MAX_COLUMNS = 1_000  # data.POLARS_MAX_COLUMNS checks it before polars is imported
CHECK_STEP = 1 << 22  # bytes read at a time when checking the encoding

# Exactly the characters Python's str.strip() and regex `\s` take as whitespace (all < U+3001),
# so polars strips what parse_cell strips; Rust's own notion differs in a few control codes.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
_DIGITS = r"(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_EXPONENT = r"(?:[eE][+-]?[0-9]+)"
# A plain number (most cells): polars casts it once the thousands commas are gone.
PLAIN = rf"^[+-]?{_DIGITS}{_EXPONENT}?$"
# The contract's full cell grammar, data._NUMBER written for polars' (Rust) regex engine.
FULL = (rf"^(?P<sign>[+-]?){_SPACE}*(?P<currency>[\$¥￥€£]?){_SPACE}*(?P<sign2>[+-]?)"
        rf"(?P<digits>{_DIGITS})(?P<exponent>{_EXPONENT}?){_SPACE}*(?P<percent>[%％]?)$")
MINUSES = {"−": "-", "－": "-", "＋": "+"}  # as data._MINUSES


class Irregular(Exception):
    """The file needs an exact reader (the message says why, for debugging)."""


def read_table_polars(spec: DataSpec, uses: Sequence[ColumnUse]) -> Table | None:
    """The same Table the light path builds, or None when an exact reader must look."""
    try:
        return _read(spec, uses)
    except (Irregular, NsmError, OSError, ValueError, pl.exceptions.PolarsError):
        return None


def _read(spec: DataSpec, uses: Sequence[ColumnUse]) -> Table:
    if codec_name(spec) not in ("utf-8", "utf-8-sig", "ascii"):
        raise Irregular("encoding")
    header = _header(spec)
    if len(header) > MAX_COLUMNS:
        raise Irregular("a wide file: the numpy path is faster")
    period_at = find_column(header, spec.period_column)
    if period_at is None and spec.period_column_set:
        raise Irregular("no period column: the exact reader reports E306")
    wanted = list(dict.fromkeys(use.column for use in uses))
    _check_bytes(spec)
    if spec.format == "long":
        return _long(spec, uses, header, period_at, wanted)
    return _wide(spec, uses, header, period_at, wanted)


def _header(spec: DataSpec) -> list[str]:
    """The stripped header names; Irregular unless the first line is a plain header."""
    with open(spec.path, "rb") as handle:
        start = handle.read(CHECK_STEP)
    end = start.find(b"\n")
    if end < 0 and len(start) == CHECK_STEP:
        raise Irregular("a header line longer than a read step")
    try:
        text = start[: len(start) if end < 0 else end].decode("utf-8")
    except UnicodeDecodeError:
        raise Irregular("not UTF-8: the exact reader reports E303") from None
    text = text.removeprefix("\ufeff").rstrip("\r")
    if "\r" in text or text.count('"') % 2 or not text.strip():
        raise Irregular("the header is not one plain line")
    return [cell.strip() for cell in next(csv.reader([text]))]


def _check_bytes(spec: DataSpec) -> None:
    """Irregular unless the whole file decodes and has no NUL byte or lone carriage return
    (what the light path refuses, or splits lines at). Read in steps, so the file never sits
    in memory whole; polars validates UTF-8 (a Binary → String cast) at memory speed, where
    Python's decoder would cost a third of the whole read."""
    ascii_only = codec_name(spec) == "ascii"
    tail = b""  # the start of a character cut by the step
    open_return = False  # the previous step ended in \r: this one must start with \n
    with open(spec.path, "rb") as handle:
        while chunk := handle.read(CHECK_STEP):
            if b"\x00" in chunk:
                raise Irregular("NUL bytes")
            if open_return and not chunk.startswith(b"\n"):
                raise Irregular("a carriage return that does not end a line")
            open_return = chunk.endswith(b"\r")
            if b"\r" in chunk and chunk.count(b"\r") - open_return != chunk.count(b"\r\n"):
                raise Irregular("a carriage return that does not end a line")
            if tail or not chunk.isascii():
                if ascii_only:
                    raise Irregular("not ASCII")
                chunk, tail = _whole_characters(tail + chunk)
                _check_utf8(chunk)
    _check_utf8(tail)
    if open_return:
        raise Irregular("a carriage return at the very end")


def _whole_characters(data: bytes) -> tuple[bytes, bytes]:
    """Split off a UTF-8 character the step cut in two (its lead byte is in the last four)."""
    for i in range(len(data) - 1, max(len(data) - 5, -1), -1):
        if data[i] & 0xC0 != 0x80:  # not a continuation byte
            return (data[:i], data[i:]) if data[i] >= 0xC0 else (data, b"")
    return data, b""


def _check_utf8(data: bytes) -> None:
    if data and not data.isascii():
        try:
            pl.Series([data], dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.PolarsError:
            raise Irregular("not UTF-8: the exact reader reports E303") from None


def _frame(spec: DataSpec, width: int, period_at: int | None, text_at: list[int],
           number_at: list[int], as_text: bool) -> pl.DataFrame:
    """The chosen columns, named c<index>: the period's and `text_at` as strings,
    `number_at` as Float64 where polars' guess over the first rows says
    numbers (and as_text is off), otherwise as strings for the cell rules."""
    names = [f"c{i}" for i in range(width)]
    guess = pl.scan_csv(spec.path, has_header=True, new_columns=names,
                        infer_schema_length=INFER_ROWS).collect_schema()
    types: dict[str, pl.DataType | type[pl.DataType]] = {}  # the rest: String
    for i in number_at:
        if not as_text and guess[names[i]].is_numeric():
            types[names[i]] = pl.Float64
    chosen = sorted({*text_at, *number_at, *(() if period_at is None else (period_at,))})
    frame = pl.read_csv(spec.path, has_header=True, new_columns=names, columns=chosen,
                        infer_schema=False, schema_overrides=types, encoding="utf8",
                        truncate_ragged_lines=False, raise_if_empty=True)
    if frame.height == 0:
        raise Irregular("no data rows")
    return frame


def _numbers(column: pl.Series) -> np.ndarray:
    """A column → float64 with NaN for missing cells; Irregular for any cell that is no
    number, _Retry when polars' guess read a cell the cell rules see otherwise."""
    if column.dtype == pl.String:
        return _parsed(column)
    if column.dtype != pl.Float64:
        raise Irregular(f"column read as {column.dtype}")
    if column.is_nan().any() or column.is_infinite().any():
        raise _Retry("inf or nan read as a number")  # "nan" is missing, "inf" a bad cell
    return column.to_numpy()  # NaN where the cell was empty; a copy (the frame has chunks)


class _Retry(Irregular):
    """Read the columns again as text: polars' number guess does not match the cell rules."""


def _stripped(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars(WHITESPACE).str.replace_many(list(MINUSES),
                                                                   list(MINUSES.values()))


def _parsed(cells: pl.Series) -> np.ndarray:
    """Text cells → float64 by the contract's rules, NaN for missing ones, in tiers so that
    each costs only the cells the one before left: a plain cast (`1200`, `-3.5e2`: polars'
    float syntax is Python's without spaces or `_`), then thousands commas (`1,200`), then the
    full grammar (spaces, `¥`, `%`, `n/a`, the unicode minus)."""
    numbers = cells.cast(pl.Float64, strict=False)
    values = numbers.to_numpy()
    left = np.flatnonzero(~numbers.is_finite().fill_null(False).to_numpy())
    if left.size == 0:
        return values
    values = values if values.flags.writeable else values.copy()
    rest = cells.gather(left)
    grouped = rest.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    ok = (rest.str.contains(PLAIN) & grouped.is_finite()).fill_null(False).to_numpy()
    values[left[ok]] = grouped.filter(ok).to_numpy()
    if not ok.all():
        values[left[~ok]] = _full(rest.filter(~ok))
    return values


def _full(cells: pl.Series) -> np.ndarray:
    """Cells that are not plain numbers: missing → NaN, the full grammar for the rest;
    Irregular when any of them is no number (the exact reader reports E304). The sign and
    the percent are applied in numpy: polars turns `x / 100` into `x * 0.01`, one ulp off."""
    todo = cells.to_frame("cell").select(_stripped("cell"))
    missing = todo.select(pl.col("cell").is_null()
                          | pl.col("cell").str.to_lowercase().is_in(list(MISSING_CELLS)))
    parts = todo.get_column("cell").str.extract_groups(FULL).struct.unnest()
    sign, sign2 = pl.col("sign").fill_null(""), pl.col("sign2").fill_null("")
    number = (pl.col("digits").str.replace_all(",", "", literal=True)
              + pl.col("exponent").fill_null("")).cast(pl.Float64, strict=False)
    found = parts.select(
        pl.when((sign != "") & (sign2 != "")).then(None).otherwise(number).alias("value"),
        ((sign == "-") | (sign2 == "-")).fill_null(False).alias("negative"),
        (pl.col("percent").fill_null("") != "").alias("percent"))
    values = found.get_column("value").to_numpy().copy()
    negative = found.get_column("negative").to_numpy()
    percent = found.get_column("percent").to_numpy()
    values[negative] = -values[negative]
    values[percent] /= 100
    is_missing = missing.to_series().to_numpy()
    if not np.isfinite(values[~is_missing]).all():
        raise Irregular("a cell that is no number: the exact reader reports E304")
    values[is_missing] = np.nan
    return values


def _periods(frame: pl.DataFrame, name: str | None) -> tuple[list[str], np.ndarray]:
    """Sorted stripped period labels and a code per row; the `all` period without a column.
    Labels repeat, so Python sees each distinct one once; an Enum cast gives the codes.

    (Read as String, not Categorical: polars 2.1's Categorical reader turns `"2025"-01`
    into `2025-0` where its String reader rightly refuses the cell.)"""
    if name is None:
        return [ALL], np.zeros(frame.height, dtype=np.intp)
    labels = frame.drop_in_place(name)
    if labels.null_count():
        raise Irregular("an empty period label: the exact reader reports E304")
    texts = labels.unique().to_list()
    stripped = [text.strip() for text in texts]
    if not all(stripped) or any('"' in text for text in stripped):
        raise Irregular("an empty period label (E304), or a quote inside one")
    periods = sorted(set(stripped))
    order = {label: i for i, label in enumerate(periods)}
    remap = np.array([order[text] for text in stripped], dtype=np.intp)
    return periods, remap[labels.cast(pl.Enum(texts)).to_physical().to_numpy()]


def _wide(spec: DataSpec, uses: Sequence[ColumnUse], header: list[str], period_at: int | None,
          wanted: list[str]) -> Table:
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        if i != period_at and name:
            positions.setdefault(name, []).append(i)
    if any(len(positions.get(name, ())) != 1 for name in wanted):
        raise Irregular("an unknown or ambiguous column: the exact reader reports E302")
    at = {name: positions[name][0] for name in wanted}
    period = None if period_at is None else f"c{period_at}"
    for as_text in _ATTEMPTS:
        try:
            frame = _frame(spec, len(header), period_at, [], list(at.values()), as_text)
            periods, codes = _periods(frame, period)
            everywhere = np.arange(codes.size, dtype=np.intp)
            found = Found(periods, codes, _NO_LINES, period is None, list(positions), {})
            columns = [(name, frame.drop_in_place(f"c{i}")) for name, i in at.items()]
            del frame
            series = _columns_series(spec, found, columns, everywhere, uses)
            return Table(spec, periods, series, found.columns)
        except (_Retry, pl.exceptions.ComputeError):
            if as_text:
                raise
    raise AssertionError("unreachable")


def _long(spec: DataSpec, uses: Sequence[ColumnUse], header: list[str], period_at: int | None,
          wanted: list[str]) -> Table:
    metric_at, value_at = find_column(header, "metric"), find_column(header, "value")
    if metric_at is None or value_at is None:
        raise Irregular("no metric or value column: the exact reader reports E306")
    chosen = [metric_at, value_at, *(() if period_at is None else (period_at,))]
    if len(set(chosen)) != len(chosen):
        raise Irregular("one column for two roles")
    period = None if period_at is None else f"c{period_at}"
    for as_text in _ATTEMPTS:
        try:
            frame = _frame(spec, len(header), period_at, [metric_at], [value_at], as_text)
            periods, codes = _periods(frame, period)
            value = _numbers(frame.drop_in_place(f"c{value_at}"))
            break
        except (_Retry, pl.exceptions.ComputeError):
            if as_text:
                raise
    metrics = frame.get_column(f"c{metric_at}").str.strip_chars(WHITESPACE).fill_null("")
    del frame
    columns = [m for m in metrics.unique(maintain_order=True).to_list() if m]
    found = Found(periods, codes, _NO_LINES, period is None, columns, {})
    series: dict[tuple[str, str | None], np.ndarray] = {}
    for name in wanted:
        rows = np.flatnonzero((metrics == name).to_numpy())
        if rows.size == 0:
            raise Irregular("an unknown metric: the exact reader reports E302")
        series.update(_aggregated(spec, found, name, Parsed(value[rows], rows), uses))
    return Table(spec, periods, series, columns)


def _columns_series(spec: DataSpec, found: Found, columns: list[tuple[str, pl.Series]],
                    rows: np.ndarray, uses: Sequence[ColumnUse],
                    ) -> dict[tuple[str, str | None], np.ndarray]:
    """Every wide column parsed and aggregated; several at once, as polars and numpy's
    bincount let go of the GIL."""
    def one(item: tuple[str, pl.Series]) -> dict[tuple[str, str | None], np.ndarray]:
        name, column = item
        return _aggregated(spec, found, name, Parsed(_numbers(column), rows), uses)

    series: dict[tuple[str, str | None], np.ndarray] = {}
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        for part in pool.map(one, columns):
            series.update(part)
    return series


_ATTEMPTS = (False, True)  # read with polars' type guess, then every column as text
_NO_LINES = np.zeros(0, dtype=np.int64)  # line numbers are only read for diagnostics


def _aggregated(spec: DataSpec, found: Found, name: str, parsed: Parsed,
                uses: Sequence[ColumnUse]) -> dict[tuple[str, str | None], np.ndarray]:
    """The series of one column, by the light path's own code (so sums are the same to the
    last bit); several rows per period without agg is for the exact reader (E305, lines)."""
    mine = [use for use in uses if use.column == name]
    if any(use.agg is None for use in mine):
        counts = np.bincount(found.codes[parsed.rows], minlength=len(found.periods))
        if (counts > 1).any():
            raise Irregular("several rows for a period without agg: E305")
    return assemble(spec, found, {name: parsed}, [], mine).series

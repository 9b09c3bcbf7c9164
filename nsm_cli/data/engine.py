"""Data files through DuckDB: big delimited files, raw rows rolled up by time, Parquet, JSON lines.

One query per data block groups the rows by period and computes every source
the tree asks of the block. nsm's cell rules still decide what a cell means:
DuckDB reads the plain numbers, and the few cells that are not plain (`1,200`,
`92%`, `¥1,200`) go through :func:`parse_cell` and come back as a small map.
When anything is wrong, the rows are scanned again by the exact reader so every
message points at `file:line:column`. DuckDB is imported here only, when a file
needs it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from nsm_cli.data.files import check_regular, numbers_agree, sniff_binary
from nsm_cli.data.periods import (
    Period,
    day_period,
    month_period,
    order_labels,
    parse_period,
    quarter_period,
    week_period,
)
from nsm_cli.data.sql import (
    Column,
    Params,
    compile_filter,
    filter_numbers,
    filter_texts,
    time_expression,
)
from nsm_cli.data.tables import (
    ALL,
    MAX_BAD_CELLS,
    ColumnUse,
    Table,
    build_table,
    capped_diagnostics,
    cell_hint,
    choices_hint,
    codec_of,
    extra_cells,
    find_column,
    numbered_rows,
    parse_cell,
    parse_cells,
    period_codes,
    quoted_cell,
    read_rows,
    read_table,
)
from nsm_cli.data.wide import read_light
from nsm_cli.diagnostics import Diagnostic, NsmError, Span, error
from nsm_cli.tree.model import TEXT_AGGS, DataSpec
from nsm_cli.tree.parser import inside, project_root
from nsm_cli.tree.where import columns_of

MAX_FILES = 10_000  # files one glob may name
_CONVERTING = re.compile(r'converting column "(c[0-9]+)"')  # DuckDB's typed-read error
FIELD_LIMIT = 1 << 30  # the csv module's per-cell limit, raised from 128 KB


@dataclass
class Layout:
    """The columns a block's files offer: names as the tree writes them, engine columns."""

    names: list[str]
    columns: dict[str, Column]
    ambiguous: dict[str, list[int]] = field(default_factory=dict)
    headers: dict[str, tuple[list[str], int]] = field(default_factory=dict)  # file -> (hdr, skip)


def data_files(spec: DataSpec, tree_path: str | None = None) -> list[str]:
    """The block's files: the path, or every match of its glob, each checked (E303/E308)."""
    if not spec.is_glob:
        check_regular(spec, spec.path)
        return [spec.path]
    import glob

    matches = sorted(glob.glob(spec.path, recursive=True))[: MAX_FILES + 1]
    if not matches:
        raise NsmError([error("E303", f"data '{spec.name}': no file matches {spec.path}",
                              spec.span)])
    if len(matches) > MAX_FILES:
        raise NsmError([error("E303", f"data '{spec.name}': {spec.path} matches more than "
                              f"{MAX_FILES:,} files", spec.span)])
    root = project_root(tree_path or spec.span.file)
    for path in matches:
        if not inside(path, root):
            raise NsmError([error("E308", f"data '{spec.name}': {path} (a match of "
                                  f"{spec.path}) points outside the project", spec.span)])
        check_regular(spec, path)
    return matches


ENGINE_BYTES = 1 << 20  # delimited files this big go to DuckDB (see bench/results.md)
# a wide export (one column per metric, few rows) stays with the light reader, which reads
# 5,000 columns in a second; one query over thousands of columns costs DuckDB minutes
ENGINE_COLUMNS = 200


def read_block(spec: DataSpec, uses: Sequence[ColumnUse], sample: int | None = None) -> Table:
    """Read one data block by the cheapest route that gives the same answer.

    Small pre-aggregated CSV files take the light csv reader (no DuckDB import, which
    would cost start-up time); big files, raw rows, Parquet, JSON lines, globs and the
    aggregations only the engine computes go through DuckDB. With `sample`, the engine
    reads only the first rows of a block (`nsm check`: columns, types and the cells of
    those rows are checked; the table says `sampled` when rows were left unread).
    """
    if spec.format == "long":
        fancy = [use for use in uses if use.needs_engine]
        if fancy or spec.kind != "delimited" or spec.is_glob:
            span = fancy[0].span if fancy else spec.span
            raise NsmError([error("E112", f"data '{spec.name}' is in long format, read from one "
                                  "CSV file with sum|mean|min|max|last|count: use a wide file "
                                  "or raw rows for where, weight, median and count_distinct",
                                  span)])
        check_regular(spec, spec.path)
        return read_table(spec, uses)
    light = spec.kind == "delimited" and not spec.is_glob and not spec.time
    if light and not any(use.needs_engine for use in uses) and (
            check_regular(spec, spec.path) < ENGINE_BYTES
            or len({use.column for use in uses}) > ENGINE_COLUMNS):
        return read_light(spec, uses)
    return read_with_engine(spec, uses, sample)


def read_with_engine(spec: DataSpec, uses: Sequence[ColumnUse],
                     sample: int | None = None) -> Table:
    """Read a block with DuckDB and aggregate every use per period (see the module doc)."""
    files = data_files(spec)
    import duckdb

    con = duckdb.connect()
    try:
        with utf8_copies(spec, files) as readable:
            table = FileBlock(spec, uses, files, readable, con, sample).table()
            table.sampled = sample is not None and table.rows >= sample
            return table
    except (duckdb.InvalidInputException, duckdb.ConversionException,
            duckdb.IOException) as exc:  # the file, not nsm's query: find out where
        message = str(exc)
    finally:
        con.close()
    table = _problems(spec, uses, files, message or "the engine failed")
    if table is None:
        raise NsmError([error("E303", f"data '{spec.name}': cannot read {spec.path}",
                              spec.span)])
    return table


# --- files: encodings and headers --------------------------------------------------------------


@contextlib.contextmanager
def utf8_copies(spec: DataSpec, files: list[str]) -> Iterator[list[str]]:
    """The files as DuckDB can read them: UTF-8 ones as they are, GBK and others re-encoded
    into a private temporary folder that is removed afterwards."""
    codec = _codec_name(spec)
    if spec.kind != "delimited":
        yield files
        return
    if codec in ("utf-8", "ascii"):
        # DuckDB checks the UTF-8 of every column it reads (a bad byte there is E303 at its
        # line, through the exact reader); a full decode here would cost a quarter of the
        # read for columns no node uses
        for path in files:
            sniff_binary(spec, path)
        yield files
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nsm-") as folder:
        out = []
        for i, path in enumerate(files):
            target = os.path.join(folder, f"{i}.csv")
            _transcode(spec, path, target, codec)
            out.append(target)
        yield out


def _codec_name(spec: DataSpec) -> str:
    """The encoding's canonical name (E303 for unknown ones and rot13-like codecs)."""
    return codec_of(spec)


def _transcode(spec: DataSpec, path: str, target: str | None, codec: str) -> None:
    """Decode the file in chunks (E303 at the first line that does not decode or holds a NUL
    byte) and write it as UTF-8 to `target`, when there is one."""
    sniff_binary(spec, path)
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with open(path, "rb") as source, contextlib.ExitStack() as stack:
        out = None if target is None else stack.enter_context(
            open(target, "w", encoding="utf-8", newline=""))
        while chunk := source.read(1 << 22):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise _undecodable(spec, path, _line_at(path, offset + exc.start)) from None
            except UnicodeError as exc:  # a codec that fails without a position (punycode)
                raise NsmError([error("E303", f"data '{spec.name}': cannot decode {spec.path} "
                                      f"as {codec} ({exc})", spec.span)]) from None
            if b"\x00" in chunk and "\x00" in text:
                raise NsmError([error("E303", f"data '{spec.name}': {spec.path} looks like a "
                                      "binary file, not a CSV file (it contains NUL bytes)",
                                      spec.span)])
            if out is not None:
                out.write(text)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _undecodable(spec, path, _line_at(path, offset)) from None


def _line_at(path: str, offset: int) -> int:
    """The 1-based line holding byte `offset` of a file."""
    line = 1
    with open(path, "rb") as handle:
        while offset > 0 and (chunk := handle.read(min(offset, 1 << 22))):
            line += chunk.count(b"\n")
            offset -= len(chunk)
    return line


def _undecodable(spec: DataSpec, path: str, line: int) -> NsmError:
    if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        hint = "set encoding: gbk in the data entry if the file comes from Excel"
    else:
        hint = "check the encoding in the data entry (utf-8, gbk or gb18030)"
    return NsmError([error("E303", f"cannot decode {path} as {spec.encoding} (line {line}): "
                           f"{hint}", Span(path, line, 1))])


def delimiter(path: str) -> str:
    return "\t" if path.lower().endswith(".tsv") else ","


def read_header(spec: DataSpec, path: str) -> tuple[list[str], int]:
    """The header row of a UTF-8 delimited file and how many lines it takes (with blank ones)."""
    csv.field_size_limit(FIELD_LIMIT)
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter(path))
        try:
            for row in reader:
                if "".join(row).strip():
                    return [cell.strip() for cell in row], reader.line_num
        except csv.Error as exc:
            raise NsmError([error("E303", f"cannot read {spec.path} as CSV (line "
                                  f"{reader.line_num}): {exc}",
                                  Span(spec.path, reader.line_num, 1))]) from None
    raise NsmError([error("E303", f"data '{spec.name}': {spec.path} is empty: expected a "
                          "header row such as period,visits", spec.span)])


# --- one block: layout, rows, the aggregate query ----------------------------------------------


class _Untype(Exception):
    """Typed columns that hold a cell nsm's grammar must read: the block is read again with
    them (all typed columns when the list is empty) as text."""

    def __init__(self, columns: list[Column]) -> None:
        super().__init__()
        self.columns = columns


@dataclass
class _Result:
    """The aggregate query's rows: (period key, rows, first row, sources..., odd counts...)."""

    rows: list[tuple]
    keys: list[tuple]
    odd: dict[str, int]


@dataclass
class _Plan:
    """What the query needs: the period, the columns read as numbers or text, the sources."""

    period: Column | None = None
    time: Column | None = None
    numbers: dict[str, Column] = field(default_factory=dict)  # read as numbers
    texts: dict[str, Column] = field(default_factory=dict)  # read as text (ids, where 'x')
    used: dict[str, Column] = field(default_factory=dict)  # every column the query reads


class FileBlock:
    ONE_PASS = True  # may aggregate straight from the files (subclasses that query the
    # prepared rows again, per segment, say False)

    def __init__(self, spec: DataSpec, uses: Sequence[ColumnUse], files: list[str],
                 readable: list[str], con, sample: int | None = None) -> None:
        self.spec, self.uses, self.files, self.readable, self.con = (
            spec, list(uses), files, readable, con)
        self.limit = "" if sample is None else f" LIMIT {int(sample)}"  # nsm's own number
        self.base = "rows AS b"
        self.base_params: list[object] = []
        self.order = "b.rowid"
        self.plan_time: Column | None = None
        self.planned: _Plan | None = None
        self.raw_key = False  # the period label as written (DuckDB's trim costs a tenth)

    def table(self) -> Table:
        layout = self.layout()
        try:
            plan = self.plan(layout)
        except NsmError:
            exact = self.problems()  # a plain CSV: the exact reader lists every problem
            if exact is not None:
                return exact
            raise
        self.plan_time, self.planned = plan.time, plan
        typed = self.typed_columns(layout, plan)
        while True:
            try:
                return self.read(layout, plan)
            except _Untype as exc:  # a typed column holds a cell the grammar must read
                self.reset(plan)
                for column in exc.columns or typed:
                    column.typed = False

    def read(self, layout: Layout, plan: _Plan) -> Table:
        """The table by one scan of the files where that is exact, else by the loaded rows."""
        import duckdb

        try:
            if self.ONE_PASS and self.spec.kind == "delimited" and not any(
                    use.agg == "last" for use in self.uses):
                found = self.one_pass(layout, plan)
                if found is not None:
                    return found
            self.load(layout, plan)
            self.check_typed(plan)
            self.map_cells(plan)
            return self.finish(layout, plan, self.aggregate(plan))
        except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            typed = [c for c in plan.numbers.values() if c.typed]
            if not typed:  # the file, not a typed column: read_with_engine finds out where
                raise
            named = _CONVERTING.search(str(exc))
            raise _Untype([c for c in typed if named and c.ref == named.group(1)]) from None

    def typed_columns(self, layout: Layout, plan: _Plan) -> list[Column]:
        """The number columns the CSV reader may read as DOUBLE: no other use reads their
        text, and every file holds no cell the cast reads differently from the grammar."""
        if self.spec.kind != "delimited" or not plan.numbers or not all(
                numbers_agree(path, layout.headers[path][1]) for path in self.readable):
            return []
        keys = (plan.period, plan.time)
        found = [name for name, c in plan.numbers.items()
                 if name not in plan.texts and all(c is not k for k in keys)]
        for path in self.readable[:1]:  # a column whose first cells DuckDB would refuse
            found = _plain_at_first(path, layout.headers[path], found)  # is read as text
        for column in plan.numbers.values():
            column.agreed = True
        for name in found:
            plan.numbers[name].typed = True
        return [plan.numbers[name] for name in found]

    def check_typed(self, plan: _Plan) -> None:
        """Typed columns of the loaded rows with a NaN or infinity (`nan`, `inf`, 1e400) go
        back to the grammar; the others have nothing odd to count (one cheap max each)."""
        typed = [c for c in plan.numbers.values() if c.typed]
        if not typed:
            return
        found = self.con.execute(
            "SELECT " + ", ".join(f"max(abs(n_{c.ref}))" for c in typed) + f" FROM {self.base}",
            self.base_params).fetchone()
        odd = [c for c, top in zip(typed, found, strict=True)
               if top is not None and not math.isfinite(top)]
        if odd:
            raise _Untype(odd)
        for column in typed:
            column.clean = True

    def reset(self, plan: _Plan) -> None:
        """Forget the loaded rows and cell maps before the block is read again."""
        self.con.execute("DROP TABLE IF EXISTS rows")
        for column in plan.numbers.values():
            self.con.execute(f"DROP TABLE IF EXISTS m_{column.ref}")
            column.mapped = column.clean = column.one_pass = False
        self.base, self.base_params, self.order = "rows AS b", [], "b.rowid"

    def metrics(self, layout: Layout, plan: _Plan) -> list[str]:
        """The block's columns but its period (or time) column, as the light reader lists them."""
        key = plan.time or plan.period
        return [name for name in layout.names if key is None or layout.columns[name] is not key]

    # -- columns -----------------------------------------------------------------------------
    def layout(self) -> Layout:
        if self.spec.kind == "delimited":
            return self._delimited_layout()
        reader, params = self.scan_function(described=True)
        described = self.con.execute(f"DESCRIBE SELECT * FROM {reader}", params).fetchall()
        names = [str(row[0]) for row in described]
        columns = {name: Column(f"c{i + 1}", str(row[1]))
                   for i, (name, row) in enumerate(zip(names, described, strict=True))}
        return Layout(names, columns)

    def _delimited_layout(self) -> Layout:
        names: dict[str, None] = {}
        ambiguous: dict[str, list[int]] = {}
        headers: dict[str, tuple[list[str], int]] = {}
        for path in self.readable:
            header, skip = read_header(self.spec, path)
            headers[path] = (header, skip)
            seen: dict[str, list[int]] = {}
            for i, name in enumerate(header):
                if name:
                    seen.setdefault(name, []).append(i + 1)
                    names[name] = None
            ambiguous.update({n: p for n, p in seen.items() if len(p) > 1})
        columns = {name: Column(f"c{i + 1}", "VARCHAR") for i, name in enumerate(names)}
        return Layout(list(names), columns, ambiguous, headers)

    def scan_function(self, described: bool = False) -> tuple[str, list[object]]:
        """The table function that reads Parquet or JSON lines, with its parameters."""
        if self.spec.kind == "parquet":
            extra = "" if described else ", filename=true, file_row_number=true"
            return f"read_parquet(?, union_by_name=true{extra})", [self.readable]
        extra = "" if described else ", filename=true"
        return (f"read_json(?, format='newline_delimited', union_by_name=true{extra})",
                [self.readable])

    def plan(self, layout: Layout) -> _Plan:
        spec, plan = self.spec, _Plan()
        problems: list[Diagnostic] = []

        def column(name: str, span: Span, what: str = "column") -> Column | None:
            if name in layout.ambiguous:
                places = ", ".join(str(p) for p in layout.ambiguous[name])
                problems.append(error("E302", f"data '{spec.name}' ({spec.path}) has several "
                                      f"columns named '{name}' (columns {places}): rename all "
                                      "but one", span))
                return None
            found = layout.columns.get(name)
            if found is None:
                code = "E313" if what == "where" else "E302"
                lead = "where: " if what == "where" else ""
                problems.append(error(code, f"{lead}data '{spec.name}' ({spec.path}) has no "
                                      f"column '{name}'" + choices_hint(name, metrics), span))
                return None
            plan.used[name] = found
            return found

        wanted = spec.time or spec.period_column
        at = find_column(layout.names, wanted)
        metrics = [n for i, n in enumerate(layout.names) if i != at]
        if at is not None:
            found = column(layout.names[at], spec.span)
            if spec.time:
                plan.time = found
            else:
                plan.period = found
        elif spec.time or spec.period_column_set:
            label = "time" if spec.time else "period"
            problems.append(error("E306", f"data '{spec.name}' ({spec.path}) has no {label} "
                                  f"column '{wanted}'" + choices_hint(wanted, layout.names),
                                  spec.span))
        for use in self.uses:
            if use.column:
                found = column(use.column, use.span)
                if found is not None and use.agg not in TEXT_AGGS:
                    plan.numbers[use.column] = found
                elif found is not None:
                    plan.texts[use.column] = found
            if use.weight:
                found = column(use.weight, use.span)
                if found is not None:
                    plan.numbers[use.weight] = found
            if use.where is not None:
                for name in columns_of(use.where):
                    found = column(name, use.span, "where")
                    if found is not None and name in filter_numbers(use.where):
                        plan.numbers[name] = found
                    if found is not None and name in filter_texts(use.where):
                        plan.texts[name] = found
        if problems:
            raise NsmError(problems)
        return plan

    # -- rows ---------------------------------------------------------------------------------
    def prepared(self, plan: _Plan) -> list[str]:
        """Each used column read once: as a number (plus the cells that are not plain), as
        text, the time as a timestamp, the period label."""
        out: list[str] = []
        for name, column in plan.used.items():
            out += column.prepared(name in plan.numbers, name in plan.texts)
        if plan.time is not None:
            out.append(f"{time_expression(plan.time)} AS ts")
        if plan.period is not None:
            if self.raw_key:  # one_pass: labels as written, trimmed only when one needs it
                out.append(f"{plan.period.as_text()} AS k")
            else:
                out.append(f"NULLIF(trim({plan.period.as_text()}), '') AS k")
        return out or ["1 AS c0"]

    def load(self, layout: Layout, plan: _Plan) -> None:
        """Read the rows once into a temporary table of prepared columns (delimited files,
        JSON lines), or prepare Parquet where it lies (its columns are cheap to scan again)."""
        prepared = ", ".join(self.prepared(plan))
        if self.spec.kind == "delimited":
            # read serially: DuckDB's parallel CSV reader may store the rows out of file
            # order, and rowid is what `last` and labels kept in file order go by
            source, params = self.csv_source(layout, plan, parallel=False)
            self.con.execute(f"CREATE TEMP TABLE rows AS SELECT {prepared} FROM ({source})",
                             params)
            return
        reader, params = self.scan_function()
        positions = {name: i + 1 for i, name in enumerate(layout.names)}
        raw = ", ".join(f"#{positions[n]} AS {c.ref}" for n, c in plan.used.items())
        if self.spec.kind == "parquet":
            self.base_params = params
            if plan.period is None and not any(use.agg == "last" for use in self.uses):
                # periods from time (or one for all): file order is never asked for, and the
                # query is the one a person would write by hand
                self.base = f"(SELECT {prepared} FROM (SELECT {raw or '1 AS c0'} FROM " \
                    f"{self.scan_function(described=True)[0]}{self.limit})) AS b"
                self.order = "0"
                return
            self.base = (f"(SELECT {prepared}, o FROM (SELECT {raw or '1 AS c0'}, "
                         f"{{'f': filename, 'r': file_row_number}} AS o FROM {reader}"
                         f"{self.limit})) AS b")
            self.order = "b.o"
            return
        self.con.execute(f"CREATE TEMP TABLE rows AS SELECT {prepared}, f FROM (SELECT "
                         f"{raw or '1 AS c0'}, filename AS f FROM {reader}{self.limit})", params)

    def csv_source(self, layout: Layout, plan: _Plan,
                   parallel: bool = True) -> tuple[str, list[object]]:
        """The used columns of every file as text, by position (UNION ALL of read_csv)."""
        refs = sorted({c.ref for c in plan.used.values()}, key=lambda r: int(r[1:]))
        typed = {c.ref for c in plan.numbers.values() if c.typed}
        parts, params = [], []
        for path in self.readable:
            header, skip = layout.headers[path]
            names = {name: layout.columns[name].ref for name in header
                     if name and name not in layout.ambiguous}
            positional = {names.get(name, f"z{i}") if name else f"z{i}": "VARCHAR"
                          for i, name in enumerate(header)}
            positional.update({r: "DOUBLE" for r in typed if r in positional})
            have = set(positional)
            select = ", ".join(r if r in have else
                               f"NULL::{'DOUBLE' if r in typed else 'VARCHAR'} AS {r}"
                               for r in refs)
            parts.append(f"SELECT {select or '1 AS c0'} FROM read_csv(?, header=false, "
                         "skip=?, auto_detect=false, delim=?, quote='\"', escape='\"', "
                         "columns=?, null_padding=true, strict_mode=true, parallel=?)")
            params += [path, skip, delimiter(path), positional, parallel]
        if self.limit:
            return f"SELECT * FROM ({' UNION ALL '.join(parts)}){self.limit}", params
        return " UNION ALL ".join(parts), params

    def one_pass(self, layout: Layout, plan: _Plan) -> Table | None:
        """The block aggregated straight from the files in one scan, cells read by SQL where
        that is exact (Column.read_sql); None when anything needs the prepared rows: a cell
        SQL cannot read, a blank period or time, labels kept in file order, two spellings
        of one period, or several rows where one is expected."""
        for column in plan.numbers.values():
            column.one_pass = True
        source, params = self.csv_source(layout, plan)
        self.raw_key = plan.period is not None
        try:
            while True:
                self.base = f"(SELECT {', '.join(self.prepared(plan))} FROM ({source})) AS b"
                self.base_params, self.order = params, "0"
                result = self.aggregate(plan)
                if not self.raw_key or not any(_untrimmed(row[0]) for row in result.rows):
                    break
                self.raw_key = False  # ` 2025-01` or a quoted empty label: trim in SQL
        finally:
            for column in plan.numbers.values():
                column.one_pass = False
            self.base, self.base_params, self.order = "rows AS b", [], "b.rowid"
            self.raw_key = False
        if any(result.odd.values()) or any(row[0] is None for row in result.rows):
            return None
        if any(use.agg is None for use in self.uses) and any(r[1] > 1 for r in result.rows):
            return None
        if plan.period is not None and len(result.rows) > 1:
            raw = [str(row[0]) for row in result.rows]
            ordered = order_labels(raw)
            if ordered.grain is None or ordered.mixed is not None or len(
                    {ordered.periods[ordered.index[label]] for label in raw}) < len(raw):
                return None
        return self.finish(layout, plan, result)

    # -- the query ----------------------------------------------------------------------------
    def key(self, plan: _Plan, params: Params, relabel: dict[str, str] | None = None) -> str:
        """The period of a row: its time truncated to the grain, its label, or one for all."""
        if plan.time is not None:
            return f"date_trunc({params.add(self.spec.grain)}, ts)"
        if plan.period is None:
            return "0"
        if not relabel:
            return "k"
        cases = " ".join(f"WHEN {params.add(raw)} THEN {params.add(new)}"
                         for raw, new in relabel.items())
        return f"(CASE k {cases} ELSE k END)"

    def order_key(self, plan: _Plan) -> str:
        """What `last` means: the latest row by time, then by file order."""
        if plan.time is not None:
            return f"{{'t': ts, 'o': {self.order}}}"
        return self.order

    def source_sql(self, use: ColumnUse, plan: _Plan, params: Params) -> str:
        """One use's aggregate over a period's rows (its where filter as FILTER)."""

        def only(*more: str) -> str:  # each copy of the filter binds its own parameters
            condition = (compile_filter(use.where, plan.used, params)
                         if use.where is not None else None)
            tests = [t for t in (condition, *more) if t]
            return f" FILTER (WHERE {' AND '.join(tests)})" if tests else ""

        if use.agg == "count":
            if not use.column:
                return "count(*)" + only()
            return f"count({plan.used[use.column].text()})" + only()
        if use.agg == "count_distinct":
            return f"count(DISTINCT {plan.used[use.column].distinct_key()})" + only()
        value = plan.numbers[use.column].number()
        if use.weight:
            weight = plan.numbers[use.weight].number()
            present = (f"{value} IS NOT NULL", f"{weight} IS NOT NULL")
            return (f"(sum({value} * {weight}){only(*present)} / "
                    f"NULLIF(sum({weight}){only(*present)}, 0))")
        if use.agg == "last":
            return f"arg_max({value}, {self.order_key(plan)})" + only(f"{value} IS NOT NULL")
        function = {"mean": "avg", None: "any_value"}.get(use.agg, use.agg)
        return f"{function}({value})" + only()

    def aggregate(self, plan: _Plan, relabel: dict[str, str] | None = None) -> _Result:
        """One query over the prepared rows: every source and check per period."""
        params = Params()  # the select list's, then the base's: in the order of the text
        sources = dict.fromkeys(use.key for use in self.uses)
        by_key = {use.key: use for use in self.uses}
        first = "0 AS first" if self.order == "0" else f"min({self.order}) AS first"
        parts = [f"{self.key(plan, params, relabel)} AS key", f"{self.row_count()} AS n", first]
        parts += [self.source_sql(by_key[k], plan, params) for k in sources]
        odd_names = list(plan.numbers)
        parts += [plan.numbers[name].odd() for name in odd_names]
        joins = "".join(c.join() for c in plan.numbers.values())
        sql = f"SELECT {', '.join(parts)} FROM {self.base}{joins} GROUP BY 1"
        rows = _serial_if_needed(self.con, sql, params.values + self.base_params).fetchall()
        width = len(sources)
        odd = {name: sum(int(r[3 + width + i]) for r in rows) for i, name in
               enumerate(odd_names)}
        untyped = [plan.numbers[name] for name in odd_names
                   if odd[name] and plan.numbers[name].typed]
        if untyped:  # `nan`, `inf` or 1e400 read by the typed reader: the grammar decides
            raise _Untype(untyped)
        return _Result(rows, list(sources), odd)

    def row_count(self) -> str:
        """count(*), or 1 per period where counting the rows beside a count(DISTINCT) would
        cost the query a tenth of its time and nobody needs the number: Table.rows is then
        the number of periods (0 still means no rows; nothing else reads it)."""
        if self.limit or any(use.agg is None for use in self.uses) or not any(
                use.agg == "count_distinct" for use in self.uses):
            return "count(*)"
        return "1"

    def map_cells(self, plan: _Plan) -> None:
        """Read the cells that are no plain number (`1,200`, `92%`) by nsm's rules, once per
        distinct cell, into a small map per column that the aggregate query joins."""
        columns = [c for c in plan.numbers.values() if not c.numeric and not c.typed]
        if not columns:
            return
        parts = [f"SELECT DISTINCT {i} AS c, r_{c.ref} AS s FROM {self.base} WHERE {c.rest()}"
                 for i, c in enumerate(columns)]
        found = self.con.execute(" UNION ALL ".join(parts),
                                 self.base_params * len(parts)).fetchall()
        by_column: dict[int, list[str]] = {}
        for index, cell in found:
            by_column.setdefault(index, []).append(cell)
        for index, column in enumerate(columns):
            column.clean = index not in by_column  # rest() holds for no row: odd() is 0
        for index, cells in by_column.items():
            column = columns[index]
            numbers, bad = parse_cells(cells)  # the light reader's rules, exactly
            refused = set(bad)
            good = [(c, float(v)) for i, (c, v) in enumerate(zip(cells, numbers, strict=True))
                    if i not in refused]
            self.con.execute(f"CREATE TEMP TABLE m_{column.ref} (s VARCHAR, v DOUBLE)")
            if good:
                self.con.execute(f"INSERT INTO m_{column.ref} SELECT unnest(?), unnest(?)",
                                 [[c for c, _ in good], [None if v != v else v for _, v in good]])
            column.mapped = True

    # -- periods and series -------------------------------------------------------------------
    def finish(self, layout: Layout, plan: _Plan, result: _Result) -> Table:
        spec = self.spec
        if any(result.odd.values()) or any(row[0] is None for row in result.rows):
            exact = self.problems()  # raises, or the table when all was well
            if exact is not None:
                return exact
            result.rows = [row for row in result.rows if row[0] is not None]  # blank rows
        crowded = [use for use in self.uses if use.agg is None]
        if crowded and any(row[1] > 1 for row in result.rows):
            exact = self.problems()
            if exact is not None:
                return exact
        # first appearance in the files (Parquet gives {file, row} as a dict)
        rows = sorted(result.rows, key=lambda row: tuple(row[2].values())
                      if isinstance(row[2], dict) else (row[2],))
        if not rows:  # a header and no rows: no periods (load_data warns)
            empty = {key: np.zeros(0) for key in result.keys}
            return Table(spec, [], empty, self.metrics(layout, plan), None, 0)
        grain: str | None = None
        if plan.time is not None:
            periods = [period_of_value(row[0], spec.grain or "month") for row in rows]
            labels = [p.label for p in periods]
            grain = spec.grain
        elif plan.period is None:
            labels = [ALL]
        else:
            raw = [str(row[0]) for row in rows]
            ordered = order_labels(raw)
            if ordered.mixed is not None:
                period_codes(spec, raw)  # raises E312 with the same message as small files
            canonical = {label: ordered.periods[ordered.index[label]] for label in raw}
            if len(set(canonical.values())) < len(raw):  # 2025-6 and 2025-06: one period
                relabel = {k: v for k, v in canonical.items() if k != v}
                return self.finish(layout, plan, self.aggregate(plan, relabel))
            labels = [canonical[label] for label in raw]
            grain = ordered.grain
        order = sorted(range(len(labels)), key=lambda i: _time_order(labels[i], grain, i))
        periods = [labels[i] for i in order]
        series: dict[tuple, np.ndarray] = {}
        for j, key in enumerate(result.keys):
            values = [rows[i][3 + j] for i in order]
            series[key] = np.array([np.nan if v is None else float(v) for v in values])
        return Table(spec, periods, series, self.metrics(layout, plan), grain,
                     sum(int(row[1]) for row in rows))

    def problems(self) -> Table | None:
        """Every bad cell, time or label with its place, found by reading the rows again
        (raised as NsmError); the exact reader's table, or None, when nothing is wrong."""
        bad_times: set[str] = set()
        if self.plan_time is not None:
            column = self.plan_time
            found = self.con.execute(
                f"SELECT DISTINCT trim({column.as_text()}) FROM {self.base} WHERE "
                "ts IS NULL LIMIT 1000", self.base_params).fetchall()
            bad_times = {"" if row[0] is None else row[0] for row in found}
        if self.spec.kind != "delimited" and self.planned is not None:
            found = self.bad_values(self.planned)
            if found:
                raise NsmError(found)
        return _problems(self.spec, self.uses, self.files, "", bad_times)

    def located(self, plan: _Plan) -> tuple[str, list[object]]:
        """The prepared rows of Parquet or JSON lines with their file (f) and 1-based row (r)."""
        if self.spec.kind == "jsonl":
            return ("(SELECT *, row_number() OVER (PARTITION BY f ORDER BY rowid) AS r "
                    "FROM rows) AS b", [])
        raw = ", ".join(f"#{int(c.ref[1:])} AS {c.ref}" for c in plan.used.values())
        mapped = [c for c in plan.used.values() if c.mapped]
        for column in mapped:  # the rows as load() prepares them; the maps join afterwards
            column.mapped = False
        prepared = ", ".join(self.prepared(plan))
        for column in mapped:
            column.mapped = True
        return (f"(SELECT {prepared}, f, r FROM (SELECT "
                f"{raw or '1 AS c0'}, filename AS f, file_row_number + 1 AS r FROM "
                f"{self.scan_function()[0]}{self.limit})) AS b", [self.readable])

    def bad_values(self, plan: _Plan) -> list[Diagnostic]:
        """E304 at the row (Parquet) or line (JSON lines) of each value nsm cannot read: a
        number, a time, a period label; the first few of each column."""
        base, params = self.located(plan)
        names = {column.ref: name for name, column in plan.used.items()}
        checks = [(c, f"r_{c.ref}", f"{c.number()} IS NULL AND {c.rest()}", c.join())
                  for c in plan.numbers.values()]
        if plan.time is not None:
            checks.append((plan.time, plan.time.as_text(), "ts IS NULL", ""))
        if plan.period is not None:
            checks.append((plan.period, plan.period.as_text(), "k IS NULL", ""))
        found: list[tuple[str, int, int, str]] = []
        for column, cell, test, join in checks:
            rows = self.con.execute(
                f"SELECT f, r, CAST({cell} AS VARCHAR) FROM {base}{join} WHERE {test} "
                f"ORDER BY f, r LIMIT {MAX_BAD_CELLS + 1}", params).fetchall()
            for path, row, cell in rows:
                text = _value_problem(self.spec, names[column.ref], column, plan, cell)
                found.append((path, int(row), int(column.ref[1:]), text))
        return _located_diagnostics(self.spec, found)


def _value_problem(spec: DataSpec, name: str, column: Column, plan: _Plan,
                   cell: str | None) -> str:
    """What is wrong with one value, in the words the CSV reader uses for a cell."""
    if column is plan.time or column is plan.period:
        if cell is None or not cell.strip():
            what = (f"a time in column '{name}'" if column is plan.time else
                    f"a period label like 2025-06 in column '{name}'")
            return f"bad value '' in column '{name}': every row needs {what}"
        return (f"bad value {quoted_cell(cell)} in column '{name}': expected a date like "
                "2025-06-03 or a timestamp")
    return f"bad value {quoted_cell(cell or '')} in column '{name}': {cell_hint(cell or '')}"


def _located_diagnostics(spec: DataSpec, found: list[tuple[str, int, int, str]]
                         ) -> list[Diagnostic]:
    """E304s per file: JSON lines at their line, Parquet at `row N` (its rows have no lines)."""
    by_file: dict[str, list[tuple[int, int, str]]] = {}
    for path, row, column, text in found:
        by_file.setdefault(path, []).append((row, column, text))
    out: list[Diagnostic] = []
    for path, cells in by_file.items():
        if spec.kind == "jsonl":
            lines = _record_lines(path, {row for row, _, _ in cells})
            cells = [(lines.get(row, row), column, text) for row, column, text in cells]
        else:
            cells = [(row, column, f"row {row}: {text}") for row, column, text in cells]
        out += capped_diagnostics(DataSpec(spec.name, path, spec.span), cells)
    return out


def _record_lines(path: str, records: set[int]) -> dict[int, int]:
    """The line of each wanted JSON record (the N-th line that is not blank)."""
    out: dict[int, int] = {}
    last = max(records, default=0)
    record = 0
    with open(path, "rb") as handle:
        for line, text in enumerate(handle, start=1):
            if text.strip():
                record += 1
                if record in records:
                    out[record] = line
                if record >= last:
                    break
    return out


PLAIN_NUMBER = re.compile(r"\s*(?:[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)?\s*")
SAMPLE_ROWS = 100


def _plain_at_first(path: str, header: tuple[list[str], int], names: list[str]) -> list[str]:
    """The names whose cells in the file's first rows all look like numbers DuckDB reads
    (or are empty): a guess that spares a typed read failing at its first `1,200`."""
    columns, skip = header
    at = {name: columns.index(name) for name in names if name in columns}
    bad: set[str] = set()
    with open(path, encoding="utf-8", newline="", errors="replace") as handle:
        for _ in range(skip):
            handle.readline()
        rows = csv.reader(handle, delimiter=delimiter(path))
        with contextlib.suppress(csv.Error):  # a broken file: DuckDB finds out where
            for row, _ in zip(rows, range(SAMPLE_ROWS), strict=False):
                bad.update(name for name, i in at.items()
                           if i < len(row) and not PLAIN_NUMBER.fullmatch(row[i]))
    return [name for name in names if name not in bad]


def _serial_if_needed(con, sql: str, params: list[object]):
    """Run a query over read_csv; again with the serial reader when the file has quoted
    newlines (DuckDB's parallel reader asks for parallel=false)."""
    try:
        return con.execute(sql, params)
    except Exception as exc:  # duckdb.Error
        if "parallel=false" not in str(exc):
            raise
        return con.execute(sql, [False if p is True else p for p in params])


def _untrimmed(label: object) -> bool:
    """Whether a label read as written differs from what trim() and NULLIF('') make of it
    (str.strip removes every character DuckDB's trim does, and more)."""
    return isinstance(label, str) and (not label or label != label.strip())


def _time_order(label: str, grain: str | None, index: int) -> tuple:
    """Calendar periods by time; other labels in the order they first appear."""
    if grain is None:
        return (index,)
    found = parse_period(label)
    return (found.ordinal if found else 0,)


def period_of_value(value: object, grain: str):
    """The calendar period a truncated timestamp starts."""
    day = value.date() if isinstance(value, dt.datetime) else value
    assert isinstance(day, dt.date)
    if grain == "day":
        return day_period(day)
    if grain == "week":
        return week_period(day)
    if grain == "month":
        return month_period(day.year, day.month)
    if grain == "quarter":
        return quarter_period(day.year, (day.month - 1) // 3 + 1)
    return Period("year", day.year, f"{day.year:04d}")


# --- problems: the exact places ------------------------------------------------------------------


def _problems(spec: DataSpec, uses: Sequence[ColumnUse], files: list[str], message: str,
              bad_times: set[str] | None = None) -> Table | None:
    """Raise the diagnostics for a block the engine found wrong, each at file:line:column.

    A plain small-file shape goes to the exact reader, whose table is returned when it
    finds nothing wrong (blank rows). Otherwise None means the rows were only blank."""
    if spec.kind == "delimited" and not spec.time and not spec.is_glob and not any(
            use.needs_engine for use in uses):
        return build_table(spec, read_rows(spec, {use.column for use in uses}), uses)
    if spec.kind == "delimited":
        found: list[tuple[str, int, int, str]] = []
        for path in files:
            found += _scan(spec, uses, path, bad_times or set())
            if len(found) > 1000:
                break
        if found:
            by_file: dict[str, list[tuple[int, int, str]]] = {}
            for path, line, column, text in found:
                by_file.setdefault(path, []).append((line, column, text))
            diagnostics: list[Diagnostic] = []
            for path, cells in by_file.items():
                diagnostics += capped_diagnostics(DataSpec(spec.name, path, spec.span), cells)
            raise NsmError(diagnostics)
        if not message:
            return None
    first = message.strip().splitlines()[0][:200] if message.strip() else ""
    detail = f" ({first})" if first and not first.startswith("Original") else ""
    raise NsmError([error("E303", f"data '{spec.name}': cannot read {spec.path} as "
                           f"{_kind_name(spec)}{detail}", spec.span)])


def _kind_name(spec: DataSpec) -> str:
    return {"parquet": "Parquet", "jsonl": "JSON lines"}.get(spec.kind, "CSV")


def _scan(spec: DataSpec, uses: Sequence[ColumnUse], path: str,
          bad_times: set[str]) -> list[tuple[str, int, int, str]]:
    """Stream one delimited file with the csv module and list what is wrong where."""
    csv.field_size_limit(FIELD_LIMIT)
    numbers = {u.column for u in uses if u.column and u.agg not in TEXT_AGGS}
    numbers |= {u.weight for u in uses if u.weight}
    out: list[tuple[str, int, int, str]] = []
    with open(path, encoding=_python_codec(spec), newline="", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter(path))
        header: list[str] | None = None
        try:
            for line, row in numbered_rows(reader):
                if header is None:
                    header = [cell.strip() for cell in row]
                    at = {name: i for i, name in enumerate(header)}
                    key = find_column(header, spec.time or spec.period_column)
                    checks = [(at[n], n) for n in numbers if n in at]
                    continue
                out += _row_problems(spec, row, header, line, key, checks, bad_times)
                if len(out) > 1000:
                    break
        except csv.Error as exc:
            out.append((path, reader.line_num, 1, f"cannot read the file as CSV: {exc}"))
    return [(path, line, column, text) for _, line, column, text in out]


def _python_codec(spec: DataSpec) -> str:
    name = _codec_name(spec)
    return "utf-8-sig" if name == "utf-8" else name


def _row_problems(spec: DataSpec, row: list[str], header: list[str], line: int,
                  key: int | None, checks: list[tuple[int, str]],
                  bad_times: set[str]) -> list[tuple[str, int, int, str]]:
    out: list[tuple[str, int, int, str]] = []
    if len(row) > len(header) and "".join(row[len(header):]).strip():
        out.append(("", *extra_cells(line, len(row), len(header))))
    if key is not None:
        cell = row[key].strip() if key < len(row) else ""
        if not cell:
            what = (f"a time in column '{spec.time}'" if spec.time else
                    f"a period label like 2025-06 in column '{spec.period_column}'")
            out.append(("", line, key + 1, f"bad cell '' in column '{header[key]}': every "
                        f"row needs {what}"))
        elif spec.time and cell in bad_times:
            out.append(("", line, key + 1, f"bad cell {quoted_cell(cell)} in column "
                        f"'{header[key]}': expected a date like 2025-06-03 or a timestamp"))
    for at, name in checks:
        cell = row[at] if at < len(row) else ""
        if parse_cell(cell) is None:
            out.append(("", line, at + 1, f"bad cell {quoted_cell(cell)} in column '{name}': "
                        f"{cell_hint(cell)}"))
    return out

"""Segments through the engine: the block's one aggregate query grouped by period AND segment.

The rows are loaded once (as for the total); each slice (`--by COL`, `--where COL=VALUE`,
`benchmark: {best: COL}`) is one more query over them, its sources computed exactly as
the total's (same cells map, same filters and weights), plus each source's basis: its
rows (mean) or its weights (weighted mean) per segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nsm_cli.data.engine import (
    ENGINE_BYTES,
    FileBlock,
    data_files,
    period_of_value,
    read_block,
    utf8_copies,
)
from nsm_cli.data.files import check_regular
from nsm_cli.data.periods import order_labels
from nsm_cli.data.segments import BLANK, Slice, Sliced, read_slice
from nsm_cli.data.sql import Params, compile_filter
from nsm_cli.data.tables import ALL, ColumnUse, Table, choices_hint
from nsm_cli.diagnostics import NsmError, error
from nsm_cli.tree.model import DataSpec


class SegmentBlock(FileBlock):
    """A block that also answers per (period, segment) for the slices asked of it."""

    ONE_PASS = False  # grouped() queries the prepared rows again, once per slice

    def __init__(self, *args, slices: Sequence[Slice] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slices = list(slices)
        self.relabel: dict[str, str] | None = None
        self.kept_plan = None

    def plan(self, layout):
        plan = super().plan(layout)
        names = {s.by for s in self.slices if s.by} | {c for s in self.slices for c, _ in s.where}
        for name in sorted(names):
            found = layout.columns.get(name)
            if found is None:
                raise NsmError([error("E302", f"data '{self.spec.name}' ({self.spec.path}) has "
                                      f"no column '{name}' (listed under segments)"
                                      + choices_hint(name, layout.names), self.spec.span)])
            plan.used[name] = found
            plan.texts[name] = found
        self.kept_plan = plan
        return plan

    def aggregate(self, plan, relabel=None):
        self.relabel = relabel
        return super().aggregate(plan, relabel)

    def table(self) -> Table:
        table = super().table()
        if self.kept_plan is not None and self.slices:
            table.sliced = {wanted: self.grouped(wanted, table) for wanted in self.slices}
        return table

    def basis_sql(self, use: ColumnUse, plan, params: Params, single: bool = False) -> str:
        """How much of the source's total a segment carries: its values (mean), its weights.
        With `single`, what that is for a segment's one row in a period (see row_sql)."""
        if use.agg not in ("mean", None) or not use.column or use.column not in plan.numbers:
            return "NULL"  # (before the filter binds parameters the text would not use)
        tests = [compile_filter(use.where, plan.used, params)] if use.where is not None else []
        value = plan.numbers[use.column].number()
        tests.append(f"{value} IS NOT NULL")
        if use.weight:
            weight = plan.numbers[use.weight].number()
            tests.append(f"{weight} IS NOT NULL")
            if single:
                return f"(CASE WHEN {' AND '.join(tests)} THEN 0.0 + {weight} END)"
            return f"sum({weight}) FILTER (WHERE {' AND '.join(tests)})"
        if single:
            return f"(CASE WHEN {' AND '.join(tests)} THEN 1 ELSE 0 END)"
        if len(tests) == 1:  # count() skips NULLs already; a FILTER costs a pass per source
            return f"count({value})"
        return f"count({value}) FILTER (WHERE {' AND '.join(tests)})"

    def row_sql(self, use: ColumnUse, plan, params: Params) -> str:
        """What source_sql gives over a group of one row, read from the row itself: a count
        is 1 or 0, a sum or mean is 0.0 + the value (DuckDB's sum starts from zero, so -0.0
        comes out 0.0 as it does grouped), any other aggregate is the value."""
        condition = (compile_filter(use.where, plan.used, params) if use.where is not None
                     else None)

        def when(value: str, *more: str, otherwise: str = "NULL") -> str:
            tests = [t for t in (condition, *more) if t]
            if not tests:
                return value
            return f"(CASE WHEN {' AND '.join(tests)} THEN {value} ELSE {otherwise} END)"

        if use.agg in ("count", "count_distinct"):
            if not use.column:
                return when("1", otherwise="0")
            column = plan.used[use.column]
            text = column.distinct_key() if use.agg == "count_distinct" else column.text()
            return when("1", f"{text} IS NOT NULL", otherwise="0")
        value = plan.numbers[use.column].number()
        if use.weight:
            weight = plan.numbers[use.weight].number()
            return when(f"((0.0 + {value} * {weight}) / NULLIF(0.0 + {weight}, 0))",
                        f"{value} IS NOT NULL", f"{weight} IS NOT NULL")
        if use.agg in ("sum", "mean"):
            return when(f"(0.0 + {value})")
        return when(value)

    def grouped(self, wanted: Slice, table: Table) -> Sliced:
        """One query: every source and its basis per (period, segment) over the kept rows;
        straight from the rows when each (period, segment) holds one (a wide export)."""
        plan = self.kept_plan
        segment = (f"CAST({plan.used[wanted.by].text()} AS VARCHAR)" if wanted.by else "''")
        tests = [f"{plan.used[column].text()} = ?" for column, _ in wanted.where]
        where = f" WHERE {' AND '.join(tests)}" if tests else ""
        where_values = [value for _, value in wanted.where]
        single = self.one_row_each(segment, where, where_values)
        params = Params()
        by_key = {use.key: use for use in self.uses}
        source = self.row_sql if single else self.source_sql
        parts = [f"{self.key(plan, params, self.relabel)} AS key", f"{segment} AS seg"]
        parts += [f"{source(use, plan, params)} AS s{j}"
                  for j, use in enumerate(by_key.values())]
        for j, use in enumerate(by_key.values()):  # no column for a basis that is NULL:
            basis = self.basis_sql(use, plan, params, single)  # numpy holds it as objects
            if basis != "NULL":
                parts.append(f"{basis} AS b{j}")
        joins = "".join(c.join() for c in plan.numbers.values())
        group = "" if single else " GROUP BY 1, 2"
        sql = f"SELECT {', '.join(parts)} FROM {self.base}{joins}{where}{group}"
        values = params.values + self.base_params + where_values
        columns = self.con.execute(sql, values).fetchnumpy()
        return self.arrays(columns, list(by_key), table, wanted)

    def one_row_each(self, segment: str, where: str, values: list[object]) -> bool:
        """Whether every (period, segment) of the slice holds one row of the loaded rows
        (DISTINCT, like GROUP BY, takes NULL periods or segments as one value)."""
        if self.base != "rows AS b" or self.kept_plan.time is not None:
            return False  # raw rows by time: many rows per period
        params = Params()
        key = self.key(self.kept_plan, params, self.relabel)
        found = self.con.execute(
            f"SELECT count(*) = count(DISTINCT ({key}, {segment})) FROM {self.base}{where}",
            params.values + values).fetchone()
        return bool(found[0])

    def arrays(self, columns: dict, keys: list[tuple], table: Table, wanted: Slice) -> Sliced:
        """The query's columns as (segments, periods) arrays, one per source and basis."""
        raw_segments = [BLANK if s is None or s == "" else str(s)
                        for s in _plain(columns["seg"])]
        labels = sorted(set(raw_segments)) if wanted.by else ["all"]
        segment_at = {label: i for i, label in enumerate(labels)}
        period_at = {label: i for i, label in enumerate(table.periods)}
        period_keys = _plain(columns["key"])
        named = self.period_labels(period_keys)
        rows = np.array([period_at.get(named.get(k, ""), -1) if k is not None else -1
                         for k in period_keys], dtype=np.intp)
        segs = np.array([segment_at[s] if wanted.by else 0 for s in raw_segments],
                        dtype=np.intp)
        kept = rows >= 0
        rows, segs = rows[kept], segs[kept]
        shape = (len(labels), len(table.periods))
        series: dict[tuple, np.ndarray] = {}
        basis: dict[tuple, np.ndarray] = {}
        for j, key in enumerate(keys):
            for name, out in ((f"s{j}", series), (f"b{j}", basis)):
                grid = np.full(shape, np.nan)
                if name in columns:
                    grid[segs, rows] = _floats(columns[name])[kept]
                out[key] = grid
        return Sliced(labels, series, basis, int(kept.sum()))

    def period_labels(self, keys: list[object]) -> dict[object, str]:
        """Each period key of the query as the table's period label (as finish names them)."""
        plan = self.kept_plan
        if plan.time is not None:
            return {k: period_of_value(k, self.spec.grain or "month").label for k in set(keys)
                    if k is not None}
        if plan.period is None:
            return {k: ALL for k in set(keys)}
        raw = sorted({str(k) for k in keys if k is not None})
        ordered = order_labels(raw) if raw else None
        return {k: ordered.periods[ordered.index[str(k)]] for k in set(keys) if k is not None}


def read_sliced_block(spec: DataSpec, uses: Sequence[ColumnUse], slices: Sequence[Slice]
                      ) -> Table:
    """`read_block`, plus each slice grouped by segment: in the engine's query for files it
    reads, else by the light reader (small CSV files, long format)."""
    if getattr(spec, "database", None) is not None:
        raise NsmError([error("E112", f"data '{spec.name}' lives in a database: --by, --where "
                              "and benchmark best read files only so far", spec.span)])
    if spec.format == "long" or not _engine_route(spec, uses):
        table = read_block(spec, uses)
        table.sliced = {wanted: read_slice(spec, uses, table.periods, wanted)
                        for wanted in slices}
        return table
    files = data_files(spec)
    import duckdb

    con = duckdb.connect()
    try:
        with utf8_copies(spec, files) as readable:
            return SegmentBlock(spec, uses, files, readable, con, slices=slices).table()
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException):
        pass  # the file, not the query: the plain route finds out where
    finally:
        con.close()
    table = read_block(spec, uses)
    table.sliced = {wanted: read_slice(spec, uses, table.periods, wanted) for wanted in slices}
    return table


def _engine_route(spec: DataSpec, uses: Sequence[ColumnUse]) -> bool:
    """Whether read_block would take the engine (every file but small plain CSV files)."""
    light = spec.kind == "delimited" and not spec.is_glob and not spec.time
    if not light or any(use.needs_engine for use in uses):
        return True
    return check_regular(spec, spec.path) >= ENGINE_BYTES


def _plain(column) -> list:
    """A fetched column as a list, NULL as None (numpy's masked arrays hold NULLs apart)."""
    if np.ma.isMaskedArray(column):
        return [None if m else v for v, m in zip(column.data.tolist(),
                                                 np.ma.getmaskarray(column).tolist(),
                                                 strict=True)]
    return column.tolist()


def _floats(column) -> np.ndarray:
    """A fetched numeric column as floats, NULL as NaN."""
    if np.ma.isMaskedArray(column):
        return np.ma.filled(column.astype(np.float64), np.nan)
    if column.dtype == object:
        return np.array([np.nan if v is None else float(v) for v in column.tolist()])
    return column.astype(np.float64)

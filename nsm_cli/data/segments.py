"""The segment axis: a data block's rows grouped by period and one segment column.

`--by COL` gives every value of COL one segment; `--where COL=VALUE` keeps the
matching rows. Each leaf aggregates a segment's rows with its own `agg`, so the
segments come out as one (segments × periods) array per source and the whole
tree evaluates across segments in one pass. Beside each array a `basis` says how
much of the total the segment carries (rows for a `mean`, weights for a weighted
mean), which is what a step in one segment moves the total by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nsm_cli.data.tables import (
    aggregate,
    find_column,
    long_columns,
    parse_cells,
    read_text,
    split_csv,
    wide_columns,
)
from nsm_cli.diagnostics import InputError, NsmError, error
from nsm_cli.tree.model import BestOf, DataSpec, SourceRef, TreeFile

BLANK = "(blank)"  # the segment of rows whose segment cell is empty
STEPPED_AGGS = ("sum", "count", "mean", None)  # a step in one segment moves the total


def source_key(ref) -> tuple:
    """The series a source (or a column use) reads: column, agg, filter and weight."""
    return ref.key


@dataclass(frozen=True)
class Slice:
    """Which rows and which grouping: one segment column (or none) and literal filters."""

    by: str | None = None
    where: tuple[tuple[str, str], ...] = ()


@dataclass
class Sliced:
    """One block's sources for one slice: arrays of (segments, block periods)."""

    labels: list[str]
    series: dict[tuple, np.ndarray]
    basis: dict[tuple, np.ndarray]
    rows: int


def best_slices(tree: TreeFile) -> list[Slice]:
    """The groupings `benchmark: {best: COL}` needs: by COL over all rows."""
    return [Slice(node.benchmark.column) for node in tree.nodes.values()
            if isinstance(node.benchmark, BestOf)]


def block_slices(spec: DataSpec, wanted: Sequence[Slice]) -> list[Slice]:
    """The slices as one block sees them: its own segment columns only; none that is empty."""
    out: dict[Slice, None] = {}
    for item in wanted:
        found = narrowed(spec, item)
        if found.by is not None or found.where:
            out[found] = None
    return list(out)


def narrowed(spec: DataSpec, wanted: Slice) -> Slice:
    by = wanted.by if wanted.by in spec.segments else None
    return Slice(by, tuple((c, v) for c, v in wanted.where if c in spec.segments))


def missing_segments(spec: DataSpec, columns: Sequence[str]) -> list:
    """E302 for each `segments` column a wide block's file does not have."""
    if spec.format == "long" or not columns:
        return []
    from nsm_cli.data.tables import choices_hint

    return [error("E302", f"data '{spec.name}' ({spec.path}) has no column '{name}' (listed "
                  f"under segments)" + choices_hint(name, list(columns)), spec.span)
            for name in spec.segments if name not in columns]


def declared_segments(tree: TreeFile) -> list[str]:
    """Every column some data block lists under `segments`, in file order."""
    return list(dict.fromkeys(c for spec in tree.data.values() for c in spec.segments))


def check_slice(tree: TreeFile, by: str | None, where: Sequence[tuple[str, str]]) -> None:
    """`by` and `where` name declared segment columns (SegmentError naming them otherwise)."""
    declared = declared_segments(tree)
    for parameter, column, value in [("by", by, by)] + [("where", c, f"{c}={v}")
                                                          for c, v in where]:
        if column is None or column in declared:
            continue
        known = (f"declared segment columns are {', '.join(declared)}" if declared else
                 "no data block declares segments: add segments: [COL] to one")
        raise SegmentError(parameter, value if parameter == "by" else column,
                           f"no data block lists '{column}' under segments; {known}")


class SegmentError(InputError):
    """A segment request the data cannot answer: exit 1, naming the parameter and what
    there is."""


def read_slice(spec: DataSpec, refs: Sequence[SourceRef], periods: list[str],
               wanted: Slice) -> Sliced:
    """Read the block's rows again and aggregate each source per (segment, period)."""
    header, body = split_csv(spec, read_text(spec))
    period_at = find_column(header, spec.period_column)
    rows = [row for _, row in body]
    if period_at is not None:
        rows = [row for row in rows if period_at < len(row) and row[period_at].strip()]
    keep = np.ones(len(rows), dtype=bool)
    for column, value in wanted.where:
        keep &= np.array([cell == value for cell in _cells(spec, header, rows, column)],
                         dtype=bool)
    if not keep.all():
        rows = [row for row, kept in zip(rows, keep, strict=True) if kept]
    index = {label: i for i, label in enumerate(periods)}
    if period_at is None:
        period_codes = np.zeros(len(rows), dtype=np.intp)
    else:
        period_codes = np.array([index.get(row[period_at].strip(), -1) for row in rows],
                                dtype=np.intp)
    if wanted.by is None:
        labels, segment_codes = ["all"], np.zeros(len(rows), dtype=np.intp)
    else:
        found, segment_codes = np.unique(
            np.asarray(_cells(spec, header, rows, wanted.by), dtype=object).astype(str),
            return_inverse=True)
        labels = [label or BLANK for label in found.tolist()]
        segment_codes = segment_codes.reshape(-1)
    codes = period_codes * len(labels) + segment_codes
    shape = (len(periods), len(labels))
    out = Sliced(labels, {}, {}, len(rows))
    columns = _columns(spec, header, period_at, rows, refs, wanted)
    for ref in refs:
        key = source_key(ref)
        if key in out.series or ref.column not in columns:
            continue
        values, at = columns[ref.column]
        row_codes = codes[at]
        weight = getattr(ref, "weight", None)
        if weight is not None and weight in columns:
            weights = columns[weight][0]
            series, basis = _weighted(values, weights, row_codes, shape)
        else:
            size = shape[0] * shape[1]
            series = aggregate(values, row_codes, size, ref.agg).reshape(shape).T
            basis = aggregate(values, row_codes, size, "count").reshape(shape).T
        out.series[key], out.basis[key] = series, basis
    return out


def _cells(spec: DataSpec, header: list[str], rows: list[list[str]], column: str) -> list[str]:
    """A segment column's cells, stripped; E302 when the file lacks the declared column."""
    at = find_column(header, column)
    if at is None:
        raise NsmError([error("E302", f"data '{spec.name}' ({spec.path}) has no column "
                              f"'{column}' (listed under segments)", spec.span)])
    return [row[at].strip() if at < len(row) else "" for row in rows]


def _columns(spec: DataSpec, header: list[str], period_at: int | None, rows: list[list[str]],
             refs: Sequence[SourceRef], wanted: Slice) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every column the sources read (and their weights), as numbers with the rows they sit in."""
    names = {ref.column for ref in refs} | {w for ref in refs if (w := getattr(ref, "weight",
                                                                                None))}
    if spec.format == "long":
        _, used = long_columns(spec, header, rows, names)
    else:
        _, used, _ = wide_columns(header, period_at, rows, names)
    del wanted
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, column in used.items():
        values, _ = parse_cells(column.cells)  # the total's read already refused bad cells
        out[name] = (values, column.rows)
    return out


def _weighted(values: np.ndarray, weights: np.ndarray, codes: np.ndarray,
              shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Σw·v / Σw per group over the rows where both are present, and Σw (the basis)."""
    present = ~np.isnan(values) & ~np.isnan(weights)
    size = shape[0] * shape[1]
    kept = codes[present]
    total = np.bincount(kept, weights=weights[present], minlength=size)
    product = np.bincount(kept, weights=weights[present] * values[present], minlength=size)
    rows = np.bincount(kept, minlength=size)
    with np.errstate(all="ignore"):
        series = np.where((rows > 0) & (total != 0), product / total, np.nan)
    return series.reshape(shape).T, np.where(rows > 0, total, np.nan).reshape(shape).T


@dataclass
class SegmentView:
    """The tree's data cut by one segment column and filters, aligned to the tree's periods.

    `series` gives (segments, periods) arrays (periods alone without a segment column);
    a block without the column gives its total, the same in every segment.
    """

    store: object  # the DataStore with every block's totals
    slice: Slice
    labels: list[str]
    blocks: dict[str, Sliced] = field(default_factory=dict)
    _maps: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def periods(self) -> list[str]:
        return self.store.periods

    @property
    def shape(self) -> tuple[int, ...]:
        periods = len(self.store.periods)
        return (periods,) if self.slice.by is None else (len(self.labels), periods)

    def segmented(self, ref: SourceRef) -> bool:
        """Whether this source differs by segment (its block has the segment column)."""
        sliced = self.blocks.get(ref.data)
        return sliced is not None and self.slice.by is not None and len(sliced.labels) > 0 \
            and self.slice.by in self.store.tables[ref.data].spec.segments

    def series(self, ref: SourceRef) -> np.ndarray:
        return self._aligned(ref, "series")

    def basis(self, ref: SourceRef) -> np.ndarray:
        """Rows (mean) or weights (weighted mean) of each segment in the source's total."""
        return self._aligned(ref, "basis")

    def _aligned(self, ref: SourceRef, what: str) -> np.ndarray:
        sliced = self.blocks.get(ref.data)
        if sliced is None:
            total = self.store.series(ref)
            return total if self.slice.by is None else np.broadcast_to(total, self.shape)
        block = getattr(sliced, what)[source_key(ref)]
        positions = self.store._positions[ref.data]
        out = np.full((block.shape[0], positions.size), np.nan)
        present = positions >= 0
        out[:, present] = block[:, positions[present]]
        if self.slice.by is None:
            return out[0]
        if ref.data not in self._maps:
            where = {label: i for i, label in enumerate(sliced.labels)}
            self._maps[ref.data] = np.array([where.get(label, -1) for label in self.labels])
        mapping = self._maps[ref.data]
        if self.slice.by not in self.store.tables[ref.data].spec.segments:
            return np.broadcast_to(out[0], self.shape)
        full = np.full(self.shape, np.nan)
        found = mapping >= 0
        full[found] = out[mapping[found]]
        return full


def slice_view(tree: TreeFile, store, wanted: Slice) -> SegmentView:
    """Read every block the slice touches once more, grouped and filtered."""
    refs: dict[str, list[SourceRef]] = {}
    for node in tree.nodes.values():
        for ref in (node.source, node.benchmark):
            if isinstance(ref, SourceRef) and ref.data in store.tables:
                refs.setdefault(ref.data, []).append(ref)
    blocks: dict[str, Sliced] = {}
    for name, table in store.tables.items():
        mine = narrowed(table.spec, wanted)
        if mine.by is None and not mine.where:
            continue
        ready = getattr(table, "sliced", {}).get(mine)
        if ready is None and getattr(table.spec, "database", None) is not None:
            raise SegmentError(None, None, f"data '{name}' lives in a database and was read "
                               "without its segments")
        blocks[name] = ready if ready is not None else read_slice(
            table.spec, refs.get(name, []), table.periods, mine)
        check_matches(table.spec, mine.where, blocks[name])
    labels = sorted({label for name, sliced in blocks.items()
                     if wanted.by in store.tables[name].spec.segments for label in sliced.labels})
    return SegmentView(store, wanted, labels, blocks)


def check_matches(spec: DataSpec, where: tuple[tuple[str, str], ...], sliced: Sliced) -> None:
    if where and sliced.rows == 0:
        said = " and ".join(f"{c}={v}" for c, v in where)
        database = getattr(spec, "database", None)
        where = (f"table {database.table}" if database.table else "its sql") \
            if database is not None else spec.path
        raise SegmentError("where", said, f"no rows of data '{spec.name}' ({where}) match")


def slices_for(by: str | None, where: Sequence[tuple[str, str]]) -> list[Slice]:
    """What a command with --by and --where reads beside the totals."""
    found = [Slice(by, tuple(where))] if by is not None else []
    if where:
        found.append(Slice(None, tuple(where)))
    return found


# ---------------------------------------------------------------- databases


def basis_uses(uses: Sequence) -> list:
    """For each mean, the aggregate that says how much of its total a segment carries: its
    values' count, or its weights' sum (asked of a database beside the means themselves)."""
    from nsm_cli.data.tables import ColumnUse

    out = []
    for use in uses:
        if use.agg == "mean" and use.column:
            column, agg = (use.weight, "sum") if use.weight else (use.column, "count")
            out.append(ColumnUse(column, agg, use.span, use.where, use.where_text))
    return out


def basis_key(use) -> tuple | None:
    """The key of a mean's basis use (see basis_uses); None for other aggregations."""
    if use.agg != "mean" or not use.column:
        return None
    column, agg = (use.weight, "sum") if use.weight else (use.column, "count")
    return (column, agg) if use.where_text is None else (column, agg, use.where_text, None)


def database_slices(plan, names: list[str], rows: list[tuple], periods: list[str],
                    period_of) -> dict[Slice, Sliced]:
    """The per-segment rows of a database block's one query (grouping sets of period and
    each segment column) as a Sliced per slice: each segment column over all rows, and for
    each `--where` (plan.filtered: its gated measures from index `first`, then its row
    count) the totals and each segment column over the matching rows only.
    `period_of(row)` → period index."""
    at = {name.lower(): i for i, name in enumerate(names)}
    flags = [at[f"nsm_all_{i}"] for i in range(len(plan.segments))]
    groups: dict[str | None, list[tuple]] = {None: [r for r in rows if all(r[f] for f in flags)]}
    for i, column in enumerate(plan.segments):
        groups[column] = [r for r in rows if not r[flags[i]]
                          and all(r[f] for j, f in enumerate(flags) if j != i)]
    size = len(plan.uses)
    out: dict[Slice, Sliced] = {}
    for i, column in enumerate(plan.segments):
        out[Slice(column)] = _gathered(plan.uses, groups[column], at, f"nsm_segment_{i}", 0,
                                       None, periods, period_of)
    for where, first in plan.filtered:
        for i, column in [(None, None), *enumerate(plan.segments)]:
            label = None if i is None else f"nsm_segment_{i}"
            out[Slice(column, where)] = _gathered(plan.uses, groups[column], at, label, first,
                                                  f"nsm_m{first + size}", periods, period_of)
    return out


def _gathered(uses: Sequence, rows: list[tuple], at: dict[str, int], label: str | None,
              first: int, counted: str | None, periods: list[str], period_of) -> Sliced:
    """One grouping's rows as (segments, periods) arrays of measures `first`…; with `counted`
    (the matching rows' count) a group without matching rows is left out, as if absent."""
    if counted is not None:
        rows = [r for r in rows if r[at[counted]]]
    names_of = ["all" if label is None else
                BLANK if (c := r[at[label]]) is None or str(c).strip() == "" else str(c).strip()
                for r in rows]
    labels = sorted(set(names_of))
    where = {name: k for k, name in enumerate(labels)}
    series = {use.key: np.full((len(labels), len(periods)), np.nan) for use in uses}
    for row, name in zip(rows, names_of, strict=True):
        period = period_of(row)
        if period is None:
            continue
        for k, use in enumerate(uses):
            value = row[at[f"nsm_m{first + k}"]]
            series[use.key][where[name], period] = np.nan if value is None else float(value)
    basis = {use.key: series.get(basis_key(use), np.full((len(labels), len(periods)), np.nan))
             for use in uses}
    count = len(rows) if counted is None else sum(int(r[at[counted]]) for r in rows)
    return Sliced(labels, series, basis, count)

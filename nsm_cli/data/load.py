"""Tree file → compiled tree bound to its data: the one entry point every command uses."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nsm_cli.data.engine import read_block
from nsm_cli.data.periods import sort_key
from nsm_cli.data.runtime import stage
from nsm_cli.data.segment_engine import read_sliced_block
from nsm_cli.data.segments import (
    Slice,
    basis_uses,
    best_slices,
    block_slices,
    missing_segments,
)
from nsm_cli.data.tables import ColumnUse, Table
from nsm_cli.diagnostics import Diagnostic, NsmError, error, warning
from nsm_cli.tree.alert_rules import tree_problems
from nsm_cli.tree.compile import CompiledTree, compile_tree
from nsm_cli.tree.model import SourceRef, TreeFile
from nsm_cli.tree.parser import parse_tree

ALL_PERIODS = "all"
BIG_TREE_BYTES = 1 << 20  # a tree file this big (~10,000 nodes) shows progress on a terminal


@dataclass
class DataStore:
    """Every data file of a tree, read once, aligned to the tree's periods."""

    periods: list[str]
    tables: dict[str, Table] = field(default_factory=dict)
    sampled: list[str] = field(default_factory=list)  # blocks read only in part (nsm check)
    _positions: dict[str, np.ndarray] = field(default_factory=dict)

    def series(self, ref: SourceRef) -> np.ndarray:
        """The column over the tree's periods; NaN where the file has no row for a period
        (a fresh array: the caller may write into it)."""
        return self.series_many([ref])[0].copy()

    def series_many(self, refs: Sequence[SourceRef]) -> list[np.ndarray]:
        """:meth:`series` of many sources (the 50,000 leaves of a big tree): one gather per
        data block instead of one per source. The arrays are rows of one block: read them,
        do not write into them."""
        out: list[np.ndarray] = [np.empty(0)] * len(refs)
        blocks: dict[str, list[int]] = {}
        for k, ref in enumerate(refs):
            blocks.setdefault(ref.data, []).append(k)
        for name, picked in blocks.items():
            table = self.tables[name]
            positions = self._positions[name]
            stacked = np.array([table.series[refs[k].key] for k in picked], dtype=np.float64,
                               ndmin=2).reshape(len(picked), len(table.periods))
            if np.array_equal(positions, np.arange(len(table.periods))):
                block = stacked   # the tree's periods are this block's, in its order
            else:
                block = np.full((len(picked), len(self.periods)), np.nan)
                present = positions >= 0
                block[:, present] = stacked[:, positions[present]]
            for k, row in zip(picked, block, strict=True):
                out[k] = row
        return out


def source_refs(tree: TreeFile) -> list[SourceRef]:
    """Every data column the tree uses: sources and benchmarks of all nodes."""
    refs: list[SourceRef] = []
    for node in tree.nodes.values():
        if node.source is not None:
            refs.append(node.source)
        if isinstance(node.benchmark, SourceRef):
            refs.append(node.benchmark)
    return refs


def load_data(tree: TreeFile, databases: str = "run", slices: Sequence[Slice] = (),
              sample: int | None = None) -> tuple[DataStore, list[Diagnostic]]:
    """Read each data file once with every column any node asks of it (and, for the segment
    slices asked of it, grouped by segment too; with `sample`, big file blocks only up to that
    many rows: see read_block)."""
    diagnostics: list[Diagnostic] = []
    uses: dict[str, list[ColumnUse]] = {}
    for ref in source_refs(tree):
        if ref.data in tree.data:
            uses.setdefault(ref.data, []).append(ColumnUse(
                ref.column, ref.agg, ref.span, ref.where, ref.where_text, ref.weight))
    tables: dict[str, Table] = {}
    for name, spec in tree.data.items():
        try:
            wanted = block_slices(spec, [*slices, *best_slices(tree)])
            mine = uses.get(name, [])
            if spec.database is not None:   # the query groups by every segment column anyway
                wheres = [s.where for s in wanted if s.where]
                tables[name] = read_source(tree, spec, mine + basis_uses(mine) if wanted
                                           else mine, databases, wheres)
            else:
                tables[name] = (read_sliced_block(spec, mine, wanted) if wanted
                                else read_block(spec, mine, sample))
        except NsmError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        diagnostics.extend(missing_segments(spec, tables[name].columns))
        if tables[name].rows == 0:
            diagnostics.append(warning("W301", f"data '{name}' ({spec.path}) has a header but "
                                       "no rows: every node it feeds is missing", spec.span))
    periods, clash = merge_periods(tables)
    if clash is not None:
        diagnostics.append(clash)
        tables = {}
    store = DataStore(periods=periods, tables=tables,
                      sampled=[name for name, table in tables.items() if table.sampled])
    index = {label: i for i, label in enumerate(periods)}
    for name, table in tables.items():
        positions = np.full(len(periods), -1, dtype=np.int64)
        if table.periods == [ALL_PERIODS]:
            positions[:] = 0   # a file without periods holds one value for every period
        else:
            for position, label in enumerate(table.periods):
                positions[index[label]] = position
        store._positions[name] = positions
    return store, diagnostics


def merge_periods(tables: dict[str, Table]) -> tuple[list[str], Diagnostic | None]:
    """The tree's periods: every block's, in time order; E312 when blocks differ in grain.

    Blocks whose labels are not dates keep their file order (the first block's first).
    """
    dated = {name: t for name, t in tables.items() if t.periods != [ALL_PERIODS]}
    kinds: dict[str | None, str] = {}
    for name, table in dated.items():
        kinds.setdefault(table.grain, name)
    if len(kinds) > 1:
        (one, first), (other, second) = list(kinds.items())[:2]
        def says(grain: str | None) -> str:
            return f"{grain}ly periods".replace("dayly", "daily") if grain else \
                "labels that are not dates"
        spec = tables[second].spec
        return [], error("E312", f"data '{first}' has {says(one)} but data '{second}' has "
                         f"{says(other)}: give both blocks one grain (raw rows roll up with "
                         "time: and grain:)", spec.span)
    labels = dict.fromkeys(p for t in dated.values() for p in t.periods)
    if next(iter(kinds), None) is not None:
        return sorted(labels, key=sort_key), None
    return list(labels) or [ALL_PERIODS], None


@dataclass
class LoadedTree:
    """A tree ready to evaluate: structure, formulas and data, with the warnings so far."""

    tree: CompiledTree
    data: DataStore
    warnings: list[Diagnostic] = field(default_factory=list)


def read_source(tree: TreeFile, spec, uses: list[ColumnUse], databases: str,
                wheres: Sequence[tuple[tuple[str, str], ...]] = ()) -> Table:
    """A file through the embedded engine, or a database block through one query
    (`databases`: run it, validate it without scanning rows, or offline: skip it;
    `wheres`: the `--where` filters the query answers beside the totals)."""
    if spec.database is None:
        return read_block(spec, uses)
    from nsm_cli.data.warehouse import read_database

    return read_database(spec, uses, tree, databases, wheres)


def inspect_tree(path: str, databases: str = "run", slices: Sequence[Slice] = (),
                 sample: int | None = None) -> tuple[LoadedTree | None, list[Diagnostic]]:
    """Everything that can be found wrong with a tree file, never raising for bad input."""
    return _inspect(path, databases, slices, sample)


def _stages_to_show(path: str) -> int:
    """3 (parse, compile, read data) for a tree big enough to take seconds, else 0."""
    try:
        return 3 if os.path.getsize(path) >= BIG_TREE_BYTES else 0
    except OSError:
        return 0


def _inspect(path: str, databases: str, slices: Sequence[Slice] = (), sample: int | None = None
             ) -> tuple[LoadedTree | None, list[Diagnostic]]:
    with stage(f"loading {path}", total=_stages_to_show(path), minimum=1) as advance:
        try:
            parsed, diagnostics = parse_tree(path)
        except NsmError as exc:
            return None, exc.diagnostics
        diagnostics += tree_problems(parsed)   # bad `alert:` rules are errors like any other key
        advance(1)
        compiled, more = compile_tree(parsed)
        diagnostics += more
        advance(1)
        store, more = load_data(parsed, databases, slices, sample)
        diagnostics += more
        advance(1)
    if compiled is None or any(d.is_error for d in diagnostics):
        return None, diagnostics
    return LoadedTree(compiled, store, [d for d in diagnostics if not d.is_error]), diagnostics


def load_tree(path: str, slices: Sequence[Slice] = ()) -> LoadedTree:
    """Load a tree for a command; raise NsmError with every error found. `slices` are the
    segment groupings the command will ask for (`--by`, `--where`), read with the rest."""
    loaded, diagnostics = inspect_tree(path, slices=slices)
    if loaded is None:
        raise NsmError([d for d in diagnostics if d.is_error] or diagnostics)
    return loaded

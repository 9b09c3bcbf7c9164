"""The light reader and DuckDB give the same answer on any file: values where the file is good,
the same diagnostics (code and place) where it is not. Hypothesis writes the files."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nsm_cli.data.engine as engine_module
from nsm_cli.data.engine import read_block
from nsm_cli.data.tables import ColumnUse, Table
from nsm_cli.diagnostics import NsmError, Span
from nsm_cli.tree.model import DataSpec

GOOD = ["1", "-2.5", "1,200", '"1,200"', "92%", "¥1,200", "1.2e3", "", "NA", "-", " 7 ", "0",
        "nan", "  ", "3.", "１２", "١٢"]
JUNK = ["abc", "1_000", "+-3", "inf", "1e400", '"x,y"']
CELLS = st.sampled_from(GOOD * 6 + JUNK)  # mostly files that read, some that do not
LABELS = st.sampled_from(["2025-01", "2025-1", "2025-02", "Mar 2025", "2025-03"] * 4
                         + ["", "pilot"])
USES = [ColumnUse("a", "sum", Span("t.yaml", 5, 1)), ColumnUse("a", "count", Span("t.yaml", 6, 1)),
        ColumnUse("b", "max", Span("t.yaml", 7, 1)), ColumnUse("b", "last", Span("t.yaml", 8, 1)),
        ColumnUse("a", "mean", Span("t.yaml", 9, 1))]


def outcome(path: str, big: bool, uses: list[ColumnUse] = USES) -> object:
    spec = DataSpec(name="d", path=path, span=Span("t.yaml", 3, 5))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engine_module, "ENGINE_BYTES", 0 if big else 1 << 40)
            table: Table = read_block(spec, uses)
    except NsmError as exc:
        return sorted((d.code, d.span.line, d.span.column) for d in exc.diagnostics)
    return (table.periods, {k: [None if math.isnan(v) else round(float(v), 9) for v in s]
                            for k, s in table.series.items()})


@settings(max_examples=80)
@given(rows=st.lists(st.tuples(LABELS, CELLS, CELLS), min_size=0, max_size=8),
       extra=st.booleans())
def test_light_and_engine_routes_agree(rows, extra, tmp_path_factory):
    folder = tmp_path_factory.mktemp("routes")
    lines = ["period,a,b"] + [",".join(row) for row in rows]
    if extra and rows:
        lines[-1] += ",9"
    path = folder / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert outcome(str(path), False) == outcome(str(path), True)


@pytest.mark.parametrize("text", [
    "period,a,b\n2025-01,1,2\n2025-1,3,4\n",        # two spellings of one month
    "period,a,b\npilot,1,2\n2025-01,3,4\n",         # a label that is no date: file order
    "period,a,b\n2025-01,1,2\n\n,,\n2025-02,5,\n",  # blank rows
])
def test_routes_agree_on_known_shapes(text, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    assert outcome(str(path), False) == outcome(str(path), True)


NO_LAST = [use for use in USES if use.agg != "last"]  # the engine's one-pass route


@settings(max_examples=60)
@given(rows=st.lists(st.tuples(LABELS, CELLS, CELLS), min_size=0, max_size=8))
def test_one_pass_route_agrees(rows, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onepass")
    path = folder / "d.csv"
    path.write_text("\n".join(["period,a,b"] + [",".join(row) for row in rows]) + "\n",
                    encoding="utf-8")
    assert outcome(str(path), False, NO_LAST) == outcome(str(path), True, NO_LAST)


SQL_CELLS = st.text(alphabet="0123456789+-.,_eE %$¥€£nai\t", max_size=9)


@settings(max_examples=300)
@given(cells=st.lists(SQL_CELLS, min_size=1, max_size=30))
def test_sql_reads_cells_as_the_grammar_does(cells):
    """Column.read_sql gives parse_cell's value, or NaN (the exact reader decides)."""
    import duckdb

    from nsm_cli.data.sql import Column
    from nsm_cli.numbers import parse_cell

    column = Column("c1", "VARCHAR", one_pass=True)
    con = duckdb.connect()
    try:
        found = con.execute(f"SELECT {column.read_sql()} FROM (SELECT unnest(?) AS c1)",
                            [cells]).fetchall()
    finally:
        con.close()
    for cell, (value,) in zip(cells, found, strict=True):
        expected = parse_cell(cell)
        if value is not None and math.isnan(value):
            continue  # left to the exact reader
        if value is None:  # missing
            assert expected is not None and math.isnan(expected), cell
        else:
            assert expected == value, cell

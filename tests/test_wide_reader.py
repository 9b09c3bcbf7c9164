"""The columnar reader of wide CSV files (data/wide.py) answers only when the exact reader
would give the same table: same numbers, same periods; for anything wrong it gives up and
the exact reader names every bad cell at its line and column."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsm_cli.data.tables import ColumnUse, build_table, read_rows, read_text
from nsm_cli.data.wide import read_light, read_wide
from nsm_cli.diagnostics import NsmError, Span
from nsm_cli.tree.model import DataSpec

ENTRY = Span("tree.yaml", 3, 5)


def spec(path) -> DataSpec:
    return DataSpec(name="d", path=str(path), span=ENTRY)


def uses(*columns: str, agg: str | None = None) -> list[ColumnUse]:
    return [ColumnUse(c, agg, Span("tree.yaml", 10 + i, 9)) for i, c in enumerate(columns)]


def listed(series: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in series]


def test_plain_and_odd_cells_read_in_bulk_to_the_hand_computed_values(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("period,a,b,note\n2025-02,1.5,,x\n2025-01,2e3,92%,y\n2025-03, 7 ,NA,z\n",
                    encoding="utf-8")
    table = read_wide(spec(path), read_text(spec(path)), uses("a", "b"))
    assert table is not None   # the bulk reader took it: an empty cell, 92% and NA are no errors
    assert table.periods == ["2025-01", "2025-02", "2025-03"]
    assert listed(table.series[("a", None)]) == [2000.0, 1.5, 7.0]
    assert listed(table.series[("b", None)]) == [0.92, None, None]
    assert table.columns == ["a", "b", "note"]
    assert table.rows == 3


def test_sums_and_counts_per_period(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("period,a,b\n2025-01,1,x\n2025-01,2,\n2025-02,4,y\n", encoding="utf-8")
    wanted = [*uses("a", agg="sum"), *uses("b", agg="count"), *uses("a", agg="max")]
    table = read_wide(spec(path), read_text(spec(path)), wanted)
    assert table is not None
    assert listed(table.series[("a", "sum")]) == [3.0, 4.0]
    assert listed(table.series[("b", "count")]) == [1.0, 1.0]
    assert listed(table.series[("a", "max")]) == [2.0, 4.0]


def test_a_bad_cell_is_left_to_the_exact_reader_which_names_its_place(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("period,a,b\n2025-01,1,2\n2025-02,3,abc\n", encoding="utf-8")
    assert read_wide(spec(path), read_text(spec(path)), uses("a", "b")) is None
    with pytest.raises(NsmError) as caught:
        read_light(spec(path), uses("a", "b"))
    [found] = caught.value.diagnostics
    assert (found.code, found.span.line, found.span.column) == ("E304", 3, 3)
    assert found.message.startswith("bad cell 'abc' in column 'b'")


GIVE_UP = {
    "two rows for one period": "period,a\n2025-01,1\n2025-01,2\n",
    "a short row": "period,a,b\n2025-01,1\n",
    "a row with more cells": "period,a\n2025-01,1,2\n",
    "quotes": 'period,a\n2025-01,"1,200"\n',
    "a lone carriage return": "period,a\r2025-01,1\r",
    "an empty period label": "period,a\n,1\n",
    "infinity": "period,a\n2025-01,1e400\n",
    "a missing column": "period,b\n2025-01,1\n",
    "a doubled column": "period,a,a\n2025-01,1,2\n",
}


def test_whatever_the_exact_reader_words_or_reads_differently_is_left_to_it(tmp_path):
    for why, text in GIVE_UP.items():
        path = tmp_path / "d.csv"
        path.write_bytes(text.encode("utf-8"))
        assert read_wide(spec(path), read_text(spec(path)), uses("a")) is None, why


# cells a wide export holds: plain numbers (most), then forms the grammar reads or refuses
PLAIN = st.one_of(st.integers(-10**6, 10**6).map(str),
                  st.floats(-1e6, 1e6, allow_nan=False).map(repr),
                  st.floats(1e-12, 1e12).map(lambda v: f"{v:.6e}"))
ODD = st.sampled_from(["", " ", "NA", "-", "—", "n/a", "92%", "¥4", " 7 ", "\t1", "1_000",
                       "nan", "inf", "1e400", "abc", "1-2", "1e", ".", "+.5", "1.", "١",
                       "\xa01", "−3", "x1.1", "+2pp", "0012", "-0", "1e-400"])
CELL = st.one_of(PLAIN, PLAIN, PLAIN, ODD)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_bulk_and_exact_readers_agree(tmp_path_factory, data):
    width = data.draw(st.integers(1, 5))
    labels = data.draw(st.lists(st.sampled_from(["2025-01", "2025-02", "2025-03", "2024-12"]),
                                min_size=0, max_size=5))
    rows = [[label, *data.draw(st.lists(CELL, min_size=width, max_size=width))]
            for label in labels]
    names = [f"m{i}" for i in range(width)]
    text = "\n".join(",".join(row) for row in [["period", *names], *rows]) + "\n"
    path = tmp_path_factory.mktemp("wide") / "d.csv"
    path.write_text(text, encoding="utf-8")
    aggs = data.draw(st.lists(st.sampled_from([None, "sum", "mean", "min", "max", "last",
                                               "count"]), min_size=width, max_size=width))
    wanted = [ColumnUse(name, agg, Span("tree.yaml", 10, 9)) for name, agg in
              zip(names, aggs, strict=True)]
    exact = _outcome(lambda: build_table(spec(path), read_rows(spec(path), set(names)),
                                         wanted))
    assert _outcome(lambda: read_light(spec(path), wanted)) == exact
    bulk = read_wide(spec(path), read_text(spec(path)), wanted)
    assert bulk is None or _outcome(lambda: bulk) == exact


def _outcome(read) -> object:
    """A table as plain values, or its diagnostics, so two readers' answers compare."""
    try:
        table = read()
    except NsmError as exc:
        return [(d.code, d.message, d.span.line, d.span.column) for d in exc.diagnostics]
    return (table.periods, table.columns, table.grain, table.rows,
            {key: listed(series) for key, series in table.series.items()})

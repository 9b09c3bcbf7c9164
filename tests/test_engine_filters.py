"""`where` filters in the engine's queries bind one parameter per `?` the text holds: a
weighted mean with a filter writes its filter twice, and a segment's basis writes none for
an aggregation that has no basis. Values are computed by hand from the rows below."""

from __future__ import annotations

import os

import pytest

import nsm_cli.data.segment_engine as segment_engine
from nsm_cli.data.engine import read_block
from nsm_cli.data.segments import Slice
from nsm_cli.data.tables import ColumnUse
from nsm_cli.diagnostics import Span
from nsm_cli.tree.model import DataSpec
from nsm_cli.tree.where import parse_where

ROWS = """period,store,kind,a,w
2025-01,s1,x,3,5
2025-01,s1,y,2,3
2025-01,s2,x,2,4
2025-01,s2,y,8,4
2025-02,s1,x,1,4
2025-02,s1,y,7,5
2025-02,s2,x,1,4
2025-02,s2,y,5,2
"""


def _uses() -> list[ColumnUse]:
    span = Span("t.yaml", 9, 7)
    x, y = (parse_where(f"kind = '{k}'") for k in "xy")
    return [ColumnUse("a", "sum", span, x, "kind = 'x'"),
            ColumnUse("a", "mean", span, y, "kind = 'y'", "w")]


@pytest.fixture
def spec(tmp_path) -> DataSpec:
    path = tmp_path / "rows.csv"
    path.write_text(ROWS, encoding="utf-8")
    return DataSpec("d", str(path), Span(os.path.join(tmp_path, "t.yaml"), 3, 5),
                    segments=("store",))


def test_a_weighted_mean_with_a_filter(spec):
    table = read_block(spec, _uses())  # a filter sends the block to the engine
    sums, means = (table.series[use.key].tolist() for use in _uses())
    assert table.periods == ["2025-01", "2025-02"]
    assert sums == [3 + 2, 1 + 1]
    assert means == [(2 * 3 + 8 * 4) / (3 + 4), (7 * 5 + 5 * 2) / (5 + 2)]


def test_segments_with_filters_are_grouped_in_the_engine(spec, monkeypatch):
    def no_fallback(*args, **kwargs):
        raise AssertionError("the engine's grouped query failed: the light reader was asked")

    monkeypatch.setattr(segment_engine, "read_slice", no_fallback)
    table = segment_engine.read_sliced_block(spec, _uses(), [Slice("store")])
    part = table.sliced[Slice("store")]
    sums, means = (part.series[use.key].tolist() for use in _uses())
    assert part.labels == ["s1", "s2"]
    assert sums == [[3, 1], [2, 1]]
    assert means == [[2, 7], [8, 5]]
    weights = part.basis[_uses()[1].key].tolist()
    assert weights == [[3, 5], [4, 2]]  # a weighted mean's basis: its weights


WIDE = """period,store,kind,a,w,id
2025-01,s1,x,-0,5,c1
2025-01,s2,y,"1,200",0,
2025-01,,x,3,,c2
2025-02,s1,y,7,5,c1
2025-02,s2,x,NA,4,c3
2025-02,,y,-2.5,1,c3
"""


def _every_aggregation() -> list[ColumnUse]:
    span = Span("t.yaml", 9, 7)
    x = parse_where("kind = 'x'")
    uses = [ColumnUse("a", agg, span) for agg in ("sum", "mean", "min", "max", "median",
                                                  "last", "count")]
    return uses + [ColumnUse("a", "sum", span, x, "kind = 'x'"),
                   ColumnUse("a", "mean", span, None, None, "w"),
                   ColumnUse("a", "mean", span, x, "kind = 'x'", "w"),
                   ColumnUse("id", "count_distinct", span),
                   ColumnUse("id", "count", span, x, "kind = 'x'"),
                   ColumnUse("", "count", span, x, "kind = 'x'")]


@pytest.mark.parametrize("rows", [WIDE, WIDE + "2025-02,s1,x,4,2,c4\n"],
                         ids=["one-row-each", "two-rows-in-one-group"])
def test_one_row_each_reads_as_the_grouped_query(rows, tmp_path, monkeypatch):
    """A wide export (one row per period and segment) skips GROUP BY; every aggregation,
    filter and weight gives what the grouped query gives, to the sign of a zero."""
    path = tmp_path / "rows.csv"
    path.write_text(rows, encoding="utf-8")
    spec = DataSpec("d", str(path), Span(os.path.join(tmp_path, "t.yaml"), 3, 5),
                    segments=("store",))
    taken: list[bool] = []
    original = segment_engine.SegmentBlock.one_row_each

    def spy(self, *args):
        taken.append(original(self, *args))
        return taken[-1]

    def sliced(single_allowed: bool) -> str:
        with monkeypatch.context() as patch:
            patch.setattr(segment_engine.SegmentBlock, "one_row_each",
                          spy if single_allowed else lambda self, *args: False)
            table = segment_engine.read_sliced_block(spec, _every_aggregation(),
                                                     [Slice("store"), Slice()])
        return repr([(part.labels, {k: v.tolist() for k, v in part.series.items()},
                      {k: v.tolist() for k, v in part.basis.items()})
                     for part in table.sliced.values()])

    assert sliced(True) == sliced(False)
    assert taken == ([True, False] if rows == WIDE else [False, False])


def test_last_is_the_last_row_in_the_file_of_a_big_file(tmp_path):
    """`last` goes by rowid, so the loaded rows must keep the file's order: DuckDB's parallel
    CSV reader stored a 10 MB file's rows in another order (a wrong `last` in some months)."""
    periods, stores = 24, 1000
    tail = ",".join(["1.2345"] * 60)  # 10 MB: several of the reader's buffers
    lines = [f"{2024 + p // 12}-{p % 12 + 1:02d},store{s:04d},{p * stores + s},{tail}"
             for p in range(periods) for s in range(stores)]
    path = tmp_path / "big.csv"
    path.write_text("month,store,n," + ",".join(f"x{i}" for i in range(60)) + "\n"
                    + "\n".join(lines) + "\n", encoding="utf-8")
    span = Span(os.path.join(tmp_path, "t.yaml"), 3, 5)
    spec = DataSpec("d", str(path), span, period_column="month", period_column_set=True,
                    segments=("store",))
    uses = [ColumnUse(f"x{i}", "sum", span) for i in range(60)] + [ColumnUse("n", "last", span)]
    table = segment_engine.read_sliced_block(spec, uses, [Slice("store")])
    assert table.series[("n", "last")].tolist() == [p * stores + stores - 1.0
                                                    for p in range(periods)]

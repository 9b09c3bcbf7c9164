"""Data files (CSV) → per-period arrays: what the light reader accepts, computes and refuses.

Each case writes a small CSV into a temporary folder (the cwd, so paths read as
the user would see them) and reads it with `read_block`, once by each route.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
from conftest import alarm
from hypothesis import given, settings
from hypothesis import strategies as st

import nsm_cli.data.engine as engine_module
from nsm_cli.data.engine import read_block
from nsm_cli.data.tables import (
    LIGHT_AGGS,
    ColumnUse,
    DataSpec,
    Table,
    aggregate,
    parse_cell,
)
from nsm_cli.diagnostics import Diagnostic, NsmError, Span
from nsm_cli.tree.model import AGGS

TREE = "tree.yaml"
ENTRY = Span(TREE, 3, 5)  # where the data entry sits in the tree file


@pytest.fixture(autouse=True, params=["light", "engine"])
def route(request, tmp_path, monkeypatch):
    """Every case runs twice: the light csv reader (small files) and DuckDB (big files, with
    the size threshold at 0), which must give the same table and the same diagnostics."""
    monkeypatch.chdir(tmp_path)
    if request.param == "engine":
        monkeypatch.setattr(engine_module, "ENGINE_BYTES", 0)
    return request.param


def put(name: str, text: str | bytes, encoding: str = "utf-8") -> str:
    """Write a CSV file as given (no dedent: line numbers matter)."""
    raw = text if isinstance(text, bytes) else text.encode(encoding)
    with open(name, "wb") as handle:
        handle.write(raw)
    return name


def spec(path: str = "d.csv", **options: object) -> DataSpec:
    return DataSpec(name="d", path=path, span=ENTRY, **options)  # type: ignore[arg-type]


def use(column: str, agg: str | None = None, line: int = 10) -> ColumnUse:
    return ColumnUse(column, agg, Span(TREE, line, 9))


def read(text: str | bytes, *uses: ColumnUse, **options: object) -> Table:
    return read_block(spec(put("d.csv", text), **options), uses)


def failure(text: str | bytes, *uses: ColumnUse, **options: object) -> list[Diagnostic]:
    with pytest.raises(NsmError) as caught:
        read(text, *uses, **options)
    return caught.value.diagnostics


def values(table: Table, column: str, agg: str | None = None) -> list[float | None]:
    """The series as a list with None for NaN, so `==` compares it."""
    return [None if math.isnan(v) else float(v) for v in table.series[(column, agg)]]


# --- shapes: wide, long, periods --------------------------------------------------------------


def test_wide_one_column_per_metric_periods_sorted():
    table = read("period,visits,orders\n2025-03,30,3\n2025-01,10,1\n2025-02,20,2\n",
                 use("visits"), use("orders"))
    assert table.periods == ["2025-01", "2025-02", "2025-03"]
    assert table.columns == ["visits", "orders"]
    assert values(table, "visits") == [10, 20, 30]
    assert values(table, "orders") == [1, 2, 3]


def test_long_rows_of_period_metric_value():
    text = ("period,metric,value,region\n2025-02,mau,200,north\n2025-01,mau,100,north\n"
            "2025-01,arpu,9.5,south\n2025-02,arpu,10,south\n")
    table = read(text, use("mau"), use("arpu"), format="long")
    assert table.periods == ["2025-01", "2025-02"]
    assert table.columns == ["mau", "arpu"]
    assert values(table, "mau") == [100, 200]
    assert values(table, "arpu") == [9.5, 10]


def test_period_labels_are_stripped_and_sorted_by_time():
    table = read("period,x\n 2025-W10 ,1\n2025-W2,2\n2024-W52,3\n", use("x"))
    assert table.periods == ["2024-W52", "2025-W02", "2025-W10"]
    assert table.grain == "week"
    assert values(table, "x") == [3, 2, 1]


def test_one_block_with_two_grains_is_e312_naming_both_labels():
    [found] = failure("period,x\n2025-W10,1\n2025-Q1,3\n", use("x"))
    assert (found.code, found.span) == ("E312", ENTRY)
    assert "'2025-W10' and '2025-Q1'" in found.message


def test_labels_that_are_not_dates_keep_file_order():
    table = read("period,x\npilot,1\nlaunch,2\nbaseline,3\npilot,4\n", use("x", "sum"))
    assert table.periods == ["pilot", "launch", "baseline"]
    assert table.grain is None
    assert values(table, "x", "sum") == [5, 2, 3]


def test_two_spellings_of_one_month_are_one_period():
    table = read("period,x\n2025-6,1\n2025-06,2\nJun 2025,4\n2025-10,8\n2025-9,16\n",
                 use("x", "sum"))
    assert table.periods == ["2025-06", "2025-09", "2025-10"]
    assert values(table, "x", "sum") == [7, 16, 8]


def test_a_file_without_period_column_is_one_period_named_all():
    table = read("mau,arpu\n7980,42\n", use("mau"), use("arpu"))
    assert table.periods == ["all"]
    assert table.columns == ["mau", "arpu"]
    assert values(table, "arpu") == [42]


def test_named_period_column():
    table = read("month,x\n2025-01,1\n", use("x"), period_column="month", period_column_set=True)
    assert table.periods == ["2025-01"]
    assert table.columns == ["x"]


def test_period_column_found_ignoring_case():
    table = read("Period,x\n2025-01,1\n", use("x"))
    assert table.periods == ["2025-01"]


def test_unused_text_columns_are_left_alone():
    table = read("period,store,region,sales\n2025-01,Shop #1,N/E?,5\n", use("sales"))
    assert table.columns == ["store", "region", "sales"]
    assert list(table.series) == [("sales", None)]


def test_blank_rows_and_short_rows():
    table = read("period,a,b\n\n2025-01,1\n,,\n2025-02,2,3\n", use("a"), use("b"))
    assert values(table, "a") == [1, 2]
    assert values(table, "b") == [None, 3]


def test_header_only_gives_no_periods():
    table = read("period,x\n", use("x"))
    assert table.periods == []
    assert values(table, "x") == []


def test_a_period_missing_for_one_metric_is_nan_never_zero():
    text = "period,metric,value\n2025-01,a,1\n2025-02,a,2\n2025-01,b,5\n"
    table = read(text, use("a"), use("b"), use("b", "count"), use("b", "sum"), format="long")
    assert values(table, "a") == [1, 2]
    assert values(table, "b") == [5, None]
    assert values(table, "b", "count") == [1, None]
    assert values(table, "b", "sum") == [5, None]


OPENED: list[str] = []
WATCHING: list[bool] = []


def _watch_opens(event: str, args: tuple) -> None:
    if event == "open" and WATCHING and isinstance(args[0], str):
        OPENED.append(os.path.basename(args[0]))


def test_the_file_is_read_once_for_many_uses(route):
    """Python's audit events show every real open() of the file, whoever makes it."""
    if route == "engine":
        pytest.skip("DuckDB opens the file itself, outside Python's audit events")
    put("d.csv", "period,a,b\n2025-01,1,2\n")
    if not hasattr(_watch_opens, "added"):
        sys.addaudithook(_watch_opens)  # audit hooks cannot be removed: WATCHING switches it
        _watch_opens.added = True  # type: ignore[attr-defined]
    OPENED.clear()
    WATCHING.append(True)
    try:
        table = read_block(spec("d.csv"), [use("a"), use("b"), use("a", "sum"), use("a")])
    finally:
        WATCHING.clear()
    assert OPENED.count("d.csv") == 1
    assert values(table, "a", "sum") == [1] and values(table, "b") == [2]


# --- cells ------------------------------------------------------------------------------------

CELLS = [
    ("1200", 1200.0),
    ("1,200", 1200.0),
    ("1,234,567.5", 1234567.5),
    ("92%", 0.92),
    ("12.5 %", 0.125),
    ("-3%", -0.03),
    ("¥1,200", 1200.0),
    ("￥1,200", 1200.0),
    ("$1,200", 1200.0),
    ("€3", 3.0),
    ("-$5", -5.0),
    ("$-5", -5.0),
    ("1.2e3", 1200.0),
    ("1E-2", 0.01),
    ("-5", -5.0),
    ("−5", -5.0),
    (" 12 ", 12.0),
    ("+3", 3.0),
    (".5", 0.5),
    ("0", 0.0),
]
MISSING = ["", "   ", "NA", "na", "N/A", "n/a", "NaN", "nan", "null", "NULL", "-", " - "]
NOT_NUMBERS = ["abc", "12abc", "1,2", "1,20,0", "1.2.3", "inf", "-Infinity", "1_000", "+-3",
               "$", "%", "1e999", "¥¥1"]


@pytest.mark.parametrize(("cell", "expected"), CELLS)
def test_cell_forms(cell, expected):
    assert parse_cell(cell) == expected
    table = read(f'period,x\n2025-01,"{cell}"\n', use("x"))
    assert values(table, "x") == [expected]


@pytest.mark.parametrize("cell", MISSING)
def test_missing_cells_are_nan(cell):
    table = read(f"period,x,y\n2025-01,{cell},1\n", use("x"))
    assert values(table, "x") == [None]


@pytest.mark.parametrize("cell", NOT_NUMBERS)
def test_not_numbers_are_bad_cells(cell):
    assert parse_cell(cell) is None
    [found] = failure(f'period,x\n2025-01,"{cell}"\n', use("x"))
    assert (found.code, found.span) == ("E304", Span("d.csv", 2, 2))


# --- encodings --------------------------------------------------------------------------------


def test_utf8_bom_is_stripped_before_the_header_is_read():
    table = read("\ufeffperiod,月活跃客户\n2025-06,7980\n".encode(), use("月活跃客户"))
    assert table.periods == ["2025-06"]
    assert table.columns == ["月活跃客户"]
    assert values(table, "月活跃客户") == [7980]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_excel_chinese_encodings(encoding):
    text = "期间,门店,月活跃客户\n2025-06,北京朝阳店,\"7,980\"\n".encode(encoding)
    table = read(text, use("月活跃客户"), period_column="期间", period_column_set=True,
                 encoding=encoding)
    assert table.periods == ["2025-06"]
    assert table.columns == ["门店", "月活跃客户"]
    assert values(table, "月活跃客户") == [7980]


def test_gbk_file_read_as_utf8_names_the_line(route):
    text = "period,store,mau\n2025-05,a,1\n2025-06,北京朝阳店,2\n".encode("gbk")
    if route == "engine":  # DuckDB checks the columns it reads: make the store one of them
        text = text.replace(b"store", b"mau").replace(b",mau\n", b",x\n")
    [found] = failure(text, use("mau"))
    assert (found.code, found.span) == ("E303", Span("d.csv", 3, 1))
    assert "cannot decode d.csv as utf-8 (line 3)" in found.message
    assert "encoding: gbk" in found.message


# --- file-level errors ------------------------------------------------------------------------


def file_error(path: str, **options: object) -> Diagnostic:
    with pytest.raises(NsmError) as caught:
        read_block(spec(path, **options), [use("x")])
    [found] = caught.value.diagnostics
    assert (found.code, found.span) == ("E303", ENTRY)
    assert path in found.message
    return found


def test_missing_file():
    assert "does not exist" in file_error("nowhere/d.csv").message


def test_a_folder_is_not_a_file(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    found = file_error("folder.csv")
    assert found.message == "data 'd': folder.csv is a folder, not a CSV file"


@pytest.mark.parametrize("encoding", ["rot13", "hex", "base64"])
def test_a_codec_that_is_no_text_encoding_is_refused(encoding):
    found = file_error(put("d.csv", "period,x\n2025-01,1\n"), encoding=encoding)
    assert found.message == (f"data 'd': unknown encoding '{encoding}' for d.csv "
                             "(try utf-8, gbk or gb18030)")


def test_a_codec_error_without_a_position_is_e303():
    found = file_error(put("d.csv", "period,x\n2025-01,1\n"), encoding="punycode")
    assert found.message.startswith("data 'd': cannot decode d.csv as punycode (")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    with alarm(10):  # opening a FIFO blocks until someone writes: fail instead of hanging
        found = file_error("pipe.csv")
    assert found.message == ("data 'd': pipe.csv is not a regular file (a FIFO or a device "
                             "would block)")


@pytest.mark.parametrize("text", ["", "\n\n", " , \n"])
def test_empty_file_or_no_header(text):
    assert "empty" in file_error(put("e.csv", text)).message


def test_binary_garbage():
    found = file_error(put("b.csv", bytes(range(256)) * 4))
    assert "binary" in found.message
    assert "\x00" not in found.message


def test_unknown_encoding():
    assert "encoding" in file_error(put("u.csv", "x\n1\n"), encoding="klingon").message


def test_named_period_column_missing():
    [found] = failure("Month,x\n2025-01,1\n", use("x"), period_column="month_",
                      period_column_set=True)
    assert (found.code, found.span) == ("E306", ENTRY)
    assert "period column 'month_'" in found.message
    assert "did you mean 'Month'" in found.message


@pytest.mark.parametrize(("header", "lacking"), [
    ("period,metric,amount", "'value' column"),
    ("period,name,value", "'metric' column"),
    ("period,x,y", "'metric' and 'value' columns"),
])
def test_long_format_needs_metric_and_value(header, lacking):
    [found] = failure(header + "\n2025-01,a,1\n", use("a"), format="long")
    assert (found.code, found.span) == ("E306", ENTRY)
    assert lacking in found.message


# --- bad cells --------------------------------------------------------------------------------


def test_bad_cell_line_and_column():
    [found] = failure("period,store,visits\n2025-01,a,10\n2025-02,b,abc\n", use("visits"))
    assert (found.code, found.span) == ("E304", Span("d.csv", 3, 3))
    assert found.message == ("bad cell 'abc' in column 'visits': "
                             "expected a number like 1,200, 92% or ¥1,200")


def test_lines_count_quoted_multiline_cells():
    text = 'period,note,x\n2025-01,"two\nlines",1\n2025-02,ok,oops\n'
    [found] = failure(text, use("x"))
    assert found.span == Span("d.csv", 4, 3)


def test_every_bad_cell_is_reported():
    text = "period,a,b,c\n2025-01,1,x,2\n2025-02,y,2,3\n2025-03,1,2,z\n"
    found = failure(text, use("a"), use("b"))  # c is not used: its 'z' is no error
    assert [(d.code, d.span.line, d.span.column) for d in found] == [
        ("E304", 2, 3), ("E304", 3, 2)]


def test_bad_cells_are_capped_with_a_count():
    text = "period,x\n" + "".join(f"p{i:02},bad\n" for i in range(25))
    found = failure(text, use("x"))
    assert len(found) == 21
    assert [d.span.line for d in found[:20]] == list(range(2, 22))
    assert found[20].message == "… and 5 more bad cells in d.csv"
    assert found[20].span == Span("d.csv", 22, 2)


def test_long_bad_cell_points_at_the_value_column():
    [found] = failure("period,metric,value\n2025-01,mau,lots\n", use("mau"), format="long")
    assert found.span == Span("d.csv", 2, 3)
    assert "metric 'mau'" in found.message


def test_a_long_bad_cell_is_shown_short():
    [found] = failure("period,x\n2025-01," + "z" * 100 + "\n", use("x"))
    assert "'" + "z" * 39 + "…'" in found.message


def test_an_empty_period_label_is_a_bad_cell():
    [found] = failure("period,x\n2025-01,1\n ,2\n", use("x"))
    assert (found.code, found.span) == ("E304", Span("d.csv", 3, 1))
    assert "period" in found.message


# --- unknown columns --------------------------------------------------------------------------


def test_unknown_column_did_you_mean():
    [found] = failure("period,retention,visits\n2025-01,1,2\n", use("retension", line=7))
    assert (found.code, found.span) == ("E302", Span(TREE, 7, 9))
    assert found.message == ("data 'd' (d.csv) has no column 'retension': "
                             "did you mean 'retention'?")


def test_unknown_column_lists_the_columns_when_nothing_is_close():
    [found] = failure("period,visits,orders\n2025-01,1,2\n", use("zzz"))
    assert found.code == "E302"
    assert "the columns are 'visits', 'orders'" in found.message


def test_unknown_metric_in_long_format():
    [found] = failure("period,metric,value\n2025-01,mau,1\n", use("mua"), format="long")
    assert found.code == "E302"
    assert "has no metric 'mua': did you mean 'mau'?" in found.message


def test_the_period_column_is_not_a_metric():
    [found] = failure("period,x\n2025-01,1\n", use("period"))
    assert found.code == "E302"


def test_two_columns_with_the_same_name():
    [found] = failure("period,x,x\n2025-01,1,2\n", use("x"))
    assert found.code == "E302"
    assert "columns 2, 3" in found.message


def test_all_problems_are_reported_together():
    text = "period,a,b\n2025-01,1,2\n2025-01,x,3\n"
    found = failure(text, use("a", "sum"), use("b"), use("c"))
    assert sorted(d.code for d in found) == ["E302", "E304", "E305"]


# --- several rows per period ------------------------------------------------------------------


def test_duplicate_periods_without_agg():
    text = "period,revenue\n2025-05,1\n2025-06,1\n2025-06,2\n2025-07,1\n2025-06,3\n2025-06,\n"
    [found] = failure(text, use("revenue", line=12))
    assert (found.code, found.span) == ("E305", Span(TREE, 12, 9))
    assert found.message == ("column 'revenue' of d.csv has 4 rows for period 2025-06 "
                             "(lines 3, 4, 6, 7): add agg: sum|mean|min|max|last|median|"
                             "count|count_distinct to the source")


def test_duplicate_metric_rows_in_long_format():
    text = "period,metric,value\n2025-01,mau,1\n2025-01,mau,2\n2025-01,arpu,3\n"
    [found] = failure(text, use("mau"), use("arpu"), format="long")
    assert found.code == "E305"
    assert "metric 'mau' of d.csv has 2 rows for period 2025-01 (lines 2, 3)" in found.message


def test_several_rows_without_period_column():
    [found] = failure("store,sales\na,1\nb,2\n", use("sales"))
    assert found.code == "E305"
    assert "period all" in found.message and "no 'period' column" in found.message


DETAIL = """period,store,sales
2025-01,a,5
2025-01,b,
2025-01,c,1
2025-02,a,
2025-01,d,3
2025-03,a,7
2025-02,b,
2025-01,e,
"""
# 2025-01 holds 5, -, 1, 3, - ; 2025-02 only missing cells ; 2025-03 holds 7
AGGREGATES = {
    "sum": [9, None, 7],
    "mean": [3, None, 7],
    "min": [1, None, 7],
    "max": [5, None, 7],
    "last": [3, None, 7],
    "median": [3, None, 7],
    "count": [3, 0, 1],
    "count_distinct": [3, 0, 1],
}


@pytest.mark.parametrize("agg", AGGS)
def test_each_agg_skips_missing_cells(agg):
    table = read(DETAIL, use("sales", agg))
    assert values(table, "sales", agg) == AGGREGATES[agg]


def test_agg_on_a_single_row_per_period():
    table = read("period,x\n2025-01,4\n2025-02,\n", *(use("x", agg) for agg in AGGS))
    assert {agg: values(table, "x", agg) for agg in AGGS} == {
        "sum": [4, None], "mean": [4, None], "min": [4, None], "max": [4, None],
        "last": [4, None], "median": [4, None], "count": [1, 0], "count_distinct": [1, 0]}


def test_agg_without_period_column_combines_the_whole_file():
    table = read("store,sales\na,1\nb,2\nc,\n", use("sales", "sum"), use("sales", "count"))
    assert values(table, "sales", "sum") == [3]
    assert values(table, "sales", "count") == [2]


def reference(rows: list[tuple[int, float | None]], size: int, agg: str) -> list[float | None]:
    """Per-period aggregation the slow, obvious way."""
    out: list[float | None] = []
    for period in range(size):
        mine = [v for p, v in rows if p == period]
        seen = [v for v in mine if v is not None]
        if agg == "count":
            out.append(float(len(seen)) if mine else None)
        elif not seen:
            out.append(None)
        else:
            out.append({"sum": math.fsum, "mean": lambda s: math.fsum(s) / len(s), "min": min,
                        "max": max, "last": lambda s: s[-1]}[agg](seen))
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 3), st.none() | st.integers(-50, 50).map(float)),
                  max_size=30),
    agg=st.sampled_from(LIGHT_AGGS),
)
def test_aggregate_matches_the_obvious_loop(rows, agg):
    codes = np.asarray([p for p, _ in rows], dtype=np.intp)
    numbers = np.asarray([math.nan if v is None else v for _, v in rows], dtype=np.float64)
    got = [None if math.isnan(v) else v for v in aggregate(numbers, codes, 4, agg)]
    expected = reference(rows, 4, agg)
    assert got == pytest.approx(expected)

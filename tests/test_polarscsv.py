"""The polars path gives exactly the light path's table, and hands irregular files back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("polars")

import nsm_cli.data.tables as data_module  # noqa: E402
from nsm_cli.data.polarscsv import read_table_polars  # noqa: E402
from nsm_cli.data.tables import ColumnUse, DataSpec, build_table, read_rows, read_table  # noqa: E402
from nsm_cli.diagnostics import NsmError, Span  # noqa: E402

ENTRY = Span("tree.yaml", 3, 5)


def use(column: str, agg: str | None = "sum") -> ColumnUse:
    return ColumnUse(column, agg, Span("tree.yaml", 9, 9))


def spec_for(tmp_path, text: str | bytes, **options) -> DataSpec:
    path = tmp_path / "d.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return DataSpec(name="d", path=str(path), span=ENTRY, **options)


def plain(table) -> tuple:
    """A table as comparable values: NaN → None, so equal tables compare equal."""
    series = {key: [None if math.isnan(x) else x for x in values.tolist()]
              for key, values in table.series.items()}
    return table.periods, series, table.columns


def light(spec: DataSpec, uses: list[ColumnUse]) -> tuple:
    return plain(build_table(spec, read_rows(spec, {u.column for u in uses}), uses))


def both(tmp_path, text: str | bytes, uses: list[ColumnUse], **options) -> tuple[tuple, tuple]:
    spec = spec_for(tmp_path, text, **options)
    table = read_table_polars(spec, uses)
    assert table is not None, "the polars path gave up on a regular file"
    return light(spec, uses), plain(table)


ALL_AGGS = [use("a", agg) for agg in data_module.AGGS]

CASES = {
    "plain numbers": "period,a,b\n2025-01,1,2\n2025-02,3,4\n",
    "every cell form": (
        "period,a,b\n"
        '2025-01,"1,200",92%\n'
        "2025-01,¥1,50％\n"
        '2025-01,"￥1,200.5",$3\n'
        "2025-02,€7,1.2e3\n"
        "2025-02,−5,－2.5\n"
        "2025-02,  12  ,＋4\n"
        "2025-03,- $ 3,1E-2\n"
        "2025-03,.5,5.\n"
    ),
    "missing tokens": (
        "period,a,b\n2025-01,,n/a\n2025-01,NA,#N/A\n2025-02,null,None\n2025-02,—,-\n"
        "2025-03,nan,7\n2025-03,3,\n"
    ),
    "all-missing group": "period,a,b\n2025-01,,1\n2025-01,n/a,2\n2025-02,4,3\n",
    "BOM and CRLF, string last column": '\ufeffperiod,b,a\r\n2025-01,1,"1,000"\r\n2025-02,2,x1\r\n'
    .replace("x1", "¥5"),
    "labels with spaces sort stripped": "period,a,b\n 2025-02 ,1,2\n2025-01,3,4\n2025-02,5,6\n",
    "large and tiny": "period,a,b\n2025-01,123456789012345678,1e-300\n2025-01,0.1,0.2\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_polars_path_matches_the_light_path_for_every_agg(tmp_path, text):
    uses = [*ALL_AGGS, use("b", "mean"), use("b", "last")]
    expected, got = both(tmp_path, text, uses)
    assert got == expected


def test_hand_computed_values(tmp_path):
    text = 'period,a\n2025-01,"1,200"\n2025-01,92%\n2025-01,n/a\n2025-02,¥1,200\n'
    spec = spec_for(tmp_path, text.replace("¥1,200", '"¥1,200"'))
    table = read_table_polars(spec, [use("a"), use("a", "count"), use("a", "last")])
    assert table is not None
    assert table.periods == ["2025-01", "2025-02"]
    assert table.series[("a", "sum")].tolist() == [1200.92, 1200.0]
    assert table.series[("a", "count")].tolist() == [2.0, 1.0]
    assert table.series[("a", "last")].tolist() == [0.92, 1200.0]


def test_all_missing_group_is_nan_not_zero(tmp_path):
    spec = spec_for(tmp_path, "period,a\n2025-01,\n2025-01,-\n2025-02,2\n")
    table = read_table_polars(spec, [use("a"), use("a", "count")])
    assert table is not None
    assert math.isnan(table.series[("a", "sum")][0])
    assert table.series[("a", "count")].tolist() == [0.0, 1.0]


def test_long_format(tmp_path):
    text = ("period,metric,value\n2025-01,visits,\"1,000\"\n2025-01,orders,5%\n"
            "2025-01,visits,20\n2025-02, visits ,30\n2025-02,,99\n2025-02,orders,n/a\n")
    expected, got = both(tmp_path, text, [use("visits"), use("orders", "max")], format="long")
    assert got == expected
    assert got[2] == ["visits", "orders"]


def test_no_period_column_is_one_period_all(tmp_path):
    expected, got = both(tmp_path, "store,a\nx,1\ny,2\n", [use("a")])
    assert got == expected
    assert got[0] == ["all"] and got[1][("a", "sum")] == [3.0]


def test_one_row_per_period_without_agg(tmp_path):
    expected, got = both(tmp_path, "period,a\n2025-02,1\n2025-01,2\n", [use("a", None)])
    assert got == expected
    assert got[1][("a", None)] == [2.0, 1.0]


def test_late_text_in_a_numeric_column_is_read_again_as_text(tmp_path, monkeypatch):
    monkeypatch.setattr("nsm_cli.data.polarscsv.INFER_ROWS", 2)
    text = "period,a\n" + "2025-01,1\n" * 5 + "2025-01,n/a\n2025-01,inf_is_not_here\n"
    spec = spec_for(tmp_path, text.replace("inf_is_not_here", "¥2"))
    assert plain(read_table_polars(spec, [use("a")])) == light(spec, [use("a")])
    spec = spec_for(tmp_path, "period,a\n2025-01,1.5\n2025-01,nan\n2025-02,2\n")
    assert plain(read_table_polars(spec, [use("a")])) == light(spec, [use("a")])


IRREGULAR = {
    # name: (file, the agg the tree asks for)
    "bad cell": ("period,a\n2025-01,1\n2025-01,12x\n", "sum"),
    "bad grouping": ('period,a\n2025-01,"1,2"\n', "sum"),
    "two signs": ("period,a\n2025-01,-$-3\n", "sum"),
    "infinite": ("period,a\n2025-01,inf\n", "sum"),
    "overflow": ("period,a\n2025-01,1e999\n", "sum"),
    "empty label": ("period,a\n2025-01,1\n,2\n", "sum"),
    "duplicate without agg": ("period,b,a\n2025-01,1,1\n2025-01,1,2\n", None),
    "unknown column": ("period,b\n2025-01,1\n", "sum"),
    "ambiguous column": ("period,a,a\n2025-01,1,2\n", "sum"),
    "ragged long row": ("period,a\n2025-01,1,2\n", "sum"),
    "quote inside a label": ('period,a\n"2025"-01,1\n', "sum"),
    "lone carriage return": ("period,a\r2025-01,1\r", "sum"),
    "blank line": ("period,a\n2025-01,1\n\n2025-02,2\n", "sum"),
    "header only": ("period,a\n", "sum"),
    "empty": ("", "sum"),
}


def outcome(spec: DataSpec, uses: list[ColumnUse]) -> tuple:
    """What read_table gives: the table's values, or the diagnostics as the user sees them."""
    try:
        return ("table", plain(read_table(spec, uses)))
    except NsmError as caught:
        return ("error", [str(d) for d in caught.diagnostics])


@pytest.mark.parametrize(("text", "agg"), IRREGULAR.values(), ids=IRREGULAR.keys())
def test_irregular_files_go_back_to_the_exact_readers(tmp_path, monkeypatch, text, agg):
    spec = spec_for(tmp_path, text)
    uses = [use("a", agg)]
    assert read_table_polars(spec, uses) is None
    # handing back is only right if the user then gets exactly what the exact reader gives
    monkeypatch.setenv("NSM_CSV_READER", "numpy")
    exact = outcome(spec, uses)
    monkeypatch.setattr(data_module, "FAST_BYTES", 0)
    monkeypatch.setenv("NSM_CSV_READER", "auto")
    assert outcome(spec, uses) == exact


def test_what_the_irregular_files_give_the_user(tmp_path, monkeypatch):
    """Hand-written expectations for a few of them, whichever reader runs."""
    monkeypatch.setattr(data_module, "FAST_BYTES", 0)
    results = {}
    for name in ("bad cell", "blank line", "duplicate without agg"):
        text, agg = IRREGULAR[name]
        results[name] = outcome(spec_for(tmp_path, text), [use("a", agg)])
    path = str(tmp_path / "d.csv")
    kind, [bad] = results["bad cell"]
    assert kind == "error" and bad.startswith(f"{path}:3:2: bad cell '12x' in column 'a'")
    assert results["blank line"] == ("table", (["2025-01", "2025-02"], {("a", "sum"): [1.0, 2.0]},
                                               ["a"]))
    kind, [duplicate] = results["duplicate without agg"]
    assert kind == "error" and "[E305]" in duplicate and "lines 2, 3" in duplicate


@pytest.mark.parametrize("data", [
    b"period,a,store\n2025-01,1,\xff\n",  # not UTF-8, in a column nobody reads
    b"period,a,store\n2025-01,1,x\x00y\n",  # NUL byte
])
def test_undecodable_or_binary_files_go_back(tmp_path, data):
    assert read_table_polars(spec_for(tmp_path, data), [use("a")]) is None


def test_wide_files_go_to_the_numpy_path(tmp_path, monkeypatch):
    monkeypatch.setattr("nsm_cli.data.polarscsv.MAX_COLUMNS", 2)
    assert read_table_polars(spec_for(tmp_path, "period,a,b\n2025-01,1,2\n"), [use("a")]) is None


def test_other_encodings_go_back(tmp_path):
    spec = spec_for(tmp_path, "period,a\n2025-01,1\n".encode("gbk"), encoding="gbk")
    assert read_table_polars(spec, [use("a")]) is None


def test_missing_period_column_that_was_asked_for_goes_back(tmp_path):
    spec = spec_for(tmp_path, "when,a\n2025-01,1\n", period_column_set=True)
    assert read_table_polars(spec, [use("a")]) is None


@pytest.fixture
def polars_first(monkeypatch):
    """read_table takes the polars path for every file size."""
    monkeypatch.setattr(data_module, "FAST_BYTES", 0)
    monkeypatch.setenv("NSM_CSV_READER", "auto")


def diagnostics(spec: DataSpec, uses: list[ColumnUse]) -> list[str]:
    with pytest.raises(NsmError) as caught:
        read_table(spec, uses)
    return [str(d) for d in caught.value.diagnostics]


def test_read_table_reports_a_bad_cell_with_line_and_column(tmp_path, polars_first):
    spec = spec_for(tmp_path, "period,b,a\n2025-01,1,1\n2025-02,2,12x\n")
    shown = diagnostics(spec, [use("a")])
    assert len(shown) == 1
    assert f"{spec.path}:3:3" in shown[0] and "E304" in shown[0] and "'12x'" in shown[0]


def test_read_table_reports_duplicate_rows_without_agg(tmp_path, polars_first):
    spec = spec_for(tmp_path, "period,a\n2025-01,1\n2025-01,2\n")
    shown = diagnostics(spec, [use("a", None)])
    assert "E305" in shown[0] and "lines 2, 3" in shown[0]


def test_read_table_reports_undecodable_bytes(tmp_path, polars_first):
    spec = spec_for(tmp_path, b"period,a,s\n2025-01,1,\xff\n")
    shown = diagnostics(spec, [use("a")])
    assert "E303" in shown[0] and "cannot decode" in shown[0]


def test_reader_choice_comes_from_the_environment(tmp_path, monkeypatch):
    import nsm_cli.data.polarscsv as polarscsv

    spec = spec_for(tmp_path, "period,a\n2025-01,1\n")
    calls = []
    real = polarscsv.read_table_polars

    def spy(spec, uses):
        calls.append(spec.path)
        return real(spec, uses)

    monkeypatch.setattr(polarscsv, "read_table_polars", spy)  # the module's public entry
    monkeypatch.setattr(data_module, "FAST_BYTES", 0)
    for reader, expected in (("csv", 0), ("numpy", 0), ("polars", 1), ("auto", 1)):
        monkeypatch.setenv("NSM_CSV_READER", reader)
        calls.clear()
        assert read_table(spec, [use("a")]).series[("a", "sum")].tolist() == [1.0]
        assert len(calls) == expected, reader


def test_unknown_reader_is_a_usage_error(tmp_path, monkeypatch):
    from nsm_cli.diagnostics import UsageError

    monkeypatch.setenv("NSM_CSV_READER", "arrow")
    with pytest.raises(UsageError, match="NSM_CSV_READER=arrow"):
        read_table(spec_for(tmp_path, "period,a\n2025-01,1\n"), [use("a")])


cell = st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.integers(0, 10**9).map(lambda n: f'"{n:,}"'),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.floats(0, 100, allow_nan=False).map(lambda x: f"{x:.2f}%"),
    st.integers(0, 10**6).map(lambda n: f'"¥{n:,}"'),
    st.sampled_from(["", "n/a", "-", "NULL", " 3 ", "−4", ".5", "5.", "1e5", "$ 7", "1.5E-3"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["2025-01", "2025-02", " 2025-03"]), cell, cell),
                min_size=1, max_size=40))
def test_any_table_of_valid_cells_reads_the_same_on_both_paths(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("cells")
    text = "period,a,b\n" + "".join(f"{p},{a},{b}\n" for p, a, b in rows)
    uses = [use("a"), use("a", "mean"), use("b", "min"), use("b", "last"), use("b", "count")]
    expected, got = both(tmp, text, uses)
    assert got == expected

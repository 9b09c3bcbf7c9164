"""The fast path for big CSV files gives exactly what the light path gives, errors included."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nsm_cli.data.tables as data_module
from nsm_cli.data.tables import ColumnUse, DataSpec, read_table
from nsm_cli.diagnostics import NsmError, Span

ENTRY = Span("tree.yaml", 3, 5)


def read_both(tmp_path, monkeypatch, text: str, uses: list[ColumnUse], chunk: int = 64):
    """(light result, fast result): each a table's series or the diagnostics as text."""
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8"))
    spec = DataSpec(name="d", path=str(path), span=ENTRY)
    outcomes = []
    for threshold, reader in ((10**12, "csv"), (0, "numpy")):  # numpy here, not polars
        monkeypatch.setattr(data_module, "FAST_BYTES", threshold)
        monkeypatch.setenv("NSM_CSV_READER", reader)
        monkeypatch.setattr("nsm_cli.data.fastcsv.CHUNK", chunk)
        try:
            table = read_table(spec, uses)
            outcomes.append((table.periods, {k: [None if math.isnan(x) else x for x in v.tolist()]
                                             for k, v in table.series.items()}))
        except NsmError as exc:
            outcomes.append([str(d) for d in exc.diagnostics])
    return outcomes


def use(column: str, agg: str | None = "sum") -> ColumnUse:
    return ColumnUse(column, agg, Span("tree.yaml", 9, 9))


CASES = [
    "period,a,b\n2025-01,1,2\n2025-02,3,4\n",
    'period,a,b\r\n2025-01,"1,200",0.1\r\n2025-01,-3.5,92%\r\n2025-02,+7,"¥1,200"\r\n',
    "period,a,b\n2025-01,1.,.5\n\n2025-01,007,1e3\n2025-02, 12 ,n/a\n2025-02,,-\n",
    "period,a,b\n2025-01,12x,1\n2025-01,1,2,3\n",  # ragged: light path
    "period,a,b\n2025-01,\"1,2\",1\n2025-02,\"12,34\",\".\"\n,5,6\n",  # bad grouping, bad label
    "period,a,b\n2025-01,123456789012345,1234567890123456\n2025-01,\"1,234,567.25\",-0.001%\n",
    "store,a,b\nx,1,2\ny,3,4",  # no period column, no final line end
    'period,a,b\n2025-01,"say ""hi""",1\n',  # escaped quotes: light path
]


@pytest.mark.parametrize("text", CASES)
def test_fast_path_matches_light_path(tmp_path, monkeypatch, text):
    light, fast = read_both(tmp_path, monkeypatch, text, [use("a"), use("b", "mean")])
    assert fast == light


def test_duplicate_rows_without_agg_report_the_same_lines(tmp_path, monkeypatch):
    text = "period,a\n2025-01,1\n2025-01,2\n2025-02,3\n"
    light, fast = read_both(tmp_path, monkeypatch, text, [use("a", None)])
    assert fast == light
    assert "lines 2, 3" in fast[0]


cell = st.one_of(
    st.integers(-10**9, 10**9).map(str),
    st.integers(0, 10**9).map(lambda n: f'"{n:,}"'),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.floats(0, 100, allow_nan=False).map(lambda x: f"{x:.1f}%"),
    st.sampled_from(["", "n/a", "-", "abc", "1,2", ".", "1e5", "0.1", "1.", " 3 "]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["2025-01", "2025-02", "2025-03"]), cell, cell),
                min_size=1, max_size=30))
def test_any_cells_read_the_same_on_both_paths(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("cells")
    text = "period,a,b\n" + "".join(f"{p},{a},{b}\n" for p, a, b in rows)
    with pytest.MonkeyPatch.context() as patch:
        light, fast = read_both(tmp, patch, text, [use("a"), use("b", "max")], chunk=40)
    assert fast == light



@pytest.mark.parametrize("reader", ["csv", "numpy", "polars", "auto"])
def test_every_reader_reports_an_unknown_column_and_reads_lone_cr_files(nsm, write, monkeypatch,
                                                                         reader):
    """Found by comparing readers: numpy crashed on both (a reshape, then the csv module)."""
    monkeypatch.setenv("NSM_CSV_READER", reader)
    monkeypatch.setattr(data_module, "FAST_BYTES", 0)  # the fast readers for every size
    write("t.yaml", "name: t\ndata: {d: d.csv}\nroot: {id: r, source: d.a}\n")
    write("d.csv", "period,b\n2025-01,1\n")
    run = nsm("eval", "t.yaml")
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr == ("t.yaml:3:23: data 'd' (d.csv) has no column 'a': the columns are "
                          "'b' [E302]\n")
    write("d.csv", "").write_bytes(b"period,a\r2025-01,1\r2025-02,2.5\r")  # old Mac line ends
    run = nsm("eval", "t.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["nodes"][0]["value"] == 2.5


def test_a_bad_fast_size_setting_is_a_usage_error_not_a_traceback():
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "NSM_FAST_CSV_BYTES": "4MB"}  # read at import: a fresh process
    proc = subprocess.run([sys.executable, "-m", "nsm_cli", "eval", "trees/mau.yaml"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "nsm: error: NSM_FAST_CSV_BYTES=4MB: give a whole number of bytes\n"


def test_a_text_cell_over_128_kb_reads_the_same_on_both_paths(tmp_path, monkeypatch):
    """The csv module refuses fields over 128 KB by default; the other readers never did."""
    text = "period,a,note\n2025-01,1," + "x" * 200_000 + "\n2025-02,2,short\n"
    light, fast = read_both(tmp_path, monkeypatch, text, [use("a")])
    assert light == fast == (["2025-01", "2025-02"], {("a", "sum"): [1.0, 2.0]})

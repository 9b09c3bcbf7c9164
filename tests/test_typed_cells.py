"""The engine's typed fast path: number columns read as DOUBLE by DuckDB's CSV reader.

It may only be taken where DuckDB's number parsing and nsm's grammar agree, and every cell
must give what the text route gives: the same value, or the same diagnostic with the same
`file:line:column` and words. Each case below runs the engine twice on one small file,
typed (as shipped) and with the typed path switched off (the route before it existed),
and compares everything.
"""

from __future__ import annotations

import math
import os

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nsm_cli.data.engine as engine_module
import nsm_cli.data.files as files_module
from nsm_cli.data.engine import read_block
from nsm_cli.data.files import numbers_agree
from nsm_cli.data.segment_engine import read_sliced_block
from nsm_cli.data.segments import Slice
from nsm_cli.data.tables import ColumnUse
from nsm_cli.diagnostics import NsmError, Span
from nsm_cli.numbers import parse_cell

SUMS = [ColumnUse("a", "sum", Span("t.yaml", 5, 1)), ColumnUse("b", "mean", Span("t.yaml", 6, 1))]
WITH_LAST = SUMS + [ColumnUse("b", "last", Span("t.yaml", 7, 1))]  # the loaded-rows route

# (cell, whether the typed reader may keep column b): what DuckDB reads and nsm refuses or
# reads otherwise is the point of each line
CELLS = [
    ("12", True), (" 12 ", True), ("+5", True), ("-5", True), ("007", True), (".5", True),
    ("5.", True), ("1e5", True), ("1.5E-3", True), ("1e-400", True), ("", True),
    ("1_000", False),      # DuckDB reads 1000; the grammar refuses it
    ("0_1", False), ("1e1_0", False), ("1.5_0", False),
    ("+-3", False),        # DuckDB reads -3; the grammar refuses a sign pair
    ("-+3", True), ("--3", True),  # both refuse these
    ("inf", True), ("-inf", True), ("Infinity", True), ("1e400", True),  # infinite: refused
    ("nan", True), ("NaN", True),  # missing for nsm, NaN for DuckDB: read again as text
    ("-nan", True),        # NaN for DuckDB, refused by the grammar
    ("0x10", True), ("1,200", True), ('"1,200"', True), ("1,2,3", True), ("12%", True),
    ("¥1,200", True), ("NA", True), ("-", True), ("  ", True), ("１２", True), ("- 5", True),
    ("abc", True), ("1 2", True),
]


def _outcome(path: str, uses: list[ColumnUse], typed: bool, monkeypatch) -> object:
    """The table's periods and values, or the diagnostics with their place and words."""
    spec = _spec(path)
    with monkeypatch.context() as patch:
        patch.setattr(engine_module, "ENGINE_BYTES", 0)
        if not typed:
            patch.setattr(engine_module, "numbers_agree", lambda path, skip: False)
        try:
            table = read_block(spec, uses)
        except NsmError as exc:
            return [(d.code, d.span.file, d.span.line, d.span.column, d.message)
                    for d in exc.diagnostics]
    return (table.periods, {k: [None if math.isnan(v) else float(v) for v in s]
                            for k, s in table.series.items()})


def _spec(path: str):
    from nsm_cli.tree.model import DataSpec

    tree = os.path.join(os.path.dirname(path), "t.yaml")  # its project: the file's folder
    return DataSpec(name="d", path=path, span=Span(tree, 3, 5))


def _typed_runs(monkeypatch) -> list[list[str]]:
    """Which columns each read of the block started out typed (a spy on typed_columns)."""
    seen: list[list[str]] = []
    original = engine_module.FileBlock.typed_columns

    def spy(self, layout, plan):
        found = original(self, layout, plan)
        seen.append([c.ref for c in found])
        return found

    monkeypatch.setattr(engine_module.FileBlock, "typed_columns", spy)
    return seen


@pytest.mark.parametrize("uses", [SUMS, WITH_LAST], ids=["one-pass", "loaded-rows"])
@pytest.mark.parametrize(("cell", "agrees"), CELLS)
def test_each_cell_reads_as_it_did_before_the_typed_path(cell, agrees, uses, tmp_path,
                                                          monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text(f"period,a,b\n2025-01,1,2.5\n2025-01,3,{cell}\n2025-02,4,0.25\n",
                    encoding="utf-8")
    before = _outcome(str(path), uses, False, monkeypatch)
    seen = _typed_runs(monkeypatch)
    monkeypatch.setattr(engine_module, "SAMPLE_ROWS", 0)  # no guess: DuckDB decides
    assert _outcome(str(path), uses, True, monkeypatch) == before
    assert seen == [["c2", "c3"] if agrees else []]


@pytest.mark.parametrize(("cell", "typed"), [
    ("2.5", ["c2", "c3"]), (" -1.5e3 ", ["c2", "c3"]), ("", ["c2", "c3"]),
    ("nan", ["c2"]), ("12%", ["c2"]), ('"1,200"', ["c2"]), ("NA", ["c2"]),
])
def test_the_first_rows_guess_which_columns_to_type(cell, typed, tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text(f"period,a,b\n2025-01,1,{cell}\n2025-02,4,0.25\n", encoding="utf-8")
    before = _outcome(str(path), SUMS, False, monkeypatch)
    seen = _typed_runs(monkeypatch)
    assert _outcome(str(path), SUMS, True, monkeypatch) == before
    assert seen == [typed]


def test_a_clean_file_gives_the_hand_computed_values_by_the_typed_path(tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text("period,a,b\n2025-01,1,2.5\n2025-01,3,1e1\n2025-02,-4,.25\n",
                    encoding="utf-8")
    seen = _typed_runs(monkeypatch)
    assert _outcome(str(path), SUMS, True, monkeypatch) == (
        ["2025-01", "2025-02"], {("a", "sum"): [4.0, -4.0], ("b", "mean"): [6.25, 0.25]})
    assert seen == [["c2", "c3"]]


def test_a_bad_cell_late_in_a_typed_column_keeps_its_exact_place(tmp_path, monkeypatch):
    rows = "".join(f"2025-0{1 + i % 3},{i},{i}.5\n" for i in range(3000))
    path = tmp_path / "d.csv"
    path.write_text("period,a,b\n" + rows + "2025-01,7,1_000\n", encoding="utf-8")
    before = _outcome(str(path), SUMS, False, monkeypatch)
    assert before[0][:4] == ("E304", str(path), 3002, 3)
    assert _outcome(str(path), SUMS, True, monkeypatch) == before
    other = tmp_path / "e.csv"  # 1_000 anywhere turns the typed path off: put `inf` instead
    monkeypatch.setattr(engine_module, "SAMPLE_ROWS", 0)
    other.write_text("period,a,b\n" + rows + "2025-01,7,inf\n", encoding="utf-8")
    seen = _typed_runs(monkeypatch)
    typed = _outcome(str(other), SUMS, True, monkeypatch)
    assert seen == [["c2", "c3"]] and typed[0][:4] == ("E304", str(other), 3002, 3)
    monkeypatch.undo()
    assert typed == _outcome(str(other), SUMS, False, monkeypatch)


def test_a_glob_whose_files_lack_a_typed_column(tmp_path, monkeypatch):
    (tmp_path / "1.csv").write_text("period,a,b\n2025-01,1,2\n", encoding="utf-8")
    (tmp_path / "2.csv").write_text("period,a\n2025-02,3\n", encoding="utf-8")
    glob = str(tmp_path / "*.csv")
    seen = _typed_runs(monkeypatch)
    assert _outcome(glob, SUMS, True, monkeypatch) == (
        ["2025-01", "2025-02"], {("a", "sum"): [1.0, 3.0], ("b", "mean"): [2.0, None]})
    assert seen == [["c2", "c3"]]


@pytest.mark.parametrize("cell", ["2.5", "1,200", "nan", "inf", "1_000", ""])
def test_segments_read_the_same_typed_or_not(cell, tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text(f"period,store,a,b\n2025-01,s1,1,{cell}\n2025-01,s2,3,4\n"
                    "2025-02,s1,5,6\n2025-02,s2,7,8\n", encoding="utf-8")

    def sliced(typed: bool) -> object:
        with monkeypatch.context() as patch:
            patch.setattr(engine_module, "ENGINE_BYTES", 0)
            if not typed:
                patch.setattr(engine_module, "numbers_agree", lambda path, skip: False)
            try:
                table = read_sliced_block(_spec(str(path)), SUMS, [Slice("store")])
            except NsmError as exc:
                return [(d.code, d.span.line, d.span.column, d.message)
                        for d in exc.diagnostics]
        part = table.sliced[Slice("store")]
        return (part.labels, {k: v.tolist() for k, v in part.series.items()},
                {k: v.tolist() for k, v in part.basis.items()},
                {k: v.tolist() for k, v in table.series.items()})

    assert repr(sliced(True)) == repr(sliced(False))  # repr: NaN equals NaN


# --- where DuckDB's number parsing and the grammar agree -----------------------------------


@pytest.mark.parametrize(("body", "agrees"), [
    ("x_y,a\n1,2\n", True),          # an underscore in the header is no cell
    ("a\n1_000\n", False),
    ("a\nstore_1\n", True),          # not between two digits: DuckDB refuses it anyway
    ("a\n1_x\n", True),
    ("a\n2025_06\n", False),         # a label, but the bytes cannot tell
    ("a\n+-3\n", False),
    ("a\n+3\n-+3\n", True),
    ("a\n", True),
    ("", True),
])
def test_numbers_agree(body, agrees, tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(body.encode())
    assert numbers_agree(str(path), 1) is agrees


@pytest.mark.parametrize("at", range(0, 12))
def test_numbers_agree_sees_an_underscore_across_chunks(at, tmp_path, monkeypatch):
    monkeypatch.setattr(files_module, "CHUNK_BYTES", 4)
    body = "a\n" + "x_" * 3 + "y" * at + "1_2\n"
    path = tmp_path / "d.csv"
    path.write_bytes(body.encode())
    assert numbers_agree(str(path), 1) is False
    path.write_bytes(body.replace("1_2", "1_y").encode())
    assert numbers_agree(str(path), 1) is True


CAST_CELLS = st.text(alphabet="0123456789_.eE+- ,%nafiIN\t", min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(cell=CAST_CELLS)
def test_a_cell_the_typed_reader_keeps_is_read_as_the_grammar_reads_it(cell, tmp_path_factory):
    """Whatever DuckDB's CSV reader reads as a finite DOUBLE in a file numbers_agree passes,
    the grammar reads to the same value (NaN and infinities go back to the grammar)."""
    path = tmp_path_factory.mktemp("cast") / "d.csv"
    path.write_text('a\n"' + cell + '"\n', encoding="utf-8")
    if not numbers_agree(str(path), 1):
        return
    con = duckdb.connect()
    try:
        value = con.execute("SELECT a FROM read_csv(?, header=true, auto_detect=false, "
                            "columns={'a': 'DOUBLE'}, quote='\"', escape='\"')",
                            [str(path)]).fetchall()[0][0]
    except duckdb.Error:
        return  # refused: the column is read as text
    finally:
        con.close()
    if value is None:
        assert cell.strip() == "" or math.isnan(parse_cell(cell))
    elif math.isfinite(value):
        expected = parse_cell(cell)
        assert expected == value and math.copysign(1, expected) == math.copysign(1, value)


@pytest.mark.parametrize("label", ["2025-01", " 2025-01", "2025-01 ", '""', '" "', "\u30002025-01",
                                   "\t2025-01", "2025-1", "Jan 2025", "", " pilot", "pilot"])
def test_period_labels_as_written_read_as_trimmed_ones(label, tmp_path, monkeypatch):
    """The one-pass query groups labels as written and trims them in SQL only when one of
    them needs it: the same table, or the same messages, as always trimming."""
    mixed, alone = tmp_path / "mixed.csv", tmp_path / "alone.csv"
    mixed.write_text(f"period,a,b\n2025-01,1,2\n{label},3,4\n2025-02,5,6\n", encoding="utf-8")
    alone.write_text(f"period,a,b\n{label},1,2\n{label},3,4\n", encoding="utf-8")
    as_written = [_outcome(str(path), SUMS, True, monkeypatch) for path in (mixed, alone)]
    monkeypatch.setattr(engine_module, "_untrimmed", lambda label: True)  # always trim
    assert [_outcome(str(path), SUMS, True, monkeypatch) for path in (mixed, alone)] == as_written


@pytest.mark.parametrize("cell", ["2.5", "1e1", "inf", "nan", "1,200", "NA"])
@pytest.mark.parametrize(("bom", "newline"), [("", "\r\n"), ("\ufeff", "\n"), ("\ufeff", "\r\n")])
def test_byte_order_marks_and_crlf_lines(cell, bom, newline, tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    lines = ["period,a,b", "2025-01,1,2.5", f"2025-01,3,{cell}", "2025-02,-4,.25"]
    path.write_bytes((bom + newline.join(lines) + newline).encode())
    before = _outcome(str(path), SUMS, False, monkeypatch)
    monkeypatch.setattr(engine_module, "SAMPLE_ROWS", 0)
    assert _outcome(str(path), SUMS, True, monkeypatch) == before

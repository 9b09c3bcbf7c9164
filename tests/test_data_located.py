"""Bad values in Parquet and JSON lines point at their row or line; `nsm check` reads big
blocks only up to their first rows (I301) and still finds what is wrong there."""

from __future__ import annotations

import json

import duckdb

import nsm_cli.data.engine as engine_module
from nsm_cli.check.runner import SAMPLE_ROWS

TREE = """\
name: t
data:
  d: {path: PATH}
root:
  id: a
  source: {data: d, column: a, agg: sum}
"""


def parquet(path, cells: list[str | None]) -> None:
    """A Parquet file of one text column `a` and a period per row (2025-01 … 2025-12)."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t AS SELECT printf('2025-%02d', (i % 12) + 1) AS period, a "
                    "FROM (SELECT unnest(range(len(?))) AS i, unnest(?) AS a)", [cells, cells])
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    finally:
        con.close()


def coded(stderr: str) -> list[tuple[str, str]]:
    """(place, code) of every diagnostic line."""
    out = []
    for line in stderr.splitlines():
        if line.endswith("]") and "[" in line:
            out.append((line.split(": ")[0], line.rsplit("[", 1)[1][:-1]))
    return out


def places(stdout: str) -> list[tuple[str, int, int, str]]:
    """(file, line, column, code) of every error of `nsm check --format json`."""
    return [(d["file"].rsplit("/", 1)[-1], d["line"], d["column"], d["code"])
            for d in json.loads(stdout)["diagnostics"] if d["severity"] == "error"]


def test_a_bad_json_value_is_reported_at_its_line(nsm, write):
    rows = [{"period": "2025-01", "a": 1}, None, {"period": "2025-02", "a": "abc"},
            {"period": "", "a": 2}]
    write("d.jsonl", "\n".join("" if r is None else json.dumps(r) for r in rows) + "\n")
    write("t.yaml", TREE.replace("PATH", "d.jsonl"))
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert run.stdout == ""
    assert coded(run.stderr) == [("d.jsonl:3:2", "E304"), ("d.jsonl:4:1", "E304")]
    assert "bad value 'abc' in column 'a'" in run.stderr
    assert "every row needs a period label" in run.stderr


def test_a_bad_parquet_value_is_reported_at_its_row(nsm, write, tmp_path):
    parquet(tmp_path / "d.parquet", ["1", "2", "abc", "4"])
    write("t.yaml", TREE.replace("PATH", "d.parquet"))
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert coded(run.stderr) == [("d.parquet:3:2", "E304")]
    assert "row 3: bad value 'abc' in column 'a'" in run.stderr


def test_check_reads_a_big_parquet_block_only_to_its_first_rows(nsm, write, tmp_path):
    cells = ["1"] * (SAMPLE_ROWS + 5000)
    cells[SAMPLE_ROWS + 100] = "abc"  # beyond what check reads
    parquet(tmp_path / "d.parquet", cells)
    write("t.yaml", TREE.replace("PATH", "d.parquet"))
    run = nsm("check", "t.yaml", "--format", "json")
    assert run.code == 0
    found = json.loads(run.stdout)["diagnostics"]
    assert [(d["code"], d["severity"]) for d in found if d["code"] == "I301"] == [
        ("I301", "info")]
    assert not [d for d in found if d["severity"] == "error"]
    run = nsm("eval", "t.yaml")  # eval reads every row
    assert coded(run.stderr) == [(f"d.parquet:{SAMPLE_ROWS + 101}:2", "E304")]


def test_check_finds_bad_values_within_the_rows_it_reads(nsm, write, tmp_path):
    cells = ["1"] * (SAMPLE_ROWS + 5000)
    cells[41] = "abc"
    parquet(tmp_path / "d.parquet", cells)
    write("t.yaml", TREE.replace("PATH", "d.parquet"))
    run = nsm("check", "t.yaml", "--format", "json")
    assert run.code == 1
    assert places(run.stdout) == [("d.parquet", 42, 2, "E304")]


def test_check_of_a_big_csv_keeps_its_line_and_column(nsm, write, monkeypatch):
    monkeypatch.setattr(engine_module, "ENGINE_BYTES", 0)  # the engine's route for any size
    lines = ["period,a"] + [f"2025-{i % 12 + 1:02d},{i}" for i in range(SAMPLE_ROWS + 3000)]
    lines[SAMPLE_ROWS + 2000] = "2025-01,1_000"   # beyond the rows check reads
    write("d.csv", "\n".join(lines) + "\n")
    write("t.yaml", TREE.replace("PATH", "d.csv"))
    run = nsm("check", "t.yaml", "--format", "json")
    assert run.code == 0
    assert "I301" in run.stdout
    lines[7] = "2025-08,1_000"  # line 8 of the file, within them
    write("d.csv", "\n".join(lines) + "\n")
    run = nsm("check", "t.yaml", "--format", "json")
    assert run.code == 1  # the exact reader then lists every bad cell, as eval does
    assert places(run.stdout) == [("d.csv", 8, 2, "E304"), ("d.csv", SAMPLE_ROWS + 2001, 2,
                                                            "E304")]


def test_check_of_a_small_block_reads_it_all(nsm, write, tmp_path):
    parquet(tmp_path / "d.parquet", ["1", "2", "3"])
    write("t.yaml", TREE.replace("PATH", "d.parquet"))
    run = nsm("check", "t.yaml", "--format", "json")
    assert "I301" not in run.stdout

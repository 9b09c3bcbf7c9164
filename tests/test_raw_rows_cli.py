"""Raw-row data blocks through the tree file: where filters parsed with their place, the keys
time/grain checked, the same tree answering from CSV and Parquet."""

from __future__ import annotations

import json

import duckdb
import pytest

from nsm_cli.tree.where import Both, Compare, InList, Not, WhereError, parse_where

TREE = """
name: t
data:
  o: {{path: {path}, time: day, grain: month}}
root:
  id: paid
  source: {{data: o, column: amount, agg: sum, where: "{where}"}}
"""
ROWS = "day,amount,status\n2025-05-02,10,paid\n2025-05-09,5,refunded\n2025-06-01,7,paid\n"


def test_where_syntax_error_points_at_the_character(nsm, write):
    write("o.csv", ROWS)
    write("t.yaml", TREE.format(path="o.csv", where="status = paid"))
    run = nsm("check", "t.yaml", "--format", "json")
    [found] = [d for d in json.loads(run.stdout)["diagnostics"] if d["code"] == "E313"]
    # line 6: `  source: {data: o, column: amount, agg: sum, where: "status = paid"}`;
    # the filter starts at column 55, `paid` 9 characters in
    assert (found["line"], found["column"]) == (6, 64)
    assert "expected a number or a 'quoted string', found 'paid'" in found["message"]
    assert run.code == 1


def test_the_same_tree_from_csv_and_parquet(nsm, write, tmp_path):
    write("o.csv", ROWS)
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{tmp_path / 'o.csv'}')) TO "
                             f"'{tmp_path / 'o.parquet'}'")
    for path in ("o.csv", "o.parquet"):
        write("t.yaml", TREE.format(path=path, where="status = 'paid'"))
        run = nsm("eval", "t.yaml", "--format", "json", "--period", "May 2025")
        assert run.code == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["periods"] == ["2025-05", "2025-06"]
        assert result["nodes"][0]["value"] == 10.0


@pytest.mark.parametrize(("entry", "message"), [
    ("{path: o.csv, time: day}", "has a time column: add grain"),
    ("{path: o.csv, grain: month}", "has a grain but no time column"),
    ("{path: o.csv, time: day, grain: fortnight}", "grain must be one of day, week, month"),
    ("{path: o.csv, time: day, grain: month, period_column: p}", "give either time"),
])
def test_time_and_grain_are_checked_in_the_tree(nsm, write, entry, message):
    write("o.csv", ROWS)
    write("t.yaml", f"name: t\ndata:\n  o: {entry}\nroot: {{id: r, source: o.amount}}\n")
    run = nsm("check", "t.yaml")
    assert run.code == 1
    assert message in run.stdout


def test_where_parses_to_the_tree_it_spells():
    assert parse_where("a = 'x' and (b >= 2 or not c in ('p', 'q''s'))") == Both("and", (
        Compare("a", "=", "x"),
        Both("or", (Compare("b", ">=", 2.0), Not(InList("c", ("p", "q's")))))))
    assert parse_where('"weird col" not in (1, 2)') == InList("weird col", (1.0, 2.0), True)
    assert parse_where("城市 != '北京'") == Compare("城市", "!=", "北京")


@pytest.mark.parametrize(("text", "offset"), [
    ("a = ", 4), ("a == 1", 3), ("(a = 1", 6), ("a = 1 b = 2", 6), ("a = 'open", 4),
    ("a in 1", 5), ("", 0), ("a = 1; drop table x", 5),
    ("amount > 1e400", 9), ("a in (1, -1e999)", 9),
])
def test_where_errors_say_where(text, offset):
    with pytest.raises(WhereError) as caught:
        parse_where(text)
    assert caught.value.offset == offset

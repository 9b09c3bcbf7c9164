"""Raw rows: time + grain roll-ups, every aggregation, where filters, weights, file kinds.

Expected values are worked out by hand from ORDERS below (see the comments), never with
nsm's own helpers. Parquet files are written by DuckDB itself (a real engine, no mock).
"""

from __future__ import annotations

import json
import math

import duckdb
import pytest

from nsm_cli.data.engine import read_block
from nsm_cli.data.tables import ColumnUse
from nsm_cli.diagnostics import NsmError, Span
from nsm_cli.tree.model import DataSpec
from nsm_cli.tree.where import parse_where

TREE = "tree.yaml"
ENTRY = Span(TREE, 3, 5)
# order 7 has a timestamp, 8 the CDNOW spelling 20250320, 2 and 8 formatted amounts,
# 6 a missing amount
ORDERS = (
    "order_id,customer_id,ordered_at,amount,status,qty\n"
    "1,c1,2025-01-03,100,paid,1\n"
    '2,c2,2025-01-15,"1,200",paid,2\n'
    "3,c1,2025-01-31,50,refunded,1\n"
    "4,c3,2025-02-01,80,paid,4\n"
    "5,c1,2025-02-10,20,paid,1\n"
    "6,c3,2025-02-28,,paid,2\n"
    "7,c4,2025-03-05 10:00:00,300,paid,3\n"
    '8,c4,20250320,"¥1,000",paid,1\n'
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def block(path: str = "orders.csv", grain: str = "month", **options: object) -> DataSpec:
    return DataSpec(name="orders", path=path, span=ENTRY, time="ordered_at", grain=grain,
                    **options)  # type: ignore[arg-type]


def use(column: str, agg: str, where: str | None = None, weight: str | None = None
        ) -> ColumnUse:
    return ColumnUse(column, agg, Span(TREE, 10, 9), parse_where(where) if where else None,
                     where, weight)


def series(table, one: ColumnUse) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in table.series[one.key]]


def write_orders(name: str = "orders.csv", text: str = ORDERS, encoding: str = "utf-8") -> None:
    with open(name, "wb") as handle:
        handle.write(text.encode(encoding))


# Jan: 100, 1200, 50 (refunded) · Feb: 80, 20, missing · Mar: 300, 1000
MONTHLY = [
    (use("amount", "sum"), [1350, 100, 1300]),
    (use("amount", "mean"), [450, 50, 650]),
    (use("amount", "min"), [50, 20, 300]),
    (use("amount", "max"), [1200, 80, 1000]),
    (use("amount", "median"), [100, 50, 650]),
    # the latest row with an amount: Jan 31 (50), Feb 10 (20; Feb 28 has none), Mar 20
    (use("amount", "last"), [50, 20, 1000]),
    (use("amount", "count"), [3, 2, 2]),
    (use("", "count"), [3, 3, 2]),
    (use("customer_id", "count_distinct"), [2, 2, 1]),
    (use("order_id", "count_distinct"), [3, 3, 2]),
    # Σ amount·qty / Σ qty: (100 + 2400 + 50) / 4, (320 + 20) / 5, (900 + 1000) / 4
    (use("amount", "mean", weight="qty"), [637.5, 68, 475]),
    # paid and at least 100: Jan 100 + 1200; Feb none; Mar 300 + 1000
    (use("amount", "sum", where="status = 'paid' and amount >= 100"), [1300, None, 1300]),
    (use("", "count", where="status = 'paid' and amount >= 100"), [2, 0, 2]),
    (use("customer_id", "count_distinct", where="status != 'refunded'"), [2, 2, 1]),
    (use("amount", "sum", where="customer_id in ('c1', 'c4') or not (qty < 2)"),
     [150 + 1200, 80 + 20, 1300]),
]


@pytest.mark.parametrize(("one", "expected"), MONTHLY, ids=[
    f"{u.agg}-{u.column or 'rows'}-{u.where_text or u.weight or ''}" for u, _ in MONTHLY])
def test_monthly_roll_up_of_every_aggregation(one, expected):
    write_orders()
    table = read_block(block(), [one])
    assert table.periods == ["2025-01", "2025-02", "2025-03"]
    assert table.grain == "month"
    assert series(table, one) == pytest.approx(expected)


@pytest.mark.parametrize(("grain", "periods", "sums"), [
    ("quarter", ["2025-Q1"], [2750]),
    ("year", ["2025"], [2750]),
    # ISO weeks: W01 (Jan 3), W03 (Jan 15), W05 (Jan 31, Feb 1), W07 (Feb 10), W09 (Feb 28),
    # W10 (Mar 5), W12 (Mar 20)
    ("week", ["2025-W01", "2025-W03", "2025-W05", "2025-W07", "2025-W09", "2025-W10",
              "2025-W12"], [100, 1200, 130, 20, None, 300, 1000]),
])
def test_other_grains(grain, periods, sums):
    write_orders()
    one = use("amount", "sum")
    table = read_block(block(grain=grain), [one])
    assert table.periods == periods
    assert series(table, one) == sums


def test_day_grain_and_the_same_answer_in_gbk():
    write_orders(text=ORDERS.replace("c1", "客户1").replace("¥", "￥"), encoding="gbk")
    one, ids = use("amount", "sum"), use("customer_id", "count_distinct")
    table = read_block(block(grain="day", encoding="gbk"), [one, ids])
    assert table.periods[:3] == ["2025-01-03", "2025-01-15", "2025-01-31"]
    assert series(table, one) == [100, 1200, 50, 80, 20, None, 300, 1000]
    assert series(table, ids) == [1, 1, 1, 1, 1, 1, 1, 1]


def test_parquet_jsonl_tsv_and_globs_give_the_same_numbers():
    write_orders()
    con = duckdb.connect()
    con.execute("COPY (SELECT * FROM read_csv('orders.csv', all_varchar=true)) TO "
                "'orders.parquet'")
    rows = con.execute("SELECT * FROM read_csv('orders.csv', all_varchar=true)").fetchall()
    names = ["order_id", "customer_id", "ordered_at", "amount", "status", "qty"]
    with open("orders.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(dict(zip(names, row, strict=True)),
                                    ensure_ascii=False) + "\n")
    with open("orders.tsv", "w", encoding="utf-8") as handle:
        handle.write(ORDERS.replace('"1,200"', "1,200").replace('"¥1,000"', "¥1,000")
                     .replace(",", "\t").replace("1\t200", "1,200").replace("1\t000", "1,000"))
    import os
    os.mkdir("parts")
    lines = ORDERS.splitlines()
    for month, chunk in (("01", lines[1:4]), ("02", lines[4:7]), ("03", lines[7:])):
        with open(f"parts/2025-{month}.csv", "w", encoding="utf-8") as handle:
            handle.write("\n".join([lines[0], *chunk]) + "\n")
    uses = [use("amount", "sum"), use("customer_id", "count_distinct"),
            use("amount", "mean", weight="qty")]
    expected = [[1350, 100, 1300], [2, 2, 1], [637.5, 68, 475]]
    for path in ("orders.parquet", "orders.jsonl", "orders.tsv", "parts/*.csv"):
        table = read_block(block(path), uses)
        assert table.periods == ["2025-01", "2025-02", "2025-03"], path
        assert [series(table, u) for u in uses] == [pytest.approx(e) for e in expected], path


def test_typed_parquet_columns_read_as_they_are(tmp_path):
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES (DATE '2025-01-05', 1, 2.5), (DATE '2025-01-20', 1, 1.5),"
        " (DATE '2025-02-01', 2, 4.0)) v(day, customer, value)) TO 'typed.parquet'")
    spec = DataSpec(name="t", path="typed.parquet", span=ENTRY, time="day", grain="month")
    total, ids = use("value", "sum"), use("customer", "count_distinct")
    table = read_block(spec, [total, ids])
    assert table.periods == ["2025-01", "2025-02"]
    assert series(table, total) == [4.0, 4.0]
    assert series(table, ids) == [1, 1]


def failure(spec: DataSpec, *uses: ColumnUse) -> list:
    with pytest.raises(NsmError) as caught:
        read_block(spec, uses)
    return caught.value.diagnostics


def test_a_bad_amount_and_a_bad_date_are_named_at_their_line_and_column():
    write_orders(text=ORDERS.replace("4,c3,2025-02-01,80", "4,c3,2025-02-01,eighty")
                 .replace("5,c1,2025-02-10", "5,c1,someday"))
    found = failure(block(), use("amount", "sum"))
    assert [(d.code, d.span) for d in found] == [
        ("E304", Span("orders.csv", 5, 4)), ("E304", Span("orders.csv", 6, 3))]
    assert "bad cell 'eighty' in column 'amount'" in found[0].message
    assert "bad cell 'someday' in column 'ordered_at'" in found[1].message


def test_a_row_with_more_cells_than_the_header_is_an_error_at_its_line():
    write_orders(text=ORDERS.replace('"1,200"', "1,200"))
    [found] = failure(block(), use("amount", "sum"))
    assert (found.code, found.span) == ("E304", Span("orders.csv", 3, 7))
    assert "this row has 7 cells but the header has 6" in found.message


def test_text_ids_may_be_counted_but_not_summed():
    write_orders()
    found = failure(block(), use("customer_id", "sum"))
    assert [d.span for d in found] == [Span("orders.csv", line, 2) for line in range(2, 10)]
    assert "bad cell 'c1' in column 'customer_id'" in found[0].message


def test_unknown_columns_in_source_weight_and_where_are_named():
    write_orders()
    found = failure(block(), use("amont", "sum"), use("amount", "mean", weight="qt"),
                    use("amount", "sum", where="stat = 'paid'"))
    assert [d.code for d in found] == ["E302", "E302", "E313"]
    assert "has no column 'amont': did you mean 'amount'?" in found[0].message
    assert "has no column 'qt': did you mean 'qty'?" in found[1].message
    assert "where: data 'orders' (orders.csv) has no column 'stat'" in found[2].message


def test_a_missing_time_column_is_e306():
    write_orders()
    [found] = failure(DataSpec(name="orders", path="orders.csv", span=ENTRY, time="day",
                               grain="month"), use("amount", "sum"))
    assert (found.code, found.span) == ("E306", ENTRY)
    assert "has no time column 'day'" in found.message

"""A million raw order rows, the same ones as CSV, Parquet, a DuckDB file and PostgreSQL,
and the aggregates per month computed here with numpy (independently of nsm's code).

Amounts are whole numbers, so every engine's sums are exact whatever their order; each
row has its own timestamp, so `last` has one answer. About 1% of the amounts are missing.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np

REGIONS = np.array(["north", "south", "east", "west", "it's 华东"])
START = np.datetime64("2024-01-01T00:00:00")
COLUMNS = ("ts", "region", "amount", "qty", "customer")


def make_rows(n: int, seed: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    spacing = 40  # seconds between rows on average: 1,000,000 rows span about 15 months
    offsets = np.arange(n, dtype=np.int64) * spacing + rng.integers(0, spacing, n)
    order = rng.permutation(n)  # the rows are stored out of time order
    amount = rng.integers(0, 1000, n).astype(np.float64)
    amount[rng.random(n) < 0.01] = np.nan
    return {
        "ts": (START + offsets.astype("timedelta64[s]"))[order],
        "region": REGIONS[rng.integers(0, len(REGIONS), n)],
        "amount": amount[order],
        "qty": rng.integers(1, 21, n),
        "customer": np.char.add("c", rng.integers(0, 50_000, n).astype(str)),
    }


def write_csv(rows: dict[str, np.ndarray], path: str) -> None:
    """Plain CSV: ISO timestamps, empty cells for missing amounts, region quoted."""
    ts = np.datetime_as_string(rows["ts"], unit="s")
    amount = rows["amount"]
    cells = np.where(np.isnan(amount), "", np.nan_to_num(amount).astype(np.int64).astype(str))
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(",".join(COLUMNS) + "\n")
        step = 200_000
        for start in range(0, len(ts), step):
            part = slice(start, start + step)
            out.write("".join(
                f'{t.replace("T", " ")},"{r}",{a},{q},{c}\n'
                for t, r, a, q, c in zip(ts[part], rows["region"][part], cells[part],
                                         rows["qty"][part].tolist(), rows["customer"][part],
                                         strict=True)))


def write_duckdb_and_parquet(csv_path: str, duckdb_path: str, parquet_path: str) -> None:
    import duckdb

    for path in (duckdb_path, parquet_path):
        if os.path.exists(path):
            os.remove(path)
    conn = duckdb.connect(duckdb_path)
    try:
        conn.execute("CREATE SCHEMA shop")
        conn.execute(
            "CREATE TABLE shop.orders AS SELECT * FROM read_csv(?, header = true, columns = "
            "{'ts': 'TIMESTAMP', 'region': 'VARCHAR', 'amount': 'DOUBLE', 'qty': 'INTEGER', "
            "'customer': 'VARCHAR'})", [csv_path])
        conn.execute(f"COPY shop.orders TO '{parquet_path}' (FORMAT parquet)")
    finally:
        conn.close()


def load_postgres(conninfo: str, csv_path: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS shop")
        conn.execute("DROP TABLE IF EXISTS shop.orders")
        conn.execute("CREATE TABLE shop.orders (ts timestamp, region text, amount double "
                     "precision, qty integer, customer text)")
        with conn.cursor() as cursor, cursor.copy(
                "COPY shop.orders FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                open(csv_path, "rb") as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        conn.execute("ANALYZE shop.orders")


def month_label(ts: np.datetime64) -> str:
    return str(ts.astype("datetime64[M]"))


def expected(rows: dict[str, np.ndarray], region: str | None = None) -> dict[str, dict]:
    """Per month: every aggregation of `amount`, computed with numpy on the raw arrays."""
    months = rows["ts"].astype("datetime64[M]")
    keep = np.ones(len(months), dtype=bool) if region is None else rows["region"] == region
    out: dict[str, dict] = {}
    for month in np.unique(months[keep]):
        inside = keep & (months == month)
        amount = rows["amount"][inside]
        present = ~np.isnan(amount)
        values = amount[present]
        qty = rows["qty"][inside][present].astype(np.float64)
        ts = rows["ts"][inside][present]
        out[str(month)] = {
            "sum": float(values.sum()),
            "mean": float(values.sum() / values.size),
            "min": float(values.min()),
            "max": float(values.max()),
            "median": float(np.median(values)),
            "count": float(values.size),
            "rows": float(inside.sum()),
            "count_distinct": float(np.unique(rows["customer"][inside]).size),
            "last": float(values[np.argmax(ts)]),
            "weighted": float((values * qty).sum() / qty.sum()),
        }
    return out


def month_of(label: str) -> dt.date:
    return dt.date(int(label[:4]), int(label[5:7]), 1)

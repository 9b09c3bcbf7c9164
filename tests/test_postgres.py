"""A real PostgreSQL (started by the `postgres` fixture): pushdown, safety, secrets, check.

No mock anywhere: every query here runs on the throwaway server or a DuckDB file.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
import pytest
from bigrows import REGIONS, expected
from pgserver import READER_PASSWORD

from nsm_cli.data import sqlbuild
from nsm_cli.data.connections import open_session, target
from nsm_cli.data.warehouse import period_label
from nsm_cli.diagnostics import Span
from nsm_cli.tree.model import Connection


@contextmanager
def statement_log(postgres):
    """Log every statement of nsm's role; yield a function giving what was logged since."""
    log = Path(postgres.folder) / "log"
    with psycopg.connect(postgres.admin(), autocommit=True) as conn:
        conn.execute("ALTER ROLE nsm_reader SET log_statement = 'all'")
    seen = len(log.read_text(encoding="utf-8", errors="replace"))
    try:
        yield lambda: log.read_text(encoding="utf-8", errors="replace")[seen:]
    finally:
        with psycopg.connect(postgres.admin(), autocommit=True) as conn:
            conn.execute("ALTER ROLE nsm_reader RESET log_statement")


pytestmark = pytest.mark.slow

LEAVES = {  # leaf id: its source (every aggregation, a weighted mean, rows, a filter)
    "sum": "{data: orders, column: amount, agg: sum}",
    "mean": "{data: orders, column: amount, agg: mean}",
    "min": "{data: orders, column: amount, agg: min}",
    "max": "{data: orders, column: amount, agg: max}",
    "median": "{data: orders, column: amount, agg: median}",
    "count": "{data: orders, column: amount, agg: count}",
    "count_distinct": "{data: orders, column: customer, agg: count_distinct}",
    "last": "{data: orders, column: amount, agg: last}",
    "weighted": "{data: orders, column: amount, agg: mean, weight: qty}",
    "rows": "{data: orders, agg: count}",
    "filtered": "{data: orders, column: amount, agg: sum, where: \"region = 'it''s 华东'\"}",
}


def tree_text(block: str) -> str:
    leaves = "\n".join(f"    - {{id: leaf_{key}, source: {source}}}"
                       for key, source in LEAVES.items())
    return (f"name: equivalence\nconnections:\n  pg: {{url: \"${{NSM_TEST_PG_URL}}\"}}\n"
            f"  duck: {{url: \"${{NSM_TEST_DUCKDB}}\"}}\n"
            f"data:\n  orders: {block}\nroot:\n  id: total\n"
            f"  formula: {' + '.join('leaf_' + key for key in LEAVES)}\n  children:\n"
            f"{leaves}\n")


def values_via(folder, name: str, block: str) -> dict[str, dict[str, float]]:
    """Every leaf's value per month, loaded the way every command loads a tree."""
    from nsm_cli.data.load import load_tree

    path = folder / f"{name}.yaml"
    path.write_text(tree_text(block), encoding="utf-8")
    loaded = load_tree(str(path))
    periods = loaded.data.periods
    out: dict[str, dict[str, float]] = {p: {} for p in periods}
    for key in LEAVES:
        series = loaded.data.series(loaded.tree.nodes[f"leaf_{key}"].source)
        for period, value in zip(periods, series.tolist(), strict=True):
            out[period][key] = value
    return out


def test_csv_parquet_duckdb_and_postgres_give_the_same_numbers(big_rows, postgres,
                                                               monkeypatch):
    rows, folder, paths = big_rows
    want = expected(rows)
    want_region = expected(rows, str(REGIONS[-1]))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    monkeypatch.setenv("NSM_TEST_DUCKDB", f"duckdb:///{paths['duckdb']}")
    rollup = "time: ts, grain: month"
    routes = {
        "postgres": values_via(folder, "pg", f"{{connection: pg, table: shop.orders, {rollup}}}"),
        "duckdb": values_via(folder, "duck", f"{{connection: duck, table: shop.orders, "
                                             f"{rollup}}}"),
        "csv": values_via(folder, "csv", f"{{path: orders.csv, {rollup}}}"),
        "parquet": values_via(folder, "parquet", f"{{path: orders.parquet, {rollup}}}"),
    }
    assert len(want) == 16 and sum(v["rows"] for v in want.values()) == 1_000_000
    for route, got in routes.items():
        assert sorted(got) == sorted(want), route
        for month, values in want.items():
            for key, value in values.items():
                assert got[month][key] == pytest.approx(value, rel=1e-12, abs=0), \
                    (route, month, key)
            assert got[month]["filtered"] == want_region[month]["sum"], (route, month)


def test_the_query_builder_gives_the_same_numbers_on_every_engine_it_can_reach(
        big_rows, postgres, tmp_path, monkeypatch):
    """One query, written for PostgreSQL and DuckDB, over the same million rows."""
    rows, _, paths = big_rows
    want = expected(rows)
    monkeypatch.setenv("NSM_TEST_PG_PASSWORD", READER_PASSWORD)
    monkeypatch.setenv("NSM_TEST_DUCKDB", f"duckdb:///{paths['duckdb']}")
    table = sqlbuild.table_relation("shop.orders")
    for url in (postgres.url(), "${NSM_TEST_DUCKDB}"):
        got = aggregate_via(url, table, tmp_path)
        for month, values in want.items():
            for key in ("sum", "median", "last", "count_distinct"):
                assert got[month][key] == pytest.approx(values[key], rel=1e-12), (url, key)


def aggregate_via(url: str, relation, tmp_path) -> dict[str, dict[str, float]]:
    """Run the one query nsm builds for a block and read its rows per month."""
    connection = Connection("wh", url, Span(str(tmp_path / "t.yaml")))
    session = open_session(target(connection, str(tmp_path / "t.yaml")))
    chosen = [(agg, sqlbuild.Measure(agg, "customer" if agg == "count_distinct" else "amount"))
              for agg in ("sum", "median", "last", "count_distinct")]
    query = sqlbuild.build_query(relation, sqlbuild.Periods(time="ts", grain="month"),
                                 [m for _, m in chosen])
    try:
        names, rows = session.rows(sqlbuild.render(query, session.target.scheme.dialect))
    finally:
        session.close()
    at = {name: i for i, name in enumerate(names)}
    return {period_label(row[at[sqlbuild.PERIOD]], "month"):
            {key: float(row[at[f"nsm_m{i}"]]) for i, (key, _) in enumerate(chosen)}
            for row in rows}


TREE = """
name: shop
connections:
  wh:
    url: ${NSM_TEST_PG_URL}
    timeout: 30
data:
  orders:
    connection: wh
    table: shop.orders
    time: ts
    grain: month
root:
  id: revenue
  formula: buyers * spend
  children:
    - id: buyers
      source: {data: orders, column: customer, agg: count}
    - id: spend
      source: {data: orders, column: amount, agg: mean}
"""


def test_eval_pushes_the_aggregation_down_and_prints_no_password(big_rows, postgres, write,
                                                                 nsm, monkeypatch):
    rows, _, _ = big_rows
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", TREE)
    run = nsm("eval", "t.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    result = json.loads(run.stdout)
    want = expected(rows)
    last = max(want)
    assert result["period"] == last
    nodes = {n["id"]: n["value"] for n in result["nodes"]}
    assert nodes["spend"] == pytest.approx(want[last]["mean"], rel=1e-12)
    # count counts the rows whose customer is present: every row has one
    assert nodes["buyers"] == want[last]["rows"]
    assert READER_PASSWORD not in run.stdout + run.stderr


@pytest.mark.parametrize("case", ["wrong password", "wrong database", "closed port"])
def test_a_connection_that_fails_names_host_and_database_never_the_password(
        case, postgres, write, nsm, monkeypatch):
    secret = "Wr0ng-s3cret-ZZ!"
    url = {
        "wrong password": postgres.url(password=secret),
        "wrong database": postgres.url(password=secret).replace("/sales", "/nosuchdb"),
        "closed port": postgres.url(password=secret).replace(f":{postgres.port}/", ":1/"),
    }[case]
    monkeypatch.setenv("NSM_TEST_PG_URL", url)
    write("t.yaml", TREE)
    for args in (["eval", "t.yaml"], ["eval", "t.yaml", "--format", "json"],
                 ["check", "t.yaml"], ["check", "t.yaml", "--format", "json"]):
        run = nsm(*args)
        assert run.code == 1, (args, run.stdout, run.stderr)
        text = run.stdout + run.stderr
        assert secret not in text and "Traceback" not in text
        if case == "wrong database":
            assert "database 'nosuchdb' on 127.0.0.1" in text
        assert "127.0.0.1" in text and "E324" in text, text


def test_queries_run_read_only_even_through_a_function_that_writes(postgres, write, nsm,
                                                                   monkeypatch):
    with psycopg.connect(postgres.admin(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS shop.log (x int)")
        conn.execute("CREATE OR REPLACE FUNCTION shop.sneaky() RETURNS int LANGUAGE sql AS "
                     "'INSERT INTO shop.log VALUES (1) RETURNING x'")
        conn.execute("GRANT USAGE ON SCHEMA shop TO nsm_reader")
        conn.execute("GRANT INSERT ON shop.log TO nsm_reader")
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_TEST_PG_URL}"}}
        data:
          d: {connection: wh, sql: "SELECT shop.sneaky() AS x"}
        root: {id: x, source: d.x}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert "E325" in run.stderr and "read-only transaction" in run.stderr
    with psycopg.connect(postgres.admin()) as conn:
        assert conn.execute("SELECT count(*) FROM shop.log").fetchone()[0] == 0


def test_a_slow_query_stops_at_the_connection_timeout(postgres, write, nsm, monkeypatch):
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_TEST_PG_URL}", timeout: 0.2}}
        data:
          d: {connection: wh, sql: "SELECT pg_sleep(30) AS nap, 1 AS x"}
        root: {id: x, source: d.x}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert "E325" in run.stderr and "statement timeout" in run.stderr
    assert "ran past 0.2 s" in run.stderr


def test_check_plans_against_the_schema_without_computing_a_row(big_rows, postgres, write,
                                                                nsm, monkeypatch):
    with psycopg.connect(postgres.admin(), autocommit=True) as conn:
        # every row of this view divides by zero: computing any row fails
        conn.execute("CREATE OR REPLACE VIEW shop.trap AS SELECT ts, amount / 0 AS boom "
                     "FROM shop.orders")
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_TEST_PG_URL}"}}
        data:
          d: {connection: wh, table: shop.trap, time: ts, grain: month}
        root: {id: boom, source: {data: d, column: boom, agg: sum}, owner: x,
               benchmark: 1}
        """)
    checked = nsm("check", "t.yaml", "--format", "json", "--select", "E")
    assert checked.code == 0, checked.stdout
    assert json.loads(checked.stdout)["errors"] == 0
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and "division by zero" in run.stderr and "E325" in run.stderr


def test_check_reports_an_unknown_column_and_table_from_the_real_schema(big_rows, postgres,
                                                                       write, nsm,
                                                                       monkeypatch):
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_TEST_PG_URL}"}}
        data:
          d: {connection: wh, table: shop.orders, time: ts, grain: month}
          e: {connection: wh, table: shop.ordres, time: ts, grain: month}
        root:
          id: r
          formula: a + b
          children:
            - {id: a, source: {data: d, column: amout, agg: sum}}
            - {id: b, source: {data: e, column: amount, agg: sum}}
        """)
    run = nsm("check", "t.yaml", "--format", "json", "--select", "E")
    diagnostics = json.loads(run.stdout)["diagnostics"]
    found = {(d["code"], d["line"]) for d in diagnostics}
    messages = " ".join(d["message"] for d in diagnostics)
    assert run.code == 1
    assert ("E302", 10) in found  # amout: did you mean amount
    assert ("E325", 5) in found  # no table shop.ordres
    assert "did you mean 'amount'" in messages
    assert 'relation "shop.ordres" does not exist' in messages
    offline = nsm("check", "t.yaml", "--offline", "--format", "json", "--select", "E")
    assert offline.code == 0 and json.loads(offline.stdout)["errors"] == 0


def test_a_connection_dropped_mid_query_names_host_and_database(postgres, write, nsm,
                                                                monkeypatch):
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_TEST_PG_URL}"}}
        data:
          d: {connection: wh, sql: "SELECT pg_terminate_backend(pg_backend_pid())::int AS x"}
        root: {id: x, source: d.x}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith(f"t.yaml:2:25: connection 'wh': lost database 'sales' on "
                                 f"127.0.0.1:{postgres.port}: "), run.stderr
    assert "terminating connection" in run.stderr
    assert "[E324]" in run.stderr and READER_PASSWORD not in run.stderr


def test_one_query_per_block_per_run_and_only_aggregates_come_back(big_rows, postgres, write,
                                                                    nsm, monkeypatch):
    """The server's own statement log: one SELECT for the block, grouped by period."""
    monkeypatch.setenv("NSM_TEST_PG_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", TREE)
    with statement_log(postgres) as logged:
        run = nsm("eval", "t.yaml", "--format", "json")
        assert run.code == 0, run.stderr
        text = logged()
    sent = [line.split(": ", 2)[-1] for line in text.splitlines()
            if "statement: " in line or "execute <unnamed>: " in line]
    queries = [s for s in sent if s.upper().startswith("SELECT")]
    assert len(queries) == 1, sent
    assert '"shop"."orders"' in queries[0] and "GROUP BY DATE_TRUNC('MONTH', \"ts\")" in queries[0]
    assert {s.split()[0].upper() for s in sent} <= {"SELECT", "BEGIN", "ROLLBACK"}, sent
    assert READER_PASSWORD not in text


SEGMENTED = """
name: shop
connections:
  wh: {url: "${NSM_TEST_URL}"}
data:
  orders: {connection: wh, table: shop.orders, time: ts, grain: month, segments: [region]}
root:
  id: revenue
  formula: orders * spend + big
  children:
    - {id: orders, source: {data: orders, agg: count}}
    - {id: spend, source: {data: orders, column: amount, agg: mean}}
    - {id: big, source: {data: orders, column: amount, agg: sum, where: "qty >= 10"}}
"""


@pytest.mark.parametrize("engine", ["postgres", "duckdb"])
def test_where_is_pushed_into_the_blocks_one_query(engine, big_rows, postgres, write, nsm,
                                                   monkeypatch):
    """`--where region=VALUE` (a value with a quote) on PostgreSQL and a DuckDB file: the
    matching rows' aggregates, computed here with numpy on the raw rows."""
    rows, _, paths = big_rows
    url = postgres.url(password=READER_PASSWORD) if engine == "postgres" else \
        f"duckdb:///{paths['duckdb']}"
    monkeypatch.setenv("NSM_TEST_URL", url)
    write("t.yaml", SEGMENTED)
    region = str(REGIONS[-1])   # it's 华东
    months = rows["ts"].astype("datetime64[M]")
    last = months.max()
    inside = (months == last) & (rows["region"] == region)
    amount = rows["amount"][inside]
    spend = np.nansum(amount) / np.count_nonzero(~np.isnan(amount))
    big = np.nansum(amount[rows["qty"][inside] >= 10])
    run = nsm("eval", "t.yaml", "--where", f"region={region}", "--format", "json")
    assert run.code == 0 and run.stderr == "", run.stderr
    result = json.loads(run.stdout)
    got = {n["id"]: n["value"] for n in result["nodes"]}
    assert result["period"] == str(last)
    assert got["orders"] == int(inside.sum())
    assert got["spend"] == pytest.approx(spend, rel=1e-12)
    assert got["big"] == big
    run = nsm("eval", "t.yaml", "--by", "region", "--where", "region=north", "--format", "json")
    result = json.loads(run.stdout)
    assert [s["segment"] for s in result["segments"]] == ["north"]
    north = (months == last) & (rows["region"] == "north")
    assert {n["id"]: n["value"] for n in result["nodes"]}["orders"] == int(north.sum())
    run = nsm("eval", "t.yaml", "--where", "region=north'; DROP TABLE shop.orders; --")
    assert run.code == 1 and run.stdout == "" and "no rows of data 'orders'" in run.stderr


def test_where_reaches_postgres_as_a_quoted_literal_in_the_one_query(big_rows, postgres, write,
                                                                     nsm, monkeypatch):
    """The server's statement log: one SELECT, the value a string literal (quote doubled)."""
    monkeypatch.setenv("NSM_TEST_URL", postgres.url(password=READER_PASSWORD))
    write("t.yaml", SEGMENTED)
    with statement_log(postgres) as logged:
        run = nsm("eval", "t.yaml", "--by", "region", "--where", "region=it's 华东")
        assert run.code == 0, run.stderr
        text = logged()
    queries = [line.split(": ", 2)[-1] for line in text.splitlines()
               if "statement: SELECT" in line or "execute <unnamed>: SELECT" in line]
    assert len(queries) == 1, queries
    assert "TRIM(CAST(\"region\" AS TEXT)) = 'it''s 华东'" in queries[0]


def test_a_backslash_in_a_literal_stays_a_backslash_whatever_the_role_says(postgres, tmp_path,
                                                                           monkeypatch):
    """Literals are written into the query with their quotes doubled: with
    standard_conforming_strings off, `\\'` would end the string early. nsm's sessions set it."""
    from nsm_cli.data.sqltext import literal

    monkeypatch.setenv("NSM_TEST_PG_PASSWORD", READER_PASSWORD)
    with psycopg.connect(postgres.admin(), autocommit=True) as conn:
        conn.execute("ALTER ROLE nsm_reader SET standard_conforming_strings = off")
    try:
        connection = Connection("wh", postgres.url(), Span(str(tmp_path / "t.yaml")))
        session = open_session(target(connection, str(tmp_path / "t.yaml")))
        try:
            hostile = "x\\' OR 1 = 1 --"
            names, rows = session.rows(f"SELECT {literal(hostile)} AS v")
        finally:
            session.close()
    finally:
        with psycopg.connect(postgres.admin(), autocommit=True) as conn:
            conn.execute("ALTER ROLE nsm_reader RESET standard_conforming_strings")
    assert (names, rows) == (["v"], [(hostile,)])

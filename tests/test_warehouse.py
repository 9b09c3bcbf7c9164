"""Database blocks without a server: golden SQL per dialect, `sql:` safety, secrets in
tree files, connections from the environment, missing drivers, DuckDB database files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsm_cli.data import sqlbuild
from nsm_cli.data.connections import redact
from nsm_cli.tree.connections import password_in_url
from nsm_cli.tree.parser import parse_tree

GOLDEN = Path(__file__).parent / "golden_sql"


def golden_query():
    """Every aggregation, a weighted mean, filters with a quote, a backslash and CJK, a
    segment, and a schema-qualified table whose name needs quoting."""
    tricky = "it's a \\ 华东"
    measures = [
        sqlbuild.Measure("sum", "amount"),
        sqlbuild.Measure("mean", "amount", weight="qty"),
        sqlbuild.Measure("min", "amount"),
        sqlbuild.Measure("max", "amount"),
        sqlbuild.Measure("median", "amount", sqlbuild.Compare("region", "=", tricky)),
        sqlbuild.Measure("last", "amount"),
        sqlbuild.Measure("count", None, sqlbuild.InList("region", ("a", "b"), negated=True)),
        sqlbuild.Measure("count_distinct", "customer"),
        sqlbuild.Measure("sum", "amount", sqlbuild.Both("or", (
            sqlbuild.Compare("qty", ">=", 2.5),
            sqlbuild.Not(sqlbuild.Compare("region", "!=", "x"))))),
        sqlbuild.Measure(None, "amount"),
    ]
    return sqlbuild.build_query(sqlbuild.table_relation('sales.order"s'),
                                sqlbuild.Periods(time="ts", grain="week"), measures,
                                segments=["region"])


@pytest.mark.parametrize("dialect", sqlbuild.DIALECTS)
def test_the_generated_query_matches_its_golden_file_per_dialect(dialect):
    text = sqlbuild.render(golden_query(), dialect, pretty=True) + "\n"
    path = GOLDEN / f"{dialect}.sql"
    if os.environ.get("NSM_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def sqlglot_text(query, dialect: str) -> str:
    """What sqlglot itself writes for the query (render skips it for PostgreSQL and DuckDB)."""
    return sqlbuild.for_dialect(sqlbuild.tree(query), dialect).sql(dialect=dialect,
                                                                   comments=False)


NAMES = st.text(min_size=1, max_size=6)
VALUES = st.one_of(st.floats(), st.integers(-10**20, 10**20), st.text(max_size=8),
                   st.booleans(), st.none())
LEAF_FILTERS = st.one_of(
    st.builds(sqlbuild.Compare, NAMES, st.sampled_from(["=", "!=", "<>", "<", "<=", ">", ">="]),
              VALUES),
    st.builds(sqlbuild.InList, NAMES, st.lists(VALUES, min_size=1, max_size=3).map(tuple),
              st.booleans()),
    st.builds(sqlbuild.SegmentIs, NAMES, st.text(max_size=8)))
FILTERS = st.recursive(LEAF_FILTERS, lambda inner: st.one_of(
    st.builds(sqlbuild.Not, inner),
    st.builds(sqlbuild.Both, st.sampled_from(["and", "or"]),
              st.lists(inner, min_size=2, max_size=3).map(tuple))), max_leaves=6)
PERIODS = st.one_of(st.none(), st.builds(sqlbuild.Periods, column=NAMES),
                    st.builds(sqlbuild.Periods, time=NAMES,
                              grain=st.sampled_from(sqlbuild.GRAINS)))


@st.composite
def queries(draw):
    """Any query a block can ask: every aggregation, filters, weights, periods, segments."""
    periods = draw(PERIODS)
    aggs = [None, "count", "count_distinct", "sum", "mean", "min", "max", "median"]
    aggs += ["last"] if periods is not None and periods.time else []
    measures = []
    for _ in range(draw(st.integers(0, 4))):
        agg = draw(st.sampled_from(aggs))
        name = draw(st.none() if agg == "count" and draw(st.booleans()) else NAMES)
        measures.append(sqlbuild.Measure(agg, name, draw(st.none() | FILTERS),
                                         draw(NAMES) if agg == "mean" and draw(st.booleans())
                                         else None))
    table = sqlbuild.table_relation(".".join(draw(st.lists(NAMES, min_size=1, max_size=4))))
    query = sqlbuild.build_query(table, periods, measures, draw(st.none() | FILTERS),
                                 draw(st.lists(NAMES, max_size=2)))
    return draw(st.sampled_from([query, sqlbuild.Probe(query), sqlbuild.Probe(table)]))


@settings(max_examples=300, deadline=None)
@given(queries(), st.sampled_from(["postgres", "duckdb"]))
def test_the_text_written_without_sqlglot_is_what_sqlglot_writes(query, dialect):
    assert sqlbuild.render(query, dialect) == sqlglot_text(query, dialect)


@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
def test_the_golden_query_without_sqlglot_is_its_golden_file_on_one_line(dialect):
    one_line = sqlbuild.render(golden_query(), dialect)
    assert one_line == sqlglot_text(golden_query(), dialect)
    assert "MONTH" not in one_line and 'FROM "sales"."order""s" GROUP BY GROUPING SETS' in one_line


def test_golden_sql_runs_on_duckdb_with_the_right_numbers():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA sales")
    conn.execute('CREATE TABLE sales."order""s" (ts TIMESTAMP, region VARCHAR, amount DOUBLE, '
                 "qty INTEGER, customer VARCHAR)")
    conn.execute('INSERT INTO sales."order""s" VALUES '
                 "('2025-06-02 10:00', 'it''s a \\ 华东', 10, 1, 'c1'), "
                 "('2025-06-03 10:00', 'it''s a \\ 华东', 30, 3, 'c2'), "
                 "('2025-06-04 10:00', 'x', 20, 2, 'c1'), "
                 "('2025-06-05 10:00', 'a', NULL, 5, 'c3')")
    cursor = conn.execute(sqlbuild.render(golden_query(), "duckdb"))
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    total = next(r for r in rows if r["nsm_all_0"] == 1)
    # by hand: amounts 10, 30, 20 (one missing); weights 1, 3, 2
    assert total["nsm_rows"] == 4
    assert total["nsm_m0"] == 60
    assert total["nsm_m1"] == (10 * 1 + 30 * 3 + 20 * 2) / 6
    assert (total["nsm_m2"], total["nsm_m3"], total["nsm_m4"]) == (10, 30, 20)
    assert total["nsm_m5"] == 20  # the latest row with an amount (06-04)
    assert total["nsm_m6"] == 3  # rows whose region is not a or b
    assert total["nsm_m7"] == 3
    assert total["nsm_m8"] == 50  # qty >= 2.5 (30) or region = x (20); the NULL adds nothing
    assert len(rows) == 1 + 3  # the total and one row per region


REFUSED = [
    "DELETE FROM orders",
    "INSERT INTO orders VALUES (1)",
    "SELECT 1; DROP TABLE orders",
    "SELECT 1; SELECT 2",
    "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone",
    "COPY orders TO '/tmp/x.csv'",
    "ATTACH 'other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA database_list",
    "SET statement_timeout = 0",
    "SELECT * INTO copy_of_orders FROM orders",
    "SELECT * FROM orders FOR UPDATE",
    "CALL do_things()",
    "VALUES (1)",
    "SELECT FROM WHERE",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_sql_that_is_not_one_select_is_refused_before_any_connection(sql, write, nsm):
    write("t.yaml", f"""
        name: t
        connections:
          wh: {{url: "${{NSM_NEVER_SET_URL}}"}}
        data:
          d:
            connection: wh
            sql: {json.dumps(sql)}
        root: {{id: x, source: d.x}}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("t.yaml:7:10: data 'd': sql "), run.stderr
    assert "[E323]" in run.stderr and "NSM_NEVER_SET_URL" not in run.stderr
    run = nsm("check", "t.yaml", "--offline", "--format", "json", "--select", "E")
    found = [(d["code"], d["line"], d["column"]) for d in json.loads(run.stdout)["diagnostics"]]
    assert run.code == 1 and found == [("E323", 7, 10)]


@pytest.mark.parametrize("sql", [
    "SELECT day AS period, amount FROM orders",
    "WITH t AS (SELECT * FROM orders) SELECT * FROM t",
    "SELECT 1 AS x UNION ALL SELECT 2",
    "select amount -- a comment */ ; drop table orders; /*\nfrom orders",
])
def test_one_select_passes_the_safety_check(sql):
    from nsm_cli.data.warehouse import checked_sql
    from nsm_cli.diagnostics import Span
    from nsm_cli.tree.model import DatabaseSource, DataSpec

    spec = DataSpec("d", "<wh>", Span("t.yaml"), database=DatabaseSource("wh", Span("t.yaml"),
                                                                         sql=sql))
    query = checked_sql(spec, "duckdb")
    rendered = sqlbuild.render(sqlbuild.sql_relation(query), "duckdb")
    assert "drop" not in rendered.lower()  # comments are never sent


@pytest.mark.parametrize(("url", "secret"), [
    ("postgresql://me:hunter2@db.example:5432/sales", True),
    ("postgresql://me@db.example:5432/sales?password=hunter2", True),
    ("snowflake://me@acct/db?token=abc", True),
    ("postgresql://me:${PGPASS}@db.example/sales", False),
    ("postgresql://me@db.example/sales?password=${PGPASS}", False),
    ("${NSM_WH_URL}", False),
    ("duckdb:///data/sales.duckdb", False),
])
def test_a_password_written_in_the_url_is_spotted(url, secret):
    assert password_in_url(url) is secret


def test_a_password_in_the_tree_file_is_refused_and_never_repeated(write, nsm):
    write("t.yaml", """
        name: t
        connections:
          wh:
            url: postgresql://me:hunter2@127.0.0.1:1/sales
        data:
          d: {connection: wh, table: orders}
        root: {id: x, source: {data: d, column: amount, agg: sum}}
        """)
    for args in (["eval", "t.yaml"], ["check", "t.yaml", "--format", "json"],
                 ["check", "t.yaml", "--offline"]):
        run = nsm(*args)
        assert run.code == 1
        text = run.stdout + run.stderr
        assert "E322" in text and "hunter2" not in text
    _, diagnostics = parse_tree("t.yaml")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E322", 4, 10)]


def test_redact_hides_passwords_and_secret_parameters():
    assert redact("postgresql://me:p%40ss@h:5432/db?sslmode=require&password=x1") == \
        "postgresql://me:***@h:5432/db?sslmode=require&password=***"


def test_an_unset_variable_is_named_at_the_url(write, nsm, monkeypatch):
    monkeypatch.delenv("NSM_NOT_SET_X", raising=False)
    write("t.yaml", """
        name: t
        connections:
          wh: {url: "${NSM_NOT_SET_X}"}
        data:
          d: {connection: wh, table: orders}
        root: {id: x, source: {data: d, column: amount, agg: sum}}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("t.yaml:3:13: connection 'wh': environment variable "
                                 "NSM_NOT_SET_X is not set")
    assert nsm("check", "t.yaml", "--offline", "--select", "E").code == 0


@pytest.mark.parametrize(("url", "extra"), [
    ("snowflake://me@acct/db/public?warehouse=wh", "warehouse"),
    ("bigquery://my-project/sales", "warehouse"),
    ("trino://me@127.0.0.1:1/hive/sales", "warehouse"),
    ("clickhouse://me@127.0.0.1:1/sales", "warehouse"),
    ("spark://me@127.0.0.1:1/sales", "warehouse"),
])
def test_a_missing_driver_names_the_extra_to_install(url, extra, write, nsm, monkeypatch):
    import importlib.util

    from nsm_cli.data.connections import SCHEMES

    module = SCHEMES[url.split(":")[0]].module
    if importlib.util.find_spec(module.split(".")[0]) is not None:
        pytest.skip(f"{module} is installed here")
    monkeypatch.setenv("NSM_WH_URL", url)
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_WH_URL}"}}
        data:
          d: {connection: wh, table: sales.orders}
        root: {id: x, source: {data: d, column: amount, agg: sum}}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert f"pip install 'nsm-cli[{extra}]'" in run.stderr and "E326" in run.stderr


def test_an_unknown_scheme_lists_the_known_ones(write, nsm, monkeypatch):
    monkeypatch.setenv("NSM_WH_URL", "oracle://me:pw@host/db")
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_WH_URL}"}}
        data:
          d: {connection: wh, table: orders}
        root: {id: x, source: {data: d, column: amount, agg: sum}}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and "E320" in run.stderr and "postgresql://" in run.stderr
    assert "me:pw" not in run.stderr


def make_shop(path: Path) -> None:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA shop")
    conn.execute("CREATE TABLE shop.orders (ts TIMESTAMP, region VARCHAR, amount DOUBLE)")
    conn.execute("INSERT INTO shop.orders VALUES ('2025-05-31 23:59', 'n', 5), "
                 "('2025-06-01 00:00', 'n', 10), ('2025-06-30 12:00', 's', 32), "
                 "('2025-06-15 08:00', 's', NULL), ('2025-07-01 00:00', 'n', 7)")
    conn.close()


SHOP = """
name: shop
connections:
  wh: {url: "duckdb:///data/warehouse.duckdb"}
data:
  orders: {connection: wh, table: shop.orders, time: ts, grain: month}
root:
  id: revenue
  source: {data: orders, column: amount, agg: sum}
"""


def test_a_duckdb_file_relative_to_the_tree(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP)
    run = nsm("eval", "t.yaml", "--period", "2025-06", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["periods"] == ["2025-05", "2025-06", "2025-07"]
    assert result["nodes"][0]["value"] == 42.0  # 10 + 32 (the missing amount is skipped)
    assert nsm("check", "t.yaml", "--select", "E").code == 0


def test_a_duckdb_file_is_opened_read_only_and_reads_no_other_file(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    (tmp_path / "secret.csv").write_text("period,x\nTOPSECRET,1\n")
    write("t.yaml", SHOP.replace("table: shop.orders, time: ts, grain: month",
                                 "sql: \"SELECT * FROM read_csv('secret.csv')\""))
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and "E325" in run.stderr and "TOPSECRET" not in run.stderr


def test_a_missing_duckdb_file_and_a_path_outside_the_project(write, nsm):
    write("t.yaml", SHOP)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and "E324" in run.stderr and "does not exist" in run.stderr
    write("u.yaml", SHOP.replace("duckdb:///data/warehouse.duckdb", "duckdb:///../../etc/x.duckdb"))
    run = nsm("eval", "u.yaml")
    assert run.code == 1 and "E308" in run.stderr


def test_check_offline_opens_no_connection(write, nsm):
    write("t.yaml", SHOP)  # the DuckDB file does not even exist
    run = nsm("check", "t.yaml", "--offline", "--format", "json", "--select", "E")
    assert run.code == 0 and json.loads(run.stdout)["errors"] == 0
    assert nsm("check", "t.yaml", "--select", "E").code == 1


@pytest.mark.parametrize(("block", "code", "line"), [
    ("{connection: nowhere, table: t}", "E320", 4),
    ("{table: t}", "E105", 4),
    ("{connection: wh}", "E105", 4),
    ("{connection: wh, table: t, sql: SELECT 1}", "E105", 4),
    ("{connection: wh, table: 'a b'}", "E112", 4),
    ("{connection: wh, table: t, path: x.csv}", "E112", 4),
    ("{connection: wh, table: t, time: ts}", "E105", 4),
])
def test_database_blocks_are_checked_for_shape(block, code, line, write):
    write("t.yaml", f"""
        name: t
        connections: {{wh: {{url: "duckdb:///x.duckdb"}}}}
        data:
          d: {block}
        root: {{id: x, source: {{data: d, column: amount, agg: sum}}}}
        """)
    _, diagnostics = parse_tree("t.yaml")
    assert [(d.code, d.span.line) for d in diagnostics] == [(code, line)], diagnostics


def test_where_weight_median_and_last_are_computed_in_the_duckdb_file(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    conn = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"))
    conn.execute("CREATE TABLE orders (day DATE, region VARCHAR, amount DOUBLE, qty INTEGER)")
    conn.execute("INSERT INTO orders VALUES ('2025-06-01', 'it''s 华东', 10, 1), "
                 "('2025-06-02', 'west', 20, 3), ('2025-06-03', 'it''s 华东', 40, 1), "
                 "('2025-06-04', 'west', 50, 0), ('2025-06-05', 'north', NULL, 7)")
    conn.close()
    write("t.yaml", """
        name: t
        connections: {wh: {url: "duckdb:///data/warehouse.duckdb"}}
        data:
          d: {connection: wh, table: orders, time: day, grain: month}
        root:
          id: r
          formula: east + weighted + mid + latest
          children:
            - {id: east, source: {data: d, column: amount, agg: sum,
                                  where: "region = 'it''s 华东' or amount > 45"}}
            - {id: weighted, source: {data: d, column: amount, agg: mean, weight: qty}}
            - {id: mid, source: {data: d, column: amount, agg: median}}
            - {id: latest, source: {data: d, column: amount, agg: last}}
        """)
    run = nsm("eval", "t.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    values = {n["id"]: n["value"] for n in json.loads(run.stdout)["nodes"]}
    assert values["east"] == 10 + 40 + 50
    assert values["weighted"] == (10 * 1 + 20 * 3 + 40 * 1 + 50 * 0) / (1 + 3 + 1 + 0)
    assert values["mid"] == (20 + 40) / 2
    assert values["latest"] == 50  # the 06-05 row has no amount


def test_last_needs_a_time_column_in_a_database(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    conn = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"))
    conn.execute("CREATE TABLE t AS SELECT '2025-06' AS period, 1.0 AS x")
    conn.close()
    write("t.yaml", """
        name: t
        connections: {wh: {url: "duckdb:///data/warehouse.duckdb"}}
        data:
          d: {connection: wh, table: t}
        root: {id: r, source: {data: d, column: x, agg: last}}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stderr.startswith("t.yaml:5:23: data 'd': agg last needs")


def test_the_schema_knows_connections_and_database_blocks():
    import jsonschema
    import yaml

    from nsm_cli.tree.schema import tree_schema

    validator = jsonschema.Draft202012Validator(tree_schema())
    good = yaml.safe_load(SHOP.replace("table: shop.orders", "sql: SELECT * FROM shop.orders"))
    assert list(validator.iter_errors(good)) == []
    bad = yaml.safe_load(SHOP.replace('{url: "duckdb:///data/warehouse.duckdb"}',
                                      "{url: x, password: hunter2}"))
    assert any("password" in e.message for e in validator.iter_errors(bad))


def test_eval_sends_one_query_and_explains_a_missing_column_from_the_schema(write, nsm,
                                                                           tmp_path):
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP.replace("column: amount", "column: amout"))
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr == ("t.yaml:8:11: data 'orders' has no column 'amout' (did you mean "
                          "'amount'?) [E302]\n")


def test_a_duckdb_query_past_the_timeout_is_interrupted(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", """
        name: slow
        connections: {wh: {url: "duckdb:///data/warehouse.duckdb", timeout: 0.3}}
        data:
          d: {connection: wh, sql: "SELECT sum(i) AS x FROM range(100000000000) t(i)"}
        root: {id: x, source: d.x}
        """)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and "Interrupted" in run.stderr and "ran past 0.3 s" in run.stderr


def test_a_block_without_agg_needs_one_row_per_period(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    conn = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"))
    conn.execute("CREATE TABLE monthly AS SELECT * FROM (VALUES ('2025-6', 1.5), "
                 "('2025-07', 2.5), ('2025-07', 3.0)) t(period, visits)")
    conn.execute("CREATE TABLE clean AS SELECT * FROM (VALUES ('2025-6', 1.5), "
                 "('2025-07', 2.5)) t(period, visits)")
    conn.close()
    tree = """
        name: t
        connections: {wh: {url: "duckdb:///data/warehouse.duckdb"}}
        data:
          d: {connection: wh, table: TABLE}
        root: {id: v, source: d.visits}
        """
    write("t.yaml", tree.replace("TABLE", "monthly"))
    run = nsm("eval", "t.yaml")
    assert run.code == 1
    assert run.stderr.startswith("t.yaml:5:23: data 'd' has several rows for period 2025-07")
    write("u.yaml", tree.replace("TABLE", "clean"))
    run = nsm("eval", "u.yaml", "--period", "2025/6", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["periods"] == ["2025-06", "2025-07"] and result["nodes"][0]["value"] == 1.5


def test_periods_of_zoned_timestamps_are_taken_in_utc(write, nsm, tmp_path):
    (tmp_path / "data").mkdir()
    conn = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"))
    # 23:30 on 30 June in UTC-5 is 04:30 on 1 July in UTC
    conn.execute("CREATE TABLE t AS SELECT TIMESTAMPTZ '2025-06-30 23:30:00-05' AS ts, 1.0 AS x")
    conn.close()
    write("t.yaml", """
        name: t
        connections: {wh: {url: "duckdb:///data/warehouse.duckdb"}}
        data:
          d: {connection: wh, table: t, time: ts, grain: month}
        root: {id: x, source: {data: d, column: x, agg: sum}}
        """)
    run = nsm("eval", "t.yaml", "--format", "json")
    assert run.code == 0 and json.loads(run.stdout)["periods"] == ["2025-07"]


def test_sql_in_the_dialect_of_a_url_from_the_environment(write, nsm, tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    monkeypatch.setenv("NSM_WH_URL", "duckdb:///data/warehouse.duckdb")
    write("t.yaml", """
        name: t
        connections: {wh: {url: "${NSM_WH_URL}"}}
        data:
          d: {connection: wh, time: ts, grain: month,
              sql: "FROM shop.orders SELECT * EXCLUDE (region)"}
        root: {id: x, source: {data: d, column: amount, agg: sum}}
        """)
    offline = nsm("check", "t.yaml", "--offline", "--format", "json", "--select", "E")
    assert offline.code == 0 and json.loads(offline.stdout)["errors"] == 0
    run = nsm("eval", "t.yaml", "--period", "2025-06", "--format", "json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["nodes"][0]["value"] == 42.0


def test_eval_sends_the_query_ahead_and_takes_its_answer(write, tmp_path, monkeypatch):
    """`nsm eval` sends a block's query before importing the analyses; read_database takes
    that answer (one query in all) and nothing is left behind."""
    from nsm_cli.data import connections, warehouse
    from nsm_cli.data.ahead import queries_ahead

    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP)
    sent, claimed = [], []
    real_claim = warehouse.claim_sent
    monkeypatch.setattr(connections.Sent, "start", lambda self: sent.append(self.sql) or self.run())
    monkeypatch.setattr(warehouse, "claim_sent",
                        lambda *args: claimed.append(real_claim(*args)) or claimed[-1])
    with queries_ahead("t.yaml"):
        assert list(connections.SENT) == [(str(tmp_path / "t.yaml"), "orders")]
        from nsm_cli.data.load import load_tree

        loaded = load_tree("t.yaml")
    assert len(sent) == 1 and claimed[0] is not None and claimed[0].sql == sent[0]
    assert loaded.data.periods == ["2025-05", "2025-06", "2025-07"]
    assert list(loaded.data.tables["orders"].series.values())[0].tolist() == [5.0, 42.0, 7.0]
    assert connections.SENT == {}


def test_a_query_sent_ahead_that_is_not_the_blocks_is_dropped(write, tmp_path):
    """A tree changed between the two reads: the block sends its own query, the other one
    is interrupted and closed; an answer nobody took is dropped when the command ends."""
    from nsm_cli.data import connections
    from nsm_cli.data.ahead import queries_ahead
    from nsm_cli.data.load import load_tree

    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP)
    with queries_ahead("t.yaml"):
        early = connections.SENT[(str(tmp_path / "t.yaml"), "orders")]
        write("t.yaml", SHOP.replace("agg: sum", "agg: max"))
        loaded = load_tree("t.yaml")
        assert connections.SENT == {}
    assert early.wait().answer is not None and not early.thread.is_alive()
    assert list(loaded.data.tables["orders"].series.values())[0].tolist() == [5.0, 32.0, 7.0]
    with queries_ahead("t.yaml"):
        left = connections.SENT[(str(tmp_path / "t.yaml"), "orders")]
    assert connections.SENT == {} and not left.thread.is_alive()


def test_a_missing_duckdb_file_sent_ahead_fails_as_it_would_in_turn(write, nsm, tmp_path):
    write("t.yaml", SHOP)
    run = nsm("eval", "t.yaml")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr == ("t.yaml:3:13: connection 'wh': the DuckDB file data/warehouse.duckdb "
                          "does not exist [E324]\n")


def test_eval_of_a_duckdb_file_does_not_import_sqlglot(write, tmp_path):
    """The query of a table block is written without sqlglot (0.1 s to import)."""
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP)
    probe = ("import sys\nfrom nsm_cli.cli.main import main\n"
             "code = main(['eval', 't.yaml', '--format', 'json'])\n"
             "print(code, 'sqlglot' in sys.modules, file=sys.stderr)\n")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.stderr.splitlines()[-1] == "0 False", run.stderr
    assert json.loads(run.stdout)["nodes"][0]["value"] == 7.0  # July, the latest period


def test_two_blocks_on_one_duckdb_file_each_ask_in_their_turn(write, nsm, tmp_path):
    """A DuckDB file takes one connection at a time in a process (its settings are locked):
    a block that shares its file with another is not sent ahead, so nothing collides."""
    from nsm_cli.data import connections
    from nsm_cli.data.ahead import queries_ahead

    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", """
        name: shop
        connections:
          wh: {url: "duckdb:///data/warehouse.duckdb"}
          same: {url: "duckdb:///data/../data/warehouse.duckdb"}
        data:
          late: {connection: same, sql: "SELECT ts, amount FROM shop.orders", time: ts,
                 grain: month}
          orders: {connection: wh, table: shop.orders, time: ts, grain: month}
        root:
          id: revenue
          formula: sales + late
          children:
            - {id: sales, source: {data: orders, column: amount, agg: sum}}
            - {id: late, source: {data: late, column: amount, agg: max}}
        """)
    with queries_ahead("t.yaml"):
        assert connections.SENT == {}
    run = nsm("eval", "t.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    values = {node["id"]: node["value"] for node in json.loads(run.stdout)["nodes"]}
    assert values == {"revenue": 14.0, "sales": 7.0, "late": 7.0}  # July: 7 and max 7


@pytest.mark.parametrize(("args", "code", "expected"), [
    # sent from the console entry before typer loads, then taken by the command
    (["--format", "json"], 0, 7.0),
    (["-f", "json", "--period", "2025-06"], 0, 42.0),
    (["-p", "2025-05", "-f", "json"], 0, 5.0),
    # other options wait for the command (the same answer)
    (["--format", "json", "--trend"], 0, 7.0),
    # a usage error after the early send: the query is dropped, the exit code is the usage's
    (["--format", "bogus"], 2, "--format bogus: choose one of"),
    (["--period", "1999-01", "--format", "json"], 2, "--period"),
])
def test_the_console_entry_sends_a_plain_evals_query_before_loading(write, tmp_path, args,
                                                                    code, expected):
    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP)
    run = subprocess.run([sys.executable, "-m", "nsm_cli", "eval", "./t.yaml", *args],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == code, run.stderr
    if code == 0:
        assert json.loads(run.stdout)["nodes"][0]["value"] == expected
        assert run.stderr == ""
    else:
        assert run.stdout == "" and expected in run.stderr


def test_send_early_only_for_a_plain_eval(write, tmp_path, monkeypatch):
    """Which command lines send their queries from the console entry (nothing else does)."""
    from nsm_cli.data import ahead, connections

    (tmp_path / "data").mkdir()
    make_shop(tmp_path / "data" / "warehouse.duckdb")
    write("t.yaml", SHOP)
    monkeypatch.setattr(ahead, "_SENT_EARLY", [])
    for argv in (["eval"], ["eval", "--format", "json", "t.yaml"], ["check", "t.yaml"],
                 ["eval", "t.yaml", "--by", "region"], ["eval", "t.yaml", "--format"],
                 ["eval", "t.yaml", "--where", "region=north"], ["eval", "missing.yaml"]):
        ahead.send_early(argv)
        assert connections.SENT == {} and ahead._SENT_EARLY == [], argv
    ahead.send_early(["eval", "./t.yaml", "-f", "json"])
    assert ahead._SENT_EARLY == ["t.yaml"] and len(connections.SENT) == 1
    ahead.drop_early()
    assert connections.SENT == {}

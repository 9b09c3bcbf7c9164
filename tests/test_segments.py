"""Segments (`--by`, `--where`, `benchmark: {best: COL}`), against values worked out by hand.

The shop below has three stores in two regions. In 2025-05 the stores convert 10%, 20% and
30%: the true total (the mean over all rows) is 20%, while a plain mean of the two regions'
rates, (15% + 30%) / 2, would say 22.5%.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import TREES

SHOP = """
name: Shop
data:
  shop:
    path: shop.csv
    segments: [region, store]
  market: market.csv
root:
  id: gmv
  name: 成交额
  formula: buyers * aov * index
  children:
    - id: buyers
      formula: visitors * conversion
      children:
        - {id: visitors, source: {data: shop, column: visitors, agg: sum}}
        - id: conversion
          unit: "%"
          source: {data: shop, column: conversion, agg: mean}
          benchmark: {best: region}
    - {id: aov, source: {data: shop, column: aov, agg: mean}}
    - {id: index, source: market.index}
"""
SHOP_CSV = """
period,region,store,visitors,conversion,aov
2025-05,华北,a,100,10%,50
2025-05,华北,b,300,20%,50
2025-05,华东,c,200,30%,40
2025-06,华北,a,100,10%,50
2025-06,华北,b,300,30%,60
2025-06,华东,c,200,20%,40
"""
MARKET_CSV = """
period,index
2025-05,1
2025-06,1
"""


@pytest.fixture
def shop(write):
    write("shop.csv", SHOP_CSV)
    write("market.csv", MARKET_CSV)
    return write("shop.yaml", SHOP)


def values(nodes: list[dict]) -> dict[str, float]:
    return {node["id"]: node["value"] for node in nodes}


def test_the_total_is_the_tree_over_all_rows_not_a_mean_of_segments(nsm, shop):
    run = nsm("eval", shop, "--by", "region", "--period", "2025-05", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    total = values(result["nodes"])
    # all rows: 600 visitors; conversion (10% + 20% + 30%) / 3; aov (50 + 50 + 40) / 3
    assert total["visitors"] == 600
    assert total["conversion"] == pytest.approx(0.2)   # not (15% + 30%) / 2 = 22.5%
    assert total["aov"] == pytest.approx(140 / 3)
    assert total["gmv"] == pytest.approx(600 * 0.2 * 140 / 3)   # 5,600
    segments = {s["segment"]: values(s["nodes"]) for s in result["segments"]}
    assert segments["华北"]["conversion"] == pytest.approx(0.15)
    assert segments["华北"]["gmv"] == pytest.approx(400 * 0.15 * 50)    # 3,000
    assert segments["华东"]["gmv"] == pytest.approx(200 * 0.3 * 40)     # 2,400
    assert result["by"] == "region"
    # best root first: 华北 3,000 before 华东 2,400
    assert [s["segment"] for s in result["segments"]] == ["华北", "华东"]


def test_a_leaf_whose_block_lacks_the_column_is_the_same_in_every_segment(nsm, shop, write):
    write("market.csv", "period,index\n2025-05,2\n2025-06,3\n")
    result = json.loads(nsm("eval", shop, "--by", "store", "--format", "json").stdout)
    assert {values(s["nodes"])["index"] for s in result["segments"]} == {3}
    assert values(result["nodes"])["index"] == 3
    # 2025-06 by store: b 300 × 30% × 60 × 3 = 16,200; a 100 × 10% × 50 × 3 = 1,500
    by_store = {s["segment"]: values(s["nodes"])["gmv"] for s in result["segments"]}
    assert by_store == pytest.approx({"b": 16200, "c": 200 * 0.2 * 40 * 3, "a": 1500})
    assert [s["segment"] for s in result["segments"]] == ["b", "c", "a"]


def test_segment_node_objects_carry_benchmark_gap_and_status(nsm, shop):
    result = json.loads(nsm("eval", shop, "--by", "region", "--period", "2025-05",
                            "--format", "json").stdout)
    # best region's conversion in 2025-05: 华东 30% (华北 15%)
    conversion = {s["segment"]: next(n for n in s["nodes"] if n["id"] == "conversion")
                  for s in result["segments"]}
    assert conversion["华北"]["benchmark"] == pytest.approx(0.3)
    assert conversion["华北"]["gap"] == pytest.approx(-0.15)
    assert conversion["华北"]["status"] == "behind"
    assert conversion["华东"]["status"] == "on_par"
    assert result["best"]["conversion"] == "华东"
    total = next(n for n in result["nodes"] if n["id"] == "conversion")
    assert total["benchmark"] == pytest.approx(0.3) and total["status"] == "behind"


def test_where_keeps_matching_rows_and_best_still_looks_at_all_rows(nsm, shop):
    run = nsm("eval", shop, "--where", "region=华北", "--where", "store=b", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    total = values(result["nodes"])
    assert total["visitors"] == 300 and total["conversion"] == pytest.approx(0.3)
    assert total["gmv"] == pytest.approx(300 * 0.3 * 60)
    conversion = next(n for n in result["nodes"] if n["id"] == "conversion")
    # the best region over all rows in 2025-06: 华北 (10% + 30%) / 2 = 20% ties 华东 20%
    assert conversion["benchmark"] == pytest.approx(0.2)


def test_where_with_by_slices_the_filtered_rows(nsm, shop):
    result = json.loads(nsm("eval", shop, "--by", "store", "--where", "region=华北",
                            "--format", "json").stdout)
    assert [s["segment"] for s in result["segments"]] == ["b", "a"]
    assert values(result["nodes"])["visitors"] == 400


def test_bad_segment_requests(nsm, shop):
    run = nsm("eval", shop, "--by", "city")
    assert run.code == 1 and run.stdout == ""
    assert "--by city" in run.stderr and "region, store" in run.stderr
    assert "Traceback" not in run.stderr
    run = nsm("eval", shop, "--where", "city=x")
    assert run.code == 1 and "region, store" in run.stderr
    run = nsm("eval", shop, "--where", "region=华南")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("nsm: error: --where region=华南: no rows of data 'shop' (")
    assert run.stderr.endswith("shop.csv) match\n")
    run = nsm("eval", shop, "--where", "region")
    assert run.code == 2 and "COL=VALUE" in run.stderr
    run = nsm("eval", shop, "--where")
    assert run.code == 2 and run.stdout == ""
    run = nsm("eval", shop, "--by", "region", "--scenario", "x")
    assert run.code == 2 and run.stderr.startswith("nsm: error: --scenario x: no such scenario")


def test_best_must_name_a_segment_column(nsm, write, shop):
    write("bad.yaml", SHOP.replace("{best: region}", "{best: city}"))
    run = nsm("check", "bad.yaml", "--format", "json")
    assert run.code == 1
    errors = [d for d in json.loads(run.stdout)["diagnostics"] if d["severity"] == "error"]
    assert [(d["line"], d["column"], d["code"]) for d in errors] == [(19, 29, "E112")]
    assert errors[0]["message"] == ("benchmark best: 'city' is no segment column: declared "
                                    "segments are region, store")


def test_rank_levers_by_segment(nsm):
    """trees/regions.yaml in 2025-06: 9 orders, 3 items per order, 27 items (see trees/README).
    A 1% step of 华北's 5 orders adds 0.05 orders: 9.05 × 3 = 27.15. A 1% step of 华北's
    2.6 items per order moves its 5 orders' mean by 0.026, the total mean by 5/9 of that:
    9 × (3 + 5 × 0.026 / 9) = 27.13."""
    run = nsm("rank-levers", TREES / "regions.yaml", "--by", "region", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["by"] == "region" and result["root_value"] == 27
    pairs = [(lever["segment"], lever["id"], lever["delta"]) for lever in result["levers"]]
    expected = [("华北", "orders", 0.15), ("华北", "items_per_order", 0.13),
                ("华南", "items_per_order", 0.10), ("华东", "orders", 0.06),
                ("华南", "orders", 0.06), ("华东", "items_per_order", 0.04)]
    assert [p[:2] for p in pairs] == [e[:2] for e in expected]
    assert [p[2] for p in pairs] == pytest.approx([e[2] for e in expected])
    first = result["levers"][0]
    assert first["value"] == 5 and first["new_value"] == pytest.approx(5.05)
    assert first["total_new_value"] == pytest.approx(9.05)
    assert first["delta_pct"] == pytest.approx(0.15 / 27, abs=1e-6)


def test_levers_without_a_segment_and_aggregations_that_cannot_step(nsm, shop, write):
    write("shop.yaml", SHOP.replace("column: aov, agg: mean", "column: aov, agg: max"))
    run = nsm("rank-levers", shop, "--by", "region", "--format", "json")
    assert run.code == 0, run.stderr
    levers = json.loads(run.stdout)["levers"]
    index = [lever for lever in levers if lever["id"] == "index"]
    assert [lever["segment"] for lever in index] == [None]   # market has no region: once
    # 2025-06 total: 600 × 20% × 60 (max aov) × 1 = 7,200; index +1% → +72
    assert index[0]["delta"] == pytest.approx(72)
    stuck = [lever for lever in levers if lever["id"] == "aov"]
    assert [lever["delta"] for lever in stuck] == [None, None]
    assert "agg max" in stuck[0]["reason"]
    assert levers[-2:] == stuck   # sorted last


def test_explain_by_segment_mix_and_rate_sum_exactly(nsm):
    """Items = orders × items per order adds up across regions (27 = 13 + 4 + 10). 华北:
    orders 3 → 5 of 7 → 9, items per order 3 → 2.6. Volume 2.8 × (3/7 + 5/9)/2 × 2 =
    173.6/63, mix 2.8 × 8 × (5/9 − 3/7) = 179.2/63, rate 4 × −0.4 = −1.6: together +4."""
    run = nsm("explain", TREES / "regions.yaml", "--by", "region", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["additive"] is True and result["volume"] == "orders"
    assert result["change"] == 7 and result["interaction"] == 0
    rows = {row["segment"]: row for row in result["segments"]}
    assert [row["segment"] for row in result["segments"]] == ["华南", "华北", "华东"]
    north = rows["华北"]
    assert north["contribution"] == pytest.approx(4)
    assert north["volume"] == pytest.approx(173.6 / 63)
    assert north["mix"] == pytest.approx(179.2 / 63)
    assert north["rate"] == pytest.approx(-1.6)
    assert sum(rows[s]["contribution"] for s in rows) == pytest.approx(7)
    for row in rows.values():
        assert row["volume"] + row["mix"] + row["rate"] == pytest.approx(row["contribution"])
    leaves = {leaf["id"]: leaf["contribution"] for leaf in north["leaves"]}
    assert leaves == pytest.approx({"orders": 5.6, "items_per_order": -1.6})


def test_explain_by_segment_for_a_root_that_does_not_add_up(nsm, shop):
    """2025-05 → 06, total 5,600 → 6,000. 华北 alone moving: rows a (10%, 50), b (30%, 60),
    c (30%, 40): 600 × 70%/3 × 50 = 7,000 (+1,400). 华东 alone: a (10%, 50), b (20%, 50),
    c (20%, 40): 600 × 50%/3 × 140/3 = 4,666.67 (−933.33); the rest, −66.67, together."""
    result = json.loads(nsm("explain", shop, "--by", "region", "--format", "json").stdout)
    assert result["additive"] is False
    rows = {row["segment"]: row["contribution"] for row in result["segments"]}
    assert rows == pytest.approx({"华北": 1400, "华东": -2800 / 3})
    assert result["interaction"] == pytest.approx(400 - 1400 + 2800 / 3)


def test_alerts_fire_per_segment(nsm):
    run = nsm("alerts", TREES / "regions.yaml", "--by", "region", "--format", "json")
    assert run.code == 3 and run.stderr == ""
    fired = json.loads(run.stdout)["fired"]
    assert [(a["segment"], a["id"]) for a in fired] == [("华东", "items_per_order")]
    assert fired[0]["message"] == "华东: 每单件数 is 2 件/单, below the minimum 2.50 件/单"
    assert nsm("alerts", TREES / "regions.yaml").code == 0   # the total, 3, is fine


def test_segment_matrix_text(nsm):
    run = nsm("eval", TREES / "regions.yaml", "--by", "region")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0].startswith("区域件数 · period 2025-06 · by region (3 segments")
    assert lines[1].split() == ["metric", "total", "华北", "华南", "华东"]
    assert lines[2].split() == ["售出件数", "27", "件", "13", "件", "★", "10", "件", "4", "件"]
    assert lines[4].split() == ["└──", "每单件数", "3", "件/单", "2.60", "件/单", "✗", "5",
                                "件/单", "★", "=", "2", "件/单", "✗"]


def test_segment_matrix_summarises_the_rest_and_fits(nsm, write, monkeypatch):
    rows = ["period,store,sales"] + [f"2025-06,store{i:02d},{1000 + i * 7}" for i in range(30)]
    write("many.csv", "\n".join(rows) + "\n")
    write("many.yaml", """
        name: Many
        data:
          s: {path: many.csv, segments: [store]}
        root: {id: sales, name: sales, source: {data: s, column: sales, agg: sum}}
    """)
    monkeypatch.setenv("COLUMNS", "60")
    run = nsm("eval", "many.yaml", "--by", "store", "--top", "3")
    assert run.code == 0, run.stderr
    assert all(len(line) <= 60 for line in run.stdout.splitlines())
    assert "27 more" in run.stdout
    # the rest: store00 … store26, 1,000 … 1,182; the total Σ = 30,000 + 7 × 435
    assert "1,000…1,182" in run.stdout and "33,045" in run.stdout
    assert "1,203 ★" in run.stdout


def test_markdown_by_segment(nsm):
    run = nsm("eval", TREES / "regions.yaml", "--by", "region", "--format", "markdown")
    assert run.code == 0
    assert "| 售出件数 | 27 件 | 13 件 ★ | 10 件 | 4 件 |" in run.stdout
    run = nsm("rank-levers", TREES / "regions.yaml", "--by", "region", "--format", "markdown")
    assert "| 1 | 华北 | 订单数 | 5 单 → 5.05 单 | +0.15 (+0.56%) |" in run.stdout


RETENTION = """
name: Retention
data:
  users:
    path: users.csv
    time: day
    grain: month
    segments: [region]
root:
  id: retained
  name: 留存用户
  formula: last_active * retention
  children:
    - {id: last_active, name: 上月活跃, source: {data: users, column: last_active, agg: sum}}
    - id: retention
      name: 月留存率
      unit: "%"
      source: {data: users, column: rate, agg: mean, weight: last_active}
      alert: {min: 60%}
"""
USERS_CSV = """
day,region,store,last_active,rate
2025-06-03,华北,a,100,90%
2025-06-10,华北,b,300,80%
2025-06-15,华东,c,200,50%
"""


@pytest.fixture
def retention(write):
    write("users.csv", USERS_CSV)
    return write("retention.yaml", RETENTION)


def test_raw_rows_through_the_engine_with_a_weighted_mean(nsm, retention):
    """Σ rate × active / Σ active = (90 + 240 + 100) / 600; a plain mean of the regions'
    rates, (82.5% + 50%) / 2, or of the rows, (90% + 80% + 50%) / 3, would be wrong."""
    run = nsm("eval", retention, "--by", "region", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["period"] == "2025-06"
    assert values(result["nodes"]) == pytest.approx(
        {"retained": 430, "last_active": 600, "retention": 430 / 600})
    segments = {s["segment"]: values(s["nodes"]) for s in result["segments"]}
    assert segments["华北"] == pytest.approx(
        {"retained": 330, "last_active": 400, "retention": 0.825})
    assert segments["华东"] == pytest.approx(
        {"retained": 100, "last_active": 200, "retention": 0.5})


def test_a_weighted_means_weights_move_with_their_column(nsm, retention):
    """华北's last_active +1% (400 → 404): the total rate shifts towards 华北's 82.5%,
    (430 + 4 × 0.825) / 604, so retained = 433.3 (+3.3), as if 华北 kept 1% more users;
    without the shift it would be 604 × 430/600 = 432.87. 华北's rate +1% (82.5% → 83.325%)
    moves the total by 400/600 of that: 600 × (430/600 + 400 × 0.00825 / 600) = 433.3."""
    run = nsm("rank-levers", retention, "--by", "region", "--format", "json")
    assert run.code == 0, run.stderr
    levers = json.loads(run.stdout)["levers"]
    got = [(lever["segment"], lever["id"], lever["delta"]) for lever in levers]
    assert [g[:2] for g in got] == [("华北", "last_active"), ("华北", "retention"),
                                    ("华东", "last_active"), ("华东", "retention")]
    assert [g[2] for g in got] == pytest.approx([3.3, 3.3, 1.0, 1.0])


def test_alert_messages_name_the_segment(nsm, retention):
    run = nsm("alerts", retention, "--by", "region")
    assert run.code == 3
    assert "华东: 月留存率 is 50%, below the minimum 60%" in run.stdout
    assert "华北:" not in run.stdout


def test_the_engine_and_the_light_reader_agree(nsm, shop, write):
    """The shop again, but big enough (over 1 MB of padding rows in another period) that the
    engine reads it: 2025-06 by region must not change."""
    light = json.loads(nsm("eval", shop, "--by", "region", "--format", "json").stdout)
    pad = "".join(f"2020-01,华南,z{i},1,1%,1\n" for i in range(40_000))
    write("shop.csv", SHOP_CSV.strip() + "\n" + pad)
    engine = json.loads(nsm("eval", shop, "--by", "region", "--period", "2025-06",
                            "--format", "json").stdout)
    pick = {s["segment"]: values(s["nodes"]) for s in engine["segments"]}
    for segment in light["segments"]:
        assert pick[segment["segment"]] == pytest.approx(values(segment["nodes"]))
    assert pick["华南"]["gmv"] is None   # no rows in 2025-06


def test_report_by_segment(nsm, tmp_path):
    out = tmp_path / "r.html"
    run = nsm("report", TREES / "regions.yaml", "--by", "region", "-o", out)
    assert run.code == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert "By region: the total and the best segments" in page
    assert '<td class="n">13 件 ★</td>' in page              # 华北, the best root
    assert '<td class="n behind">2 件/单</td>' in page        # 华东 behind the best region
    assert "<td>华北</td><td class=\"name\">订单数</td><td class=\"n\">+0.15</td>" in page
    run = nsm("report", TREES / "regions.yaml", "--by", "city", "-o", tmp_path / "x.html")
    assert run.code == 1 and not (tmp_path / "x.html").exists()


def test_report_where_computes_every_part_on_the_matching_rows(nsm, tmp_path):
    out = tmp_path / "r.html"
    run = nsm("report", TREES / "regions.yaml", "--where", "region=华北", "--by", "store",
              "-o", out)
    assert run.code == 0 and run.stdout == "", run.stderr
    page = out.read_text(encoding="utf-8")
    assert "<title>区域件数 · 2025-06 · region=华北</title>" in page
    assert '<div class="sub">period 2025-06 · where region=华北</div>' in page
    # 华北 in 2025-06: 5 orders of 2, 2, 5, 3, 1 items = 13; in 2025-05 3 orders, 9 items
    assert '<div class="value">13 件</div>' in page and "vs 2025-05: ▲ +4 +44.4%" in page
    # by store within 华北: 北京一店 3 orders (2 + 2 + 5 = 9 items), 天津店 2 orders (3 + 1)
    assert ('<td class="name" style="padding-left:0px">售出件数</td><td class="n">13 件</td>'
            '<td class="n">9 件 ★</td><td class="n">4 件</td>') in page
    # 每单件数 +1% in 北京一店 only: its 3 orders carry 0.03 more items each, +0.09 in all
    assert ("<td>北京一店</td><td class=\"name\">每单件数</td><td class=\"n\">+0.09</td>"
            in page)
    run = nsm("report", TREES / "regions.yaml", "--where", "region=华西", "-o", out.with_name(
        "x.html"))
    assert run.code == 1 and "--where region=华西: no rows of data 'orders'" in run.stderr
    assert not out.with_name("x.html").exists()
    run = nsm("report", TREES / "regions.yaml", "--where", "region", "-o", out)
    assert run.code == 2 and "expected COL=VALUE" in run.stderr


def test_a_long_csv_with_a_segment_column(nsm, write):
    write("l.csv", """
        period,region,metric,value
        2025-06,华北,visitors,100
        2025-06,华北,buyers,10
        2025-06,华东,visitors,300
        2025-06,华东,buyers,60
    """)
    write("l.yaml", """
        name: Long
        data:
          l: {path: l.csv, format: long, segments: [region]}
        root:
          id: conv
          unit: "%"
          formula: buyers / visitors
          children:
            - {id: buyers, source: {data: l, column: buyers, agg: sum}}
            - {id: visitors, source: {data: l, column: visitors, agg: sum}}
    """)
    result = json.loads(nsm("eval", "l.yaml", "--by", "region", "--format", "json").stdout)
    # 70 / 400 over all rows; not (10% + 20%) / 2
    assert values(result["nodes"])["conv"] == pytest.approx(70 / 400)
    assert {s["segment"]: values(s["nodes"])["conv"] for s in result["segments"]} == \
        pytest.approx({"华东": 0.2, "华北": 0.1})


def test_where_without_by_on_explain_and_rank_levers(nsm):
    """--where region=华北: 9 → 13 items; orders 3 → 5 and items per order 3 → 2.6."""
    run = nsm("explain", TREES / "regions.yaml", "--where", "region=华北", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["from_value"], result["to_value"]) == (9, 13)
    run = nsm("rank-levers", TREES / "regions.yaml", "--where", "region=华北", "--format", "json")
    assert json.loads(run.stdout)["root_value"] == 13


def test_check_names_a_segment_column_the_file_lacks(nsm, shop, write):
    write("shop.yaml", SHOP.replace("segments: [region, store]", "segments: [regoin, store]")
          .replace("{best: region}", "0.2"))
    run = nsm("check", "shop.yaml", "--format", "json")
    errors = [d for d in json.loads(run.stdout)["diagnostics"] if d["severity"] == "error"]
    assert run.code == 1
    assert [(d["code"], d["line"], d["message"]) for d in errors] == [
        ("E302", 4, "data 'shop' (shop.csv) has no column 'regoin' (listed under segments): "
                    "did you mean 'region'?")]


@pytest.mark.parametrize("command, first", [
    ("eval", "区域件数 · period 2025-06 · where region=华北"),
    ("rank-levers", "Levers for 售出件数 = 13 件 · 2025-06 · step +1% · where region=华北"),
    ("alerts", "区域件数 · alerts for 2025-06 · where region=华北 · 0 fired of 1 rule checked"),
])
def test_where_is_said_in_the_title_and_the_json(nsm, command, first):
    run = nsm(command, TREES / "regions.yaml", "--where", "region=华北")
    assert run.code == 0 and run.stdout.splitlines()[0] == first
    run = nsm(command, TREES / "regions.yaml", "--where", "region=华北", "--format", "json")
    assert json.loads(run.stdout)["where"] == {"region": "华北"}
    run = nsm(command, TREES / "regions.yaml", "--format", "json")
    assert "where" not in json.loads(run.stdout)


def test_python_api_by_segment():
    import nsm_cli as nsm

    result = nsm.by_segment(TREES / "regions.yaml", "region", period="2025-06")
    assert [(s.segment, s.nodes[0].value) for s in result.segments] == [
        ("华北", 13), ("华南", 10), ("华东", 4)]
    assert result.nodes[0].value == 27 and result.best["items"] == "华北"
    stores = nsm.by_segment(nsm.load(TREES / "regions.yaml"), "store", where={"region": "华北"})
    assert [s.segment for s in stores.segments] == ["北京一店", "天津店"]
    assert stores.to_json()["segments"][0]["nodes"][0]["value"] == 9   # 北京一店: 2 + 2 + 5


def test_a_rate_stepped_in_one_segment_stays_within_100_percent(nsm, retention, write):
    """华北's rows at 99.5% and 99%: +1pp in points mode would pass 100%; it stops there."""
    write("users.csv", USERS_CSV.replace("90%", "99.5%").replace("80%", "99%"))
    run = nsm("rank-levers", retention, "--by", "region", "--points", "--format", "json")
    levers = {(lever["segment"], lever["id"]): lever for lever in json.loads(run.stdout)["levers"]}
    north = levers[("华北", "retention")]
    # 华北's weighted rate: (99.5 + 297) / 400 = 99.125% → capped at 100%
    assert north["value"] == pytest.approx(0.99125)
    assert north["new_value"] == 1.0
    assert levers[("华东", "retention")]["new_value"] == pytest.approx(0.51)


@pytest.mark.parametrize("command", ["rank-levers", "explain", "eval"])
def test_narrow_terminals_keep_every_column_and_number(nsm, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "50")
    run = nsm(command, TREES / "regions.yaml", "--by", "region")
    assert run.code == 0
    from rich.cells import cell_len
    assert all(cell_len(line) <= 50 for line in run.stdout.splitlines())
    expected = {"rank-levers": ["+0.15 (+0.56%)", "5 单 → 5.05 单", "2 件/单 → 2.02 件/单"],
                "explain": ["−3.30 件", "+2.84 件", "−1.60 件", "−28.6%"],
                "eval": ["每单件数 [件/单]", "2.60 ✗", "13 ★", "5 ★ ="]}[command]
    for number in expected:
        assert number in run.stdout, number


def test_a_database_block_groups_by_segment_in_its_one_query(nsm, write, tmp_path):
    """The retention tree over a DuckDB file: the same hand-computed values as from raw rows."""
    import duckdb

    (tmp_path / "data").mkdir()
    conn = duckdb.connect(str(tmp_path / "data" / "w.duckdb"))
    conn.execute("CREATE TABLE users (day DATE, region VARCHAR, last_active DOUBLE, "
                 "rate DOUBLE)")
    conn.execute("INSERT INTO users VALUES ('2025-06-03', '华北', 100, 0.9), "
                 "('2025-06-10', '华北', 300, 0.8), ('2025-06-15', '华东', 200, 0.5)")
    conn.close()
    write("t.yaml", RETENTION.replace("""  users:
    path: users.csv
    time: day""", """  users:
    connection: wh
    table: users
    time: day""").replace("data:\n", 'connections: {wh: {url: "duckdb:///data/w.duckdb"}}\n'
                                      "data:\n", 1))
    result = json.loads(nsm("eval", "t.yaml", "--by", "region", "--format", "json").stdout)
    assert values(result["nodes"]) == pytest.approx(
        {"retained": 430, "last_active": 600, "retention": 430 / 600})
    assert {s["segment"]: values(s["nodes"])["retained"] for s in result["segments"]} == \
        pytest.approx({"华北": 330, "华东": 100})
    run = nsm("rank-levers", "t.yaml", "--by", "region", "--format", "json")
    assert [lever["delta"] for lever in json.loads(run.stdout)["levers"]] == \
        pytest.approx([3.3, 3.3, 1.0, 1.0])
    # --where pushed into the same query: 华北's rows only (100 + 300 active users;
    # retained 100 × 0.9 + 300 × 0.8 = 330)
    run = nsm("eval", "t.yaml", "--where", "region=华北", "--format", "json")
    assert run.code == 0 and run.stderr == "", run.stderr
    assert values(json.loads(run.stdout)["nodes"]) == pytest.approx(
        {"retained": 330, "last_active": 400, "retention": 330 / 400})
    run = nsm("eval", "t.yaml", "--by", "region", "--where", "region=华东", "--format", "json")
    result = json.loads(run.stdout)
    assert values(result["nodes"])["retained"] == pytest.approx(100)
    assert [s["segment"] for s in result["segments"]] == ["华东"]
    run = nsm("eval", "t.yaml", "--where", "region=华南")
    assert run.code == 1 and run.stdout == ""
    assert "--where region=华南: no rows of data 'users' (table users) match" in run.stderr


def test_eval_by_json_written_from_columns_is_the_same_text_as_from_rows(shop, write):
    """The JSON writer that skips the per-row dicts gives json.dumps' bytes, escapes included."""
    from nsm_cli.analysis.segments import SegmentRows, evaluate_by, segment_eval_result
    from nsm_cli.data.load import load_tree
    from nsm_cli.data.segments import slices_for
    from nsm_cli.render import to_json
    from nsm_cli.render.segment_formats import render_eval_json

    text = SHOP.replace("name: 成交额", 'name: "成交额 \\"GMV\\" \\\\ 😀"').replace(
        "- {id: aov, source:", "- {id: aov, target: 55, unit: 元, source:")
    write("shop.yaml", text)
    write("shop.csv", SHOP_CSV + "2025-06,华南,d,,,\n")   # a segment without values
    for by in ("region", "store"):
        segmented = evaluate_by(load_tree(str(shop), slices_for(by, ())), by)
        for index in (0, 1):
            columns = segment_eval_result(segmented, index, None, columns=True)
            rows = segment_eval_result(segmented, index, None)
            assert isinstance(columns.segments, SegmentRows)
            assert render_eval_json(columns) == to_json(rows)
            assert json.loads(to_json(rows))["segments"][0]["nodes"][0]["name"] == \
                '成交额 "GMV" \\ 😀'


# ---------------------------------------------------------------- what-if changes by segment

SCENARIOS = """
scenarios:
  push:
    description: more visitors, better conversion
    set: {visitors: "+10%", conversion: "+2pp"}
  fixed:
    set: {visitors: 1000}
"""


@pytest.fixture
def planned(shop, write):
    return write("shop.yaml", SHOP + SCENARIOS)


def test_where_with_a_scenario_applies_it_to_the_matching_rows(nsm, planned):
    """华北 in 2025-06: stores a (100, 10%, 50) and b (300, 30%, 60): 400 visitors, 20%, aov
    55. Push: 440 visitors × 22% × 55 = 5,324 (base 400 × 20% × 55 = 4,400)."""
    run = nsm("eval", planned, "--where", "region=华北", "--scenario", "push", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["scenario"] == "push" and result["where"] == {"region": "华北"}
    nodes = {node["id"]: node for node in result["nodes"]}
    assert nodes["visitors"]["value"] == pytest.approx(440)
    assert nodes["conversion"]["value"] == pytest.approx(0.22)
    assert nodes["gmv"]["value"] == pytest.approx(5324)
    assert nodes["gmv"]["base"] == pytest.approx(4400)
    run = nsm("eval", planned, "--where", "store=c", "--set", "aov=x1.5")
    assert run.code == 0 and run.stderr == ""
    # 华东's store c: 200 × 20% × (40 × 1.5) = 2,400
    assert run.stdout.splitlines()[0] == "Shop · period 2025-06 · set aov x1.5 · where store=c"
    assert run.stdout.splitlines()[2].split()[:2] == ["成交额", "2,400"]


def test_by_with_a_scenario_applies_it_to_the_total_and_every_segment(nsm, planned):
    """2025-06 under push: the total 660 visitors × 22% × aov (50 + 60 + 40)/3 = 7,260;
    华北 440 × 22% × 55 = 5,324; 华东 220 × 22% × 40 = 1,936."""
    run = nsm("eval", planned, "--by", "region", "--scenario", "push", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["scenario"] == "push"
    assert values(result["nodes"])["gmv"] == pytest.approx(7260)
    by_region = {s["segment"]: values(s["nodes"]) for s in result["segments"]}
    assert by_region["华北"]["gmv"] == pytest.approx(5324)
    assert by_region["华东"]["gmv"] == pytest.approx(1936)
    assert by_region["华东"]["conversion"] == pytest.approx(0.22)
    run = nsm("eval", planned, "--by", "region", "--scenario", "push")
    assert run.code == 0 and run.stderr == ""
    assert run.stdout.splitlines()[0] == ("Shop · period 2025-06 · by region (2 segments, best "
                                          "成交额 first) · scenario push")
    assert run.stdout.splitlines()[2].split() == ["成交额", "7,260", "5,324", "★", "1,936"]


def test_a_new_value_is_kept_where_it_means_the_same_in_every_segment(nsm, planned):
    """aov is a mean: +5 in every region. 2025-06: the total 600 × 20% × 55 = 6,600,
    华北 400 × 20% × 60 = 4,800, 华东 200 × 20% × 45 = 1,800. index (no region) = 2 doubles
    everything: 12,000."""
    run = nsm("eval", planned, "--by", "region", "--set", "aov=+5", "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert values(result["nodes"])["gmv"] == pytest.approx(6600)
    assert [values(s["nodes"])["gmv"] for s in result["segments"]] == pytest.approx([4800, 1800])
    run = nsm("eval", planned, "--by", "region", "--set", "index=2", "--set", "conversion=25%",
              "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    # 600 × 25% × 50 × 2 = 15,000; 华北 400 × 25% × 55 × 2 = 11,000; 华东 200 × 25% × 40 × 2
    assert values(result["nodes"])["gmv"] == pytest.approx(15000)
    assert [values(s["nodes"])["gmv"] for s in result["segments"]] == pytest.approx(
        [11000, 4000])


def test_a_new_value_of_what_adds_up_across_segments_is_refused(nsm, planned):
    run = nsm("eval", planned, "--by", "region", "--set", "visitors=1000")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == ("nsm: error: --set visitors=1000: a new value for 'visitors' (1000) "
                          "cannot be split into segments: its rows add up across segments "
                          "(agg sum); with --by region give a relative change (+10%, x1.1) or, "
                          "for a rate, points (+2pp)\n")
    run = nsm("rank-levers", planned, "--by", "region", "--scenario", "fixed")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("nsm: error: --scenario fixed: a new value for 'visitors' "
                                 "(1000) cannot be split into segments")
    run = nsm("alerts", planned, "--by", "store", "--set", "buyers=+20")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("nsm: error: --set buyers=+20: an amount to add for 'buyers' "
                                 "(+20) cannot be split into segments: it has a formula")
    # without --by the same change is the total's own: fine
    assert nsm("eval", planned, "--set", "visitors=1000").code == 0


def test_rank_levers_by_segment_under_a_change(nsm, planned):
    """2025-06 with conversion +2pp, total 600 × 22% × 50 = 6,600. With --points a segment's
    conversion moves 1pp and the total's by its share of rows: 华北 2/3 pp → 600 × 50 ×
    0.02/3 = +200, 华东 +100; index +1% → +66; aov 华北 55 → 55.55, 2/3 of it in the total:
    600 × 22% × 0.55 × 2/3 = +48.4; visitors 华北 +4 → 4 × 22% × 50 = +44, 华东 +22; aov 华东
    40.4, a third: 600 × 22% × 0.4/3 = +17.6."""
    run = nsm("rank-levers", planned, "--by", "region", "--set", "conversion=+2pp", "--points",
              "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["root_value"] == pytest.approx(6600)
    assert [c["id"] for c in result["changes"]] == ["conversion"]
    pairs = [(lever["segment"], lever["id"]) for lever in result["levers"]]
    assert pairs == [("华北", "conversion"), ("华东", "conversion"), (None, "index"),
                     ("华北", "aov"), ("华北", "visitors"), ("华东", "visitors"), ("华东", "aov")]
    assert [lever["delta"] for lever in result["levers"]] == pytest.approx(
        [200, 100, 66, 48.4, 44, 22, 17.6])
    assert result["levers"][0]["value"] == pytest.approx(0.22)
    assert result["levers"][0]["new_value"] == pytest.approx(0.23)
    run = nsm("rank-levers", planned, "--by", "region", "--scenario", "push", "--top", "1")
    assert run.code == 0 and run.stderr == ""
    assert " · scenario push" in run.stdout.splitlines()[0]


def test_alerts_by_segment_under_a_change(nsm):
    """trees/regions.yaml, 2025-06, alert min 2.5 items per order: 华北 13/5 = 2.6, 华东 2,
    华南 5, the total 3. Ten percent fewer: 华北 2.34 fires too, the total 2.7 does not."""
    run = nsm("alerts", TREES / "regions.yaml", "--by", "region", "--format", "json")
    assert run.code == 3
    assert [a["segment"] for a in json.loads(run.stdout)["fired"]] == ["华东"]
    run = nsm("alerts", TREES / "regions.yaml", "--by", "region", "--set",
              "items_per_order=x0.9", "--format", "json")
    assert run.code == 3 and run.stderr == ""
    fired = json.loads(run.stdout)["fired"]
    assert [a["segment"] for a in fired] == ["华北", "华东"]
    assert [a["value"] for a in fired] == pytest.approx([2.34, 1.8])


def test_pairs_under_a_node_a_change_fixes_say_so(nsm, write):
    """conv = buyers / clicks fixed at 30% (a rate: the same in every region): the total
    400 visitors × 30% = 120; b's 300 visitors +1% → 403 × 30% = 120.9; buyers and clicks no
    longer move the root."""
    write("held.csv", "period,region,visitors,buyers,clicks\n"
          "2025-06,a,100,10,50\n2025-06,b,300,20,100\n")
    write("held.yaml", """
        name: held
        data:
          s: {path: held.csv, segments: [region]}
        root:
          id: gmv
          formula: visitors * conv
          children:
            - {id: visitors, source: {data: s, column: visitors, agg: sum}}
            - id: conv
              unit: "%"
              formula: buyers / clicks
              children:
                - {id: buyers, source: {data: s, column: buyers, agg: sum}}
                - {id: clicks, source: {data: s, column: clicks, agg: sum}}
        """)
    run = nsm("rank-levers", "held.yaml", "--by", "region", "--set", "conv=30%",
              "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["root_value"] == pytest.approx(120)
    levers = [(x["segment"], x["id"], x["delta"]) for x in result["levers"]]
    assert levers[:2] == [("b", "visitors", pytest.approx(0.9)),
                          ("a", "visitors", pytest.approx(0.3))]
    held = result["levers"][2:]
    assert {(x["segment"], x["id"]) for x in held} == {
        (s, leaf) for s in ("a", "b") for leaf in ("buyers", "clicks")}
    assert {x["reason"] for x in held} == {
        "no effect: 'conv' (conv) is fixed at 30% by a what-if change, so this leaf no longer "
        "moves the root"}
    assert all(x["delta"] is None for x in held)

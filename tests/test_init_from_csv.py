"""`nsm init --from-csv`: a draft from a CSV's columns passes nsm check and evaluates."""

from __future__ import annotations

import json
import os

import pytest
from conftest import alarm, plain_yaml
from hypothesis import given, settings
from hypothesis import strategies as st


def draft(nsm, csv: str, *args: str) -> dict:
    run = nsm("init", "--from-csv", csv, *args)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    return run


def check_and_eval(nsm, tree: str) -> dict:
    run = nsm("check", tree, "--format", "json")
    report = json.loads(run.stdout)
    assert report["errors"] == 0, report["diagnostics"]
    run = nsm("eval", tree, "--format", "json")
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def test_a_wide_export_becomes_leaves_with_units_under_a_root_to_fill_in(nsm, write, tmp_path):
    write("sales.csv", """\
        month,Store visitors,contact rate,avg price,store,到店客户数
        2025-05,"9,500",58%,¥548,Pudong,120
        2025-06,"10,000",60%,¥555,Xuhui,130
        """)
    run = draft(nsm, "sales.csv")
    assert run.stdout.splitlines()[:2] == ["wrote sales.yaml", "wrote nsm.schema.json"]
    text = (tmp_path / "sales.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=nsm.schema.json"
    assert "Columns left out (not numbers): store." in text
    tree = plain_yaml(text)
    assert tree["data"] == {"sales": {"path": "sales.csv", "period_column": "month"}}
    leaves = tree["root"]["children"]
    assert [(leaf["id"], leaf["name"], leaf.get("unit")) for leaf in leaves] == [
        ("store_visitors", "Store visitors", None), ("contact_rate", "contact rate", "%"),
        ("avg_price", "avg price", "元"), ("column_6", "到店客户数", None)]
    assert leaves[0]["source"] == {"data": "sales", "column": "Store visitors"}
    result = check_and_eval(nsm, "sales.yaml")
    assert result["period"] == "2025-06"
    values = {n["id"]: n["value"] for n in result["nodes"]}
    assert values == {"north_star": 10_000 + 0.60 + 555 + 130, "store_visitors": 10_000,
                      "contact_rate": 0.60, "avg_price": 555, "column_6": 130}


def test_a_gbk_file_with_a_chinese_period_column(nsm, write, tmp_path):
    write("pyproject.toml", "")  # the project: trees/ may read ../data/ (see README, paths)
    write("data/报表.csv", "月份,访客,转化率\n2025-05,100,10%\n2025-06,120,12%\n",
          encoding="gbk")
    draft(nsm, "data/报表.csv", "trees")
    tree = plain_yaml((tmp_path / "trees" / "报表.yaml").read_text(encoding="utf-8"))
    assert tree["data"]["data"] == {"path": "../data/报表.csv", "period_column": "月份",
                                    "encoding": "gb18030"}
    result = check_and_eval(nsm, "trees/报表.yaml")
    assert result["nodes"][0]["value"] == pytest.approx(120 + 0.12)


def test_rows_that_share_a_period_are_summed_and_rates_averaged(nsm, write, tmp_path):
    write("stores.csv", "period,store,visits,rate\n2025-06,A,10,50%\n2025-06,B,30,70%\n")
    draft(nsm, "stores.csv")
    tree = plain_yaml((tmp_path / "stores.yaml").read_text(encoding="utf-8"))
    assert [leaf["source"]["agg"] for leaf in tree["root"]["children"]] == ["sum", "mean"]
    values = {n["id"]: n["value"] for n in check_and_eval(nsm, "stores.yaml")["nodes"]}
    assert values["visits"] == 40 and values["rate"] == pytest.approx(0.60)


def test_a_file_without_a_period_column_is_one_period(nsm, write):
    write("totals.csv", "visits,revenue\n100,$2000\n")
    draft(nsm, "totals.csv")
    result = check_and_eval(nsm, "totals.yaml")
    assert result["period"] == "all"
    assert result["nodes"][0]["value"] == 2100


def test_nothing_to_draft_or_nowhere_to_write(nsm, write, tmp_path):
    write("names.csv", "period,name\n2025-06,Li\n")
    run = nsm("init", "--from-csv", "names.csv")
    assert run.code == 1 and "names.csv has no numeric column" in run.stderr
    assert not (tmp_path / "names.yaml").exists()
    write("empty.csv", "")
    run = nsm("init", "--from-csv", "empty.csv")
    assert run.code == 1 and "empty.csv is empty" in run.stderr
    run = nsm("init", "--from-csv", "missing.csv")
    assert run.code == 1
    assert run.stderr == "missing.csv:1:1: no such file: missing.csv [E100]\n"
    write("ok.csv", "period,a\n2025-06,1\n")
    write("ok.yaml", "mine\n")
    run = nsm("init", "--from-csv", "ok.csv")
    assert run.code == 1 and "ok.yaml already exists" in run.stderr
    assert (tmp_path / "ok.yaml").read_text() == "mine\n"
    assert not (tmp_path / "nsm.schema.json").exists()


def test_a_csv_outside_the_project_is_refused(nsm, write, tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("period,a\n2025-06,1\n", encoding="utf-8")
    run = nsm("init", "--from-csv", str(outside))
    assert run.code == 1 and "outside the project" in run.stderr
    assert list(tmp_path.iterdir()) == []


names = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\"\x00"), min_size=1,
                max_size=12).filter(lambda name: name.strip() == name and name.lower() not in (
                    "period", "month", "date", "day", "week", "quarter", "year", "time",
                    "期间", "月份", "日期", "周", "季度", "年份", "月", "年"))


@settings(max_examples=25)
@given(headers=st.lists(names, min_size=1, max_size=6, unique=True))
def test_any_column_names_give_a_draft_that_checks_and_evaluates(headers, tmp_path_factory):
    """Odd headers (digits first, formula functions, quotes, other scripts) still make a tree."""
    import contextlib
    import csv
    import io
    import os

    from nsm_cli.cli.main import main

    folder = tmp_path_factory.mktemp("draft")
    with open(folder / "x.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["period", *headers])
        writer.writerow(["2025-06", *range(1, len(headers) + 1)])
    here = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["init", "--from-csv", "x.csv"]) == 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert main(["eval", "x.yaml", "--format", "json"]) == 0
    finally:
        os.chdir(here)
    nodes = json.loads(out.getvalue())["nodes"]
    assert nodes[0]["value"] == sum(range(1, len(headers) + 1))
    assert [n["name"] for n in nodes[1:]] == headers


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_folder_to_draft_from_is_refused_at_once(nsm, tmp_path, monkeypatch):
    # `nsm init --from-csv FIFO` waited forever for a writer
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "folder.csv").mkdir()
    with alarm(10):
        run = nsm("init", "--from-csv", "pipe.csv")
    assert run.code == 1
    assert run.stderr == ("pipe.csv:1:1: pipe.csv is not a regular file (a FIFO or a device "
                          "would block) [E100]\n")
    run = nsm("init", "--from-csv", "folder.csv")
    assert run.code == 1
    assert run.stderr == "folder.csv:1:1: folder.csv is a folder, not a CSV file [E100]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.csv", "pipe.csv"]

"""Renderers and commands read results by attribute: with the results' dict-style access (kept
for scripts that read a result like its JSON) switched off, every command and format works."""

from __future__ import annotations

import pytest
from conftest import ROOT

from nsm_cli.analysis.results import Record

COMMANDS = [
    ["eval", "trees/journey.yaml", "--trend", "--compare", "2025-04"],
    ["eval", "trees/arpu.yaml", "--scenario", "li_plan"],
    ["rank-levers", "trees/mau.yaml", "--points"],
    ["explain", "trees/mau.yaml"],
    ["goal-seek", "trees/funnel.yaml", "--target", "600000"],
    ["alerts", "trees/mau.yaml", "--set", "complaint_rate=2%"],
    ["forecast", "trees/mau.yaml", "--seed", "1", "--backtest", "1"],
    ["diff", "trees/arpu.yaml", "trees/mau.yaml"],
    ["eval", "trees/regions.yaml", "--by", "region"],
    ["rank-levers", "trees/regions.yaml", "--by", "region"],
    ["explain", "trees/regions.yaml", "--by", "region"],
    ["alerts", "trees/regions.yaml", "--by", "region"],
]


@pytest.fixture
def attributes_only(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__} read like a dict: read its attributes")

    for name in ("__getitem__", "get", "__contains__", "keys"):
        monkeypatch.setattr(Record, name, refuse)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2] + c[2:3]))
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_every_format_reads_attributes(nsm, monkeypatch, attributes_only, command, fmt):
    monkeypatch.chdir(ROOT)
    run = nsm(*command, "--format", fmt)
    assert run.code in (0, 3), run.stderr
    assert run.stdout


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_diagrams_read_attributes(nsm, monkeypatch, attributes_only, fmt):
    monkeypatch.chdir(ROOT)
    run = nsm("eval", "trees/mau.yaml", "--format", fmt)
    assert run.code == 0 and run.stdout


@pytest.mark.parametrize("extra", [[], ["--by", "region", "--set", "orders=+10%"],
                                   ["--where", "region=华北"]])
def test_the_report_reads_attributes(nsm, monkeypatch, attributes_only, tmp_path, extra):
    monkeypatch.chdir(ROOT)
    run = nsm("report", "trees/regions.yaml", "-o", tmp_path / "r.html", *extra)
    assert run.code == 0, run.stderr
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

"""Every command speaks text, json and markdown; NSM_FORMAT applies only where it exists."""

from __future__ import annotations

import json

import pytest
from conftest import TREES

MAU = TREES / "mau.yaml"
COMMANDS = [("eval",), ("rank-levers",), ("goal-seek",), ("alerts",), ("explain",)]
FIRED = {"alerts": 3}   # mau's complaint rate breaches its bound: alerts exits 3


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["text", "json", "markdown"])
def test_every_command_speaks_text_json_and_markdown(nsm, command, name):
    run = nsm(*command, MAU, "--format", name)
    assert run.code == FIRED.get(command[0], 0), run.stderr
    assert run.stdout
    if name == "json":
        json.loads(run.stdout)
    if name == "markdown":
        assert run.stdout.startswith("### ")
        assert "\n|" in run.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_nsm_format_markdown_is_used_where_it_exists(nsm, monkeypatch, command):
    monkeypatch.setenv("NSM_FORMAT", "markdown")
    run = nsm(*command, MAU)
    assert run.code == FIRED.get(command[0], 0), run.stderr
    assert run.stdout.startswith("### ")


@pytest.mark.parametrize("command", COMMANDS)
def test_nsm_format_a_command_lacks_falls_back_to_text(nsm, monkeypatch, command):
    monkeypatch.setenv("NSM_FORMAT", "sarif")   # only `nsm check` has it
    run = nsm(*command, MAU)
    assert run.code == FIRED.get(command[0], 0), run.stderr
    assert run.stderr == ""
    assert not run.stdout.startswith(("{", "### "))


def test_an_explicit_format_is_still_checked(nsm, monkeypatch):
    monkeypatch.setenv("NSM_FORMAT", "json")
    run = nsm("rank-levers", MAU, "--format", "sarif")
    assert run.code == 2 and run.stdout == ""
    assert "--format sarif: choose one of text, json, markdown" in run.stderr


def test_rank_levers_markdown_rows(nsm):
    run = nsm("rank-levers", MAU, "--points", "--format", "markdown")
    # retention +1 pt: 6,500 × 0.01 = +65.0 人; recall +1 pt: 5,000 × 0.01 = +50.0 人
    assert "| 1 | 月留存率 | 服务体验组 | 92% | 93% | +65.0 | 95% | +195 |" in run.stdout
    assert "| 召回成功率 | 客服团队 | 16% | 17% | +50.0 | 18% | +100 |" in run.stdout


def test_goal_seek_and_alerts_markdown_rows(nsm):
    run = nsm("goal-seek", MAU, "--format", "markdown")
    # 8,400 − 7,980 = 420 more from deliveries alone: 420 / 0.8 = 525 辆 (+35.0%)
    assert "| 新车交付量 | 销售部 | 1,500 辆 | 2,025 辆 | +525 辆 | +35.0% | ✓ |" in run.stdout
    run = nsm("alerts", MAU, "--format", "markdown")
    assert "| 🔔 | 投诉率 (guardrail) | max 3% (bound) | 3.4% | 客服团队 |" in run.stdout


def test_check_speaks_markdown_too(nsm, monkeypatch):
    run = nsm("check", TREES / "mau.yaml", "--tolerance", "0.3%", "--format", "markdown")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "### nsm check · 1 file, 0 errors, 1 warning"
    # the formula's `*` is escaped so it does not turn the message italic
    assert lines[4].startswith("| ") and "| 26:15 | ⚠ warning | W401 |" in lines[4]
    assert "prev_active \\* retention_rate" in lines[4]
    monkeypatch.setenv("NSM_FORMAT", "markdown")
    assert nsm("check", TREES / "mau.yaml").stdout.startswith("### nsm check")

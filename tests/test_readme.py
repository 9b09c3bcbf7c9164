"""The README is a specification too: its example tree runs, every command is documented."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_the_example_tree_evaluates_to_the_funnel_numbers(nsm, write):
    [tree] = [b for b in blocks("yaml") if "example.csv" in b]
    [csv] = blocks("csv")
    write("example.csv", csv)
    write("example.yaml", tree)
    run = nsm("eval", "example.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    nodes = {n["id"]: n for n in json.loads(run.stdout)["nodes"]}
    assert nodes["revenue"]["value"] == pytest.approx(10_000 * 0.6 * 0.15 * 555)
    assert nodes["buyers"]["observed"] == 900.0
    run = nsm("eval", "example.yaml", "--scenario", "contact_80", "--format", "json")
    assert json.loads(run.stdout)["nodes"][0]["value"] == pytest.approx(666_000.0)
    run = nsm("eval", "example.yaml", "--scenario", "contact_80")
    assert run.code == 0 and "666,000 元" in run.stdout


def registered_commands() -> list[str]:
    import typer.main

    from nsm_cli.cli import commands  # noqa: F401
    from nsm_cli.cli.app import app

    return sorted(typer.main.get_command(app).commands)


def test_every_command_has_help_text_and_a_readme_entry(nsm):
    names = registered_commands()
    assert "eval" in names
    for name in names:
        run = nsm(name, "--help")
        assert run.code == 0, name
        assert "Usage" in run.stdout and len(run.stdout.splitlines()) > 5, name
        assert f"nsm {name}" in README, f"README has no entry for nsm {name}"


def shown_commands() -> list[str]:
    """Every `$ nsm …` line of the README that runs on the bundled trees."""
    lines = re.findall(r"^\$ (.*nsm .*)$", README, flags=re.M)
    return [line for line in lines if "trees/" in line]


@pytest.mark.parametrize("line", shown_commands())
def test_every_command_the_readme_shows_runs(nsm, monkeypatch, line):
    import shlex

    monkeypatch.chdir(ROOT)
    words = shlex.split(line.split(";")[0])
    words = words[words.index("nsm") + 1:]
    run = nsm(*words)
    assert run.code in (0, 1, 3), run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout

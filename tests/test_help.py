"""`--help` reads as a reference: one line per command, every argument and format named."""

from __future__ import annotations

import re


def test_every_command_is_summarised_on_one_line(nsm, monkeypatch):
    # a summary written over two docstring lines printed as two ragged lines in the list
    monkeypatch.setenv("COLUMNS", "200")
    run = nsm("--help")
    assert run.code == 0
    panel = run.stdout[run.stdout.index("Commands"):].splitlines()[1:]
    rows = [line for line in panel if line.startswith("│")]
    continued = [line for line in rows if line.startswith("│  ")]
    assert not continued, continued
    names = [row.strip("│ ").split()[0] for row in rows]
    assert {"check", "diff", "eval", "report", "rank-levers"} <= set(names)


def test_diff_names_its_two_arguments(nsm, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    run = nsm("diff", "--help")
    assert run.code == 0
    assert re.search(r"Usage: nsm diff \[OPTIONS\] \W?OLD\W? \W?NEW\W?", run.stdout), run.stdout
    assert "OLD|NEW" not in run.stdout


def test_eval_help_names_every_format(nsm, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    text = " ".join(nsm("eval", "--help").stdout.replace("│", " ").split())
    for name in ("text", "json", "markdown", "mermaid", "dot"):
        assert f" {name} " in text, name

"""Progress for long work goes to stderr on a terminal only: never stdout, never when piped."""

from __future__ import annotations

import io
import sys

from nsm_cli.cli.progress import bar
from nsm_cli.data import load
from nsm_cli.data.runtime import reporting


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with bar("reading", total=100, minimum=1) as advance:
        advance(50)
    assert err.getvalue() == ""


def test_no_bar_for_small_work_even_on_a_terminal(monkeypatch):
    err = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", err)
    with bar("reading", total=10, minimum=100) as advance:
        advance(10)
    assert err.getvalue() == ""


def test_a_big_tree_shows_its_loading_stages_on_stderr_only(write, monkeypatch, capsys):
    write("t.yaml", "name: t\nroot: {id: x, value: 1}\n")
    monkeypatch.setattr(load, "BIG_TREE_BYTES", 1)
    err = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", err)
    with reporting(bar):
        loaded = load.load_tree("t.yaml")
    assert loaded.tree.root == "x"
    assert "loading t.yaml" in err.getvalue()
    err.truncate(0)
    load.load_tree("t.yaml")   # the library alone never writes to the terminal
    assert err.getvalue() == ""
    assert capsys.readouterr().out == ""

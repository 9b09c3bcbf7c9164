"""The README is a specification too: its output blocks are what the commands print.

The mechanism is tests/readme_blocks.py (`make readme` rewrites the blocks); these tests fail
while a ```console block differs from what its command prints now.
"""

from __future__ import annotations

import json
import re

import pytest
import readme_blocks
from conftest import ROOT
from test_alerts import TREE as ALERT_TREE

README = (ROOT / "README.md").read_text(encoding="utf-8")
LINES = README.splitlines()


def blocks(language: str) -> list[str]:
    found = readme_blocks.blocks(LINES)
    return ["\n".join(b.lines) + "\n" for b in found if b.language == language]


def test_the_example_tree_evaluates_to_the_funnel_numbers(nsm, write):
    [tree] = [b for b in blocks("yaml") if "example.csv" in b]
    [csv] = blocks("csv")
    write("example.csv", csv)
    write("example.yaml", tree)
    run = nsm("eval", "example.yaml", "--format", "json")
    assert run.code == 0, run.stderr
    nodes = {n["id"]: n for n in json.loads(run.stdout)["nodes"]}
    assert nodes["revenue"]["value"] == 10_000 * 0.6 * 0.15 * 555
    assert nodes["buyers"]["observed"] == 900.0
    run = nsm("eval", "example.yaml", "--scenario", "contact_80", "--format", "json")
    assert json.loads(run.stdout)["nodes"][0]["value"] == pytest.approx(666_000.0, abs=1e-6)


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


SHOWN = [command for _, found in readme_blocks.console_blocks(LINES) for command in found]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    readme_blocks.fill(folder, LINES)
    return folder


def test_the_readme_shows_commands_of_every_kind():
    shown = {command.args[0] for command in SHOWN}
    assert {"eval", "rank-levers", "explain", "goal-seek", "alerts", "check"} <= shown
    assert any(command.show_exit for command in SHOWN)


@pytest.mark.parametrize("command", SHOWN, ids=[c.line for c in SHOWN])
def test_each_readme_command_prints_exactly_what_the_readme_shows(scratch, monkeypatch, command):
    monkeypatch.chdir(scratch)
    code, output = readme_blocks.run(command)
    if not command.show_exit:
        assert code == 0, f'`$ {command.line}` exits {code}: end it with ; echo "exit $?"'
    assert output == command.expected, "README.md is out of date: run `make readme`"


def test_no_command_is_shown_where_the_check_cannot_see_it():
    assert readme_blocks.stray_commands(LINES) == []


SAMPLE = """\
Intro.

<!-- file: t.yaml -->
```yaml
LINES
```

```console
$ nsm eval t.yaml --format json; echo "exit $?"
stale output
exit 0
$ nsm alerts missing.yaml
```
"""


def test_the_mechanism_rewrites_stale_output_and_refuses_a_hidden_failure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = SAMPLE.replace("LINES", "name: [").splitlines()
    [(block, [first, second])] = readme_blocks.console_blocks(lines)
    assert (first.args, first.show_exit, first.expected) == (
        ["eval", "t.yaml", "--format", "json"], True, ["stale output", "exit 0"])
    assert second.expected == []
    with readme_blocks.scratch(lines):
        code, output = readme_blocks.run(first)
    assert code == 1 and output[-1] == "exit 1"
    assert output[0].startswith("t.yaml:2:1: YAML syntax error")
    with pytest.raises(SystemExit, match="exits 1"):
        readme_blocks.regenerate(lines)
    fixed = [line for line in lines if not line.startswith("$ nsm alerts")]
    new = readme_blocks.regenerate(fixed)
    assert new[new.index('$ nsm eval t.yaml --format json; echo "exit $?"') + 1:][:2] == [
        output[0], "exit 1"]
    assert readme_blocks.stray_commands(["```", "$ nsm eval x.yaml", "```"]) == [
        "README line 2: $ nsm eval x.yaml"]


def test_the_json_excerpt_is_what_eval_prints_for_the_root(nsm, monkeypatch):
    monkeypatch.chdir(ROOT)
    intro = "With `nsm eval trees/mau.yaml --trend --last 2 --compare 2025-04 --format json`"
    assert intro in README
    [excerpt] = [b for b in blocks("json") if '"sparkline"' in b]
    run = nsm("eval", "trees/mau.yaml", "--trend", "--last", "2", "--compare", "2025-04",
              "--format", "json")
    assert run.code == 0
    root = json.loads(run.stdout)["nodes"][0]
    assert json.loads(excerpt) == {"trend": root["trend"], "compare": root["compare"]}


def text_block_after(words: str) -> list[str]:
    start = README.index(words)
    [body] = re.findall(r"```text\n(.*?)```", README[start:], flags=re.S)[:1]
    return body.splitlines()


def test_the_error_examples_are_real_messages(nsm, write):
    write("trees/x.yaml", """\
        version: 1
        name: x
        data:
          d: x.csv
        root:
          id: total
          formula: visits * price
          children:
          - id: visits
            source: d.visits
          - id: price
            formla: 2
        """)
    write("trees/x.csv", "period,price,visits\n2025-04,2,1\n2025-05,3,2\n2025-06,4,abc\n")
    run = nsm("eval", "trees/x.yaml")
    shown = text_block_after("Every problem is one line")
    assert len(shown) == 2 and run.code == 1 and run.stdout == ""
    assert set(shown) <= set(run.stderr.splitlines())


@pytest.mark.parametrize("alert", ["{falls_for: 0}", "{fals_for: 2}"])
def test_the_alert_rule_error_examples_are_real_messages(nsm, write, alert):
    write("d.csv", "period,a,b\n2025-01,1,2\n")
    write("t.yaml", ALERT_TREE.replace("ALERT", alert))
    run = nsm("eval", "t.yaml")
    [line] = run.stderr.splitlines()
    assert run.code == 1 and line in text_block_after("an empty `alert:`")

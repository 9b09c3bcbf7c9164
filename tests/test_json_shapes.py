"""The JSON of every command, pinned by shape: each key path in order, with its JSON types.

Scripts read these keys; a renamed, dropped or retyped key shows up here first. Types of
list items are merged over all items (`float|null`); `{}`/`[]` mark an empty object/list.
"""

from __future__ import annotations

import json

import pytest
from conftest import TREES


def _type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(type(value), "?")


def shape(value: object, path: str = "", out: dict[str, set[str]] | None = None
          ) -> dict[str, set[str]]:
    """Every key path (`nodes[].trend.values[]`) → the JSON types found there, in order."""
    out = {} if out is None else out
    if isinstance(value, dict):
        out.setdefault(path, set()).add("{}")
        for key, item in value.items():
            shape(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        out.setdefault(path, set()).add("[]")
        for item in value:
            shape(item, f"{path}[]", out)
    else:
        out.setdefault(path, set()).add(_type(value))
    return out


def lines(value: object) -> str:
    return "\n".join(f"{path or '.'}: {'|'.join(sorted(types))}"
                     for path, types in shape(value).items())


# commands without an analysis result in JSON (a new command with one needs a section)
NO_RESULT = {"init": "writes files", "mcp": "a server", "report": "an HTML page",
             "schema": "prints the JSON Schema document itself, held by test_schema.py"}


def pinned() -> list[tuple[str, str]]:
    """(command line, expected shape) from json_shapes.txt, one `== command` section each."""
    text = (TREES.parent / "tests" / "json_shapes.txt").read_text(encoding="utf-8")
    sections = []
    for block in text.split("== ")[1:]:
        command, _, body = block.partition("\n")
        sections.append((command, body.strip()))
    return sections


@pytest.mark.parametrize(("command", "expected"), pinned(), ids=[c for c, _ in pinned()])
def test_json_shape_of_every_command(nsm, command, expected):
    name, *args = command.split()
    args = [TREES.parent / a if a.startswith("trees/") else a for a in args]
    run = nsm(name, *args, "--format", "json")
    assert run.code in (0, 3), run.stderr
    assert lines(json.loads(run.stdout)) == expected


def test_every_command_has_a_pinned_shape():
    from nsm_cli.cli import commands  # noqa: F401  (registers the commands)
    from nsm_cli.cli.app import app

    pinned_names = {command.split()[0] for command, _ in pinned()}
    assert {c.name for c in app.registered_commands} - set(NO_RESULT) <= pinned_names


def test_shape_lists_types_per_path():
    assert lines({"a": [1, None], "b": {"c": "x"}}) == (
        ".: {}\na: []\na[]: int|null\nb: {}\nb.c: str")

"""`nsm schema`: the tree file's JSON Schema, for editors and for check-jsonschema."""

from __future__ import annotations

from typing import Annotated

import typer

from nsm_cli.cli.app import app, check_format, emit

SchemaFormatOpt = Annotated[
    str,
    typer.Option("--format", "-f", metavar="FORMAT",
                 help="json: the JSON Schema (draft 2020-12); markdown: the same keys as "
                 "tables (what the README shows)."),
]


@app.command("schema")
def schema_command(format_: SchemaFormatOpt = "json") -> None:
    """Print the tree file's JSON Schema (draft 2020-12).

    Save it beside your trees (nsm schema > nsm.schema.json) and start each
    tree with `# yaml-language-server: $schema=nsm.schema.json`: editors then
    complete keys, explain them on hover and underline misspellings as you
    type. nsm check still judges what a schema cannot (formulas, ids, data).
    """
    renderer = check_format(format_, {"json": _json, "markdown": _markdown})
    emit(renderer())


def _json() -> str:
    import json

    from nsm_cli.tree.schema import tree_schema

    return json.dumps(tree_schema(), ensure_ascii=False, indent=2) + "\n"


def _markdown() -> str:
    from nsm_cli.tree.keys import markdown_tables

    return markdown_tables()

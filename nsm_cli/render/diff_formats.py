"""`nsm diff` renderers: text for people, Markdown for a pull-request comment, JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.text import Text

from nsm_cli.analysis.diff import TREE_ID
from nsm_cli.analysis.results import DiffResult, ValueChange
from nsm_cli.numbers import MISSING, change_text, percent, value_text
from nsm_cli.render import Renderer, keep_numbers_whole, md_cell, md_table, plain_table

NUMBER_FIELDS = ("value", "benchmark", "target", "min", "max")


def to_json(result: DiffResult) -> str:
    """The contract's four keys first, then what the other formats also show."""
    return json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"


def title(result: DiffResult) -> str:
    period = result.period
    if result.old_period and result.old_period != period:
        period = f"{result.old_period} → {period}"
    return (f"Diff of {result.tree or result.root} · {result.files.old} → {result.files.new} · "
            f"period {period}")


def field_text(key: str, value: Any, unit: str | None) -> str:
    """A field's value as people read it: `95%`, `8,400 人`, `—` when unset."""
    if value is None:
        return MISSING
    if key in NUMBER_FIELDS and isinstance(value, (int, float)):
        return value_text(value, unit)
    return str(value)


def structure_lines(result: DiffResult) -> list[tuple[str, str, str]]:
    """(mark, who, what) for the file's own changes and each added, removed and changed node."""
    names, units = result.names, result.units
    lines = [("+ added", f"{names[item.id]} ({item.id})",
              "; ".join(f"{key} {field_text(key, value, units.get(item.id))}"
                        for key, value in item.fields.items()))
             for item in result.added_nodes]
    lines += [("− removed", f"{names[i]} ({i})", "") for i in result.removed]
    for item in result.changed:
        unit = units.get(item.id)
        what = "; ".join(f"{key} {field_text(key, old, unit)} → {field_text(key, new, unit)}"
                         for key, (old, new) in item.fields.items())
        who = "the file" if item.id == TREE_ID else f"{names[item.id]} ({item.id})"
        lines.append(("~ changed", who, what))
    return lines


def change_cell(row: ValueChange) -> str:
    """`+195 人 +2.4%`, `+3.0 pp` for a rate, `added`/`removed` when one side has none."""
    if row.old is None and row.new is None:
        return ""
    if row.old is None:
        return "new"
    if row.new is None:
        return "gone"
    if row.change == 0:
        return "="
    text = change_text(row.change, row.unit)
    if row.unit != "%" and row.old:
        text += f" {percent(row.change / abs(row.old), signed=True, decimals=1)}"
    return text


def render_text(result: DiffResult) -> Group:
    parts: list[Any] = [Text(title(result), style="bold")]
    lines = structure_lines(result)
    if lines:
        table = plain_table()
        for header in ("structure", "node", "what changed"):
            table.add_column(header, overflow="fold")
        for mark, who, what in lines:
            style = "green" if mark.startswith("+") else ("red" if mark.startswith("−")
                                                          else "yellow")
            table.add_row(Text(mark, style=style), who, what)
        parts.append(table)
    else:
        parts.append(Text("structure: nothing added, removed or changed", style="dim"))
    table = plain_table()
    table.add_column("metric", overflow="fold")
    for header in (result.files.old, result.files.new, "change"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in result.values:
        name = Text(row.name, style="bold" if row.root else "")
        table.add_row(name, value_text(row.old, row.unit), value_text(row.new, row.unit),
                      change_cell(row))
    parts += [Text(""), keep_numbers_whole(table, ("metric",))]
    if not result.changed_anything:
        parts.append(Text("no change", style="green"))
    return Group(*parts)


def render_markdown(result: DiffResult) -> str:
    """A pull-request comment: what changed in the tree, then the values that moved."""
    lines = [f"### {md_cell(title(result))}", ""]
    structure = structure_lines(result)
    if structure:
        lines += md_table(["", "node", "what changed"], [":--", ":--", ":--"],
                          [[mark, md_cell(who), md_cell(what)] for mark, who, what in structure])
    else:
        lines.append("Structure: nothing added, removed or changed.")
    rows = [[("**" + md_cell(row.name) + "**") if row.root else md_cell(row.name),
             value_text(row.old, row.unit), value_text(row.new, row.unit),
             change_cell(row)] for row in result.values]
    lines += ["", *md_table(["metric", md_cell(result.files.old), md_cell(result.files.new),
                             "change"], [":--", "--:", "--:", "--:"], rows)]
    if not result.changed_anything:
        lines += ["", "No change."]
    return "\n".join(lines) + "\n"


DIFF_FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": to_json,
    "markdown": render_markdown,
}

"""`nsm goal-seek` renderers: a table of what each lever must reach, for people; JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nsm_cli.analysis.results import GoalLever, GoalSeekResult
from nsm_cli.numbers import MINUS, MISSING, change_text, percent, value_text
from nsm_cli.render import (
    Fitted,
    Renderer,
    keep_numbers_whole,
    md_cell,
    md_table,
    plain_table,
    to_json,
    tree_label,
)


def required_change(change: float | None, unit: str | None) -> str:
    """The lever's move: `+12.07 pp` for a rate (two decimals: targets are precise), else units."""
    if change is None:
        return ""
    if unit == "%":
        text = f"{abs(change) * 100:,.2f}"
        zero = float(text.replace(",", "")) == 0
        sign = "" if zero else (MINUS if change < 0 else "+")
        return f"{sign}{text} pp"
    return change_text(change, unit)


def title(result: GoalSeekResult) -> str:
    unit = result.root_unit
    gap = change_text(result.gap, unit)
    if unit != "%" and result.gap_pct is not None:
        gap += f", {percent(result.gap_pct, signed=True, decimals=1)}"
    source = " from the file" if result.target_source == "file" else ""
    parts = [f"Goal-seek for {result.root_name}: {value_text(result.root_value, unit)} → "
             f"target {value_text(result.target, unit)}{source} ({gap})", result.period]
    if result.scenario:
        parts.append(f"scenario {result.scenario}")
    elif result.changes:
        parts.append("set " + ", ".join(f"{c.id} {c.change}" for c in result.changes))
    return " · ".join(parts)


def lever_table(result: GoalSeekResult, width: int | None = None,
                compact: bool = False) -> Table:
    """One row per lever; names wrapped to `width` cells; `compact` puts the unit and owner
    beside the name and leaves the numbers bare, for a narrow terminal."""
    table = plain_table()
    table.add_column("lever", no_wrap=True)
    if not compact:
        table.add_column("owner", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("→", no_wrap=True)
    table.add_column("required", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for row in result.levers:
        unit = row.unit if not compact or row.unit == "%" else None
        extra = [(" *", "yellow")] if row.reason else []
        if compact and row.unit and row.unit != "%":
            extra.append((f" [{row.unit}]", "dim"))
        if compact and row.owner:
            extra.append((f" · {row.owner}", "cyan"))
        feasible = row.feasible
        cells: list[Any] = [tree_label("", row.name, width, False, "", extra)]
        if not compact:
            cells.append(Text(row.owner or "", style="cyan"))
        cells += [
            value_text(row.value, unit),
            Text("→", style="dim"),
            Text(value_text(row.required, unit) if feasible else MISSING,
                 style="bold" if feasible else "dim"),
            required_change(row.change, unit),
            "" if row.change_pct is None else percent(row.change_pct, signed=True, decimals=1),
            Text("✓" if feasible else "✗ impossible", style="green" if feasible else "bold red"),
        ]
        table.add_row(*cells)
    return keep_numbers_whole(table, ("lever", "owner"))


def render_text(result: GoalSeekResult) -> Group:
    """Each lever's current value → the value it alone must reach, with the move and reasons."""
    parts: list[Any] = [Text(title(result), style="bold"),
                        Fitted(lambda width, compact: lever_table(result, width, compact))]
    for row in result.levers:
        if row.reason:
            mark = "*" if row.feasible else "✗"
            parts.append(Text(f"{mark} {row.name} ({row.id}): {row.reason}",
                              style="yellow" if row.feasible else "red"))
    parts.append(Text("Each lever alone, the others held at their values; rates stay within "
                      "0–100% and other metrics at or above 0 unless the node sets a domain.",
                      style="dim"))
    return Group(*parts)


def render_markdown(result: GoalSeekResult) -> str:
    """What each lever alone must reach, as a GitHub Markdown table."""
    body = [_markdown_row(row) for row in result.levers]
    lines = [f"### {md_cell(title(result))}", ""]
    lines += md_table(["lever", "owner", "value", "required", "change", "%", ""],
                      [":--", ":--", "--:", "--:", "--:", "--:", ":--"], body)
    return "\n".join(lines) + "\n"


def _markdown_row(row: GoalLever) -> list[str]:
    unit, feasible = row.unit, row.feasible
    return [md_cell(row.name), md_cell(row.owner or ""), value_text(row.value, unit),
            value_text(row.required, unit) if feasible else MISSING,
            required_change(row.change, unit),
            "" if row.change_pct is None else percent(row.change_pct, signed=True, decimals=1),
            "✓" if feasible else "✗ " + md_cell(row.reason or "impossible")]


GOALSEEK_FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": to_json,
    "markdown": render_markdown,
}

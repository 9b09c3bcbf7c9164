"""`nsm explain` renderers: the tree and a waterfall for people; JSON; Markdown for comments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nsm_cli import render
from nsm_cli.analysis.results import ExplainResult, present
from nsm_cli.numbers import MINUS, MISSING, change_text, percent, plain, value_text

WATERFALL_WIDTH = 30
MIN_BARS = 8   # the shortest waterfall bars: narrower, the bars go
UP, DOWN = "█", "░"   # rising and falling steps differ without colour too


def amount_digits(values: list[float], unit: str | None,
                  exact_too: Sequence[float] = ()) -> int:
    """Decimals for amounts in the root's unit: three significant digits of the largest of
    `values`, fewer or one more when that shows each (and `exact_too`) exactly."""
    scale = 100.0 if unit == "%" else 1.0
    sizes = [abs(v) * scale for v in values if v]
    if not sizes:
        return 0
    least = min(6, max(0, 2 - math.floor(math.log10(max(sizes)))))
    checked = sizes + [abs(v) * scale for v in exact_too if v]
    for digits in range(least + 2):
        if all(abs(round(x, digits) - x) <= 1e-9 * max(1.0, x) for x in checked):
            return digits
    return least


def amount(value: float | None, unit: str | None, digits: int, signed: bool = True) -> str:
    """An amount of the root: `+64.5`, `−99.33`, or `+0.83 pp` when the root is a rate."""
    if value is None:
        return MISSING
    if unit == "%":
        text = f"{abs(value) * 100:,.{digits}f}"
        zero = float(text.replace(",", "")) == 0
        sign = "" if zero else (MINUS if value < 0 else ("+" if signed else ""))
        return f"{sign}{text} pp"
    return plain(value, decimals=digits, signed=signed)


def level(value: float | None, unit: str | None, digits: int) -> str:
    """A root level (running total) with the amounts' decimals: `7,787.5`, `77.22%`."""
    if value is None:
        return MISSING
    if unit == "%":
        return f"{value * 100:,.{digits}f}%"
    return plain(value, decimals=digits)


def share_text(share: float | None) -> str:
    return "" if share is None else percent(share, decimals=1)


def method_text(result: ExplainResult) -> str:
    if result.method == "lmdi":
        return "LMDI (log-mean Divisia)"
    count = result.changed
    if result.exact:
        return f"Shapley, exact over {count} changed lea{'f' if count == 1 else 'ves'}"
    return (f"Shapley, sampled over {count} changed leaves "
            f"({result.samples:,} permutations, seed {result.seed})")


def title(result: ExplainResult) -> str:
    unit = result.root_unit
    move = change_text(result.change, unit)
    if unit != "%" and result.change_pct is not None:
        move += f", {percent(result.change_pct, signed=True, decimals=1)}"
    where = present(result.where)
    kept = (" · where " + ", ".join(f"{k}={v}" for k, v in where.items())) if where else ""
    return (f"Why {result.root_name} moved · {result.from_} → {result.to} · "
            f"{value_text(result.from_value, unit)} → {value_text(result.to_value, unit)} "
            f"({move}) · {method_text(result)}{kept}")


def _digits(result: ExplainResult) -> int:
    values = [row.contribution for row in result.contributions]
    return amount_digits([v for v in values if v is not None], result.root_unit,
                         [result.change or 0.0])


def tree_table(result: ExplainResult, width: int | None = None,
               compact: bool = False) -> Table:
    """The tree, children largest contribution first: each node's two values, its change, the
    sum of its leaves' contributions and their share of the root's change. Names wrap to
    `width` cells; `compact` puts each node's unit beside its name."""
    unit = result.root_unit
    digits = _digits(result)
    nodes = {node.id: node for node in result.nodes}
    errors = {row.id: present(row.error) for row in result.contributions}
    sampled = not result.exact
    table = render.plain_table()
    table.add_column("metric", no_wrap=True)
    table.add_column(result.from_, justify="right", no_wrap=True)
    table.add_column(result.to, justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column("contribution", justify="right", no_wrap=True)
    if sampled:
        table.add_column("± error", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    rows = render.tree_guides(result.nodes, result.root)
    for position, (prefix, node_id, is_ref) in enumerate(rows):
        node = nodes[node_id]
        if is_ref:
            table.add_row(render.tree_label(prefix, f"↪ {node.name}", width, False, "italic",
                                     [(" (shared: counted where it is defined)", "dim")]))
            continue
        kids = position + 1 < len(rows) and len(rows[position + 1][0]) > len(prefix)
        own = node.unit if not compact or node.unit == "%" else None
        extra = [(f" [{node.unit}]", "dim")] if compact and own != node.unit else []
        contribution = node.contribution
        style = "green" if contribution and contribution > 0 else (
            "red" if contribution and contribution < 0 else "dim")
        cells: list[Any] = [
            render.tree_label(prefix, node.name, width, kids,
                       "bold" if node.depth == 0 else "", extra),
            value_text(node.from_value, own),
            value_text(node.to_value, own),
            change_text(node.change, own),
            Text(amount(contribution, unit, digits), style=style),
        ]
        if sampled:
            error = errors.get(node_id)
            cells.append("" if not node.leaf or error is None or not contribution
                         else "± " + amount(error, unit, max(digits, 1), signed=False))
        cells.append(share_text(node.share))
        table.add_row(*cells)
    return render.keep_numbers_whole(table)


def _bar(before: float, after: float, low: float, high: float, width: int) -> str:
    """A floating step from `before` to `after` on a scale from low to high."""
    if high <= low:
        return ""

    def column(value: float) -> int:
        return round((value - low) / (high - low) * width)

    left, right = sorted((column(before), column(after)))
    length = max(right - left, 1)
    left = min(left, width - length)
    return " " * left + (UP if after >= before else DOWN) * length


def waterfall(result: ExplainResult, width: int = WATERFALL_WIDTH) -> Table:
    """From the first period's root value through each contribution (largest first) to the
    second's, each step a floating bar (█ up, ░ down)."""
    unit = result.root_unit
    digits = _digits(result)
    moving = [row for row in result.contributions if row.contribution]
    running = [result.from_value]
    for row in moving:
        running.append(running[-1] + row.contribution)
    running[-1] = result.to_value  # the same number, without float noise
    low, high = min(running), max(running)
    table = render.plain_table()
    table.add_column("waterfall", overflow="fold")
    table.add_column("contribution", justify="right", no_wrap=True)
    table.add_column("running", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_row(Text(f"{result.from_} {result.root_name}", style="bold"), "",
                  level(result.from_value, unit, digits),
                  Text(_edge(result.from_value, low, high, width), style="dim"))
    for row, before, after in zip(moving, running, running[1:], strict=False):
        up = row.contribution > 0
        table.add_row(row.name, Text(amount(row.contribution, unit, digits),
                                        style="green" if up else "red"),
                      level(after, unit, digits),
                      Text(_bar(before, after, low, high, width), style="green" if up else "red"))
    table.add_row(Text(f"{result.to} {result.root_name}", style="bold"),
                  Text(amount(result.change, unit, digits), style="bold"),
                  level(result.to_value, unit, digits),
                  Text(_edge(result.to_value, low, high, width), style="dim"))
    return render.keep_numbers_whole(table, ("waterfall",))


class FittedWaterfall(render.LaidOut):
    """The waterfall laid out when printed: its bars shorten (to MIN_BARS cells) before the
    names wrap; narrower, the bars go (said in a line), then one record per step."""

    def __init__(self, result: ExplainResult):
        self.result = result

    def parts(self, width: int) -> list[Any]:
        if width >= render.STACK_BELOW:
            return [waterfall(self.result)]   # rich wraps the names, as it always did
        shapes = [render.FitTable(waterfall(self.result, bars), names=("waterfall",),
                                  optional=("",), charts=("",))
                  for bars in range(WATERFALL_WIDTH, MIN_BARS - 1, -1)]
        for fitted in shapes:   # shorter bars first, then wrapped names
            if render.natural_width(fitted.table) <= width:
                return fitted.parts(width)
        for fitted in shapes:
            if fitted.fits(width):
                return fitted.parts(width)
        return shapes[-1].parts(width)


def _edge(value: float, low: float, high: float, width: int) -> str:
    """Where a total stands on the waterfall's scale: a thin mark."""
    if high <= low:
        return ""
    column = min(round((value - low) / (high - low) * width), width - 1)
    return " " * column + "▏"


def render_text(result: ExplainResult) -> Group:
    narrowest = render.min_name_width(render.tree_guides(result.nodes, result.root))
    parts: list[Any] = [Text(title(result), style="bold"),
                        render.Fitted(lambda width, compact: tree_table(result, width, compact),
                               narrowest),
                        Text(""), FittedWaterfall(result)]
    still = [row.name for row in result.contributions if not row.contribution]
    if still:
        parts.append(Text("Unchanged or without effect (0): " + ", ".join(still), style="dim"))
    notes = ["Contributions add up to the change; interior nodes show the sum of their leaves'."]
    if result.method == "shapley":
        notes.append("Shapley: each leaf's average effect over every order of changing the "
                     "leaves, so the formula's term order does not matter.")
    if not result.exact:
        notes.append("± is one standard error of the sampled estimate (antithetic pairs of "
                     "permutations); --max-exact up to 20 computes it exactly.")
    parts.append(Text(" ".join(notes), style="dim"))
    return Group(*parts)


def render_markdown(result: ExplainResult) -> str:
    """The contributions as a GitHub Markdown table, largest first."""
    unit = result.root_unit
    digits = _digits(result)
    sampled = not result.exact
    lines = [f"### {render.md_cell(title(result))}", ""]
    header = ["leaf", result.from_, result.to, "contribution"]
    align = [":--", "--:", "--:", "--:"]
    if sampled:
        header.append("± error")
        align.append("--:")
    header.append("share")
    align.append("--:")
    lines += [render.md_row([render.md_cell(h) for h in header]), "|" + "|".join(align) + "|"]
    for row in result.contributions:
        cells = [render.md_cell(row.name), value_text(row.from_value, row.unit),
                 value_text(row.to_value, row.unit),
                 amount(row.contribution, unit, digits)]
        if sampled:
            cells.append(amount(present(row.error), unit, max(digits, 1), signed=False))
        cells.append(share_text(row.share))
        lines.append(render.md_row(cells))
    lines.append(f"| **{render.md_cell(result.root_name)}** | "
                 f"{render.md_plain(value_text(result.from_value, unit))} | "
                 f"{render.md_plain(value_text(result.to_value, unit))} | "
                 f"**{amount(result.change, unit, digits)}** | "
                 + ("| " if sampled else "") + ("100%" if result.change else "") + " |")
    return "\n".join(lines) + "\n"


EXPLAIN_FORMATS: dict[str, render.Renderer] = {
    "text": render_text,
    "json": render.to_json,
    "markdown": render_markdown,
}

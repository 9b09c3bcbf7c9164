"""`nsm eval` renderers: a rich tree-table for people, JSON for scripts, Markdown for PRs."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nsm_cli.analysis.results import (
    Compare,
    EvalNode,
    EvalResult,
    GuardrailRow,
    Trend,
    present,
)
from nsm_cli.numbers import MISSING, change_text, is_missing, percent, value_text
from nsm_cli.render import (
    Fitted,
    Renderer,
    keep_numbers_whole,
    md_cell,
    md_row,
    min_name_width,
    plain_table,
    to_json,
    tree_guides,
    tree_label,
)
from nsm_cli.render.diagrams import render_dot, render_mermaid

if TYPE_CHECKING:   # rich is imported where text is drawn: `--format json` never loads it
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

STYLES = {"ahead": "green", "behind": "red", "on_par": "yellow", None: ""}
MARKS = {"ahead": "✓", "behind": "✗", "on_par": "=", None: ""}
MOVE_STYLES = {"better": "green", "worse": "red", "flat": "dim", None: ""}
MOVE_MARKS = {"better": "✓", "worse": "✗", "flat": "", None: ""}
BELL = "🔔"


def move_text(move: Trend | Compare | None, unit: str | None) -> str:
    """A period-on-period move: `▲ +284 +3.7% ✓`, `▼ −1.0 pp ✗` (✓/✗ judged by direction)."""
    if not move or move.change is None:
        return ""
    delta = move.change
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "=")
    if delta == 0:
        return f"= {change_text(0.0, unit if unit == '%' else None)}"
    if unit == "%":
        text = f"{arrow} {change_text(delta, '%')}"
    else:
        pct = move.change_pct
        tail = f" {percent(pct, signed=True, decimals=1)}" if pct is not None else ""
        text = f"{arrow} {change_text(delta, None)}{tail}"
    mark = MOVE_MARKS[move.verdict]
    return f"{text} {mark}" if mark else text


def _move(move: Trend | Compare | None, unit: str | None) -> Text:
    from rich.text import Text

    return Text(move_text(move, unit), style=MOVE_STYLES[move.verdict if move else None])


def alert_marks(node: EvalNode | GuardrailRow) -> str:
    """`🔔 falls_for 2, change_below -5%` for the node's firing `alert:` rules (bounds show ⚠)."""
    rules = [a.rule_text for a in node.alerts or []]
    return f"{BELL} {', '.join(rules)}" if rules else ""


def gap_text(node: EvalNode) -> str:
    """`▼ −1,176 −21.9%`, or `▼ −15.0 pp` for a rate; the arrow gives the sign."""
    gap = node.gap
    if gap is None:
        return ""
    arrow = "▲" if gap > 0 else ("▼" if gap < 0 else "=")
    if node.unit == "%":
        return f"{arrow} {change_text(gap, '%')}"
    pct = node.gap_pct
    tail = f" {percent(pct, signed=True, decimals=1)}" if pct is not None else ""
    return f"{arrow} {change_text(gap, None)}{tail}"


def target_gap(node: EvalNode) -> tuple[str, bool | None]:
    """`✗ −420 人` (short of the target) or `✓ +50 人`, judged with the node's direction."""
    gap = node.target_gap
    if gap is None:
        return "", None
    met = gap >= 0 if node.direction == "up" else gap <= 0
    return f"{'✓' if met else '✗'} {change_text(gap, node.unit)}", met


def _observed(node: EvalNode) -> str:
    if node.observed is None:
        return ""
    text = value_text(node.observed, node.unit)
    delta = node.observed_gap
    if delta is None or abs(delta) <= 1e-9 * max(1.0, abs(node.observed)):
        return f"= {text}"
    pct = node.observed_gap_pct
    tail = f" ({percent(pct, signed=True)})" if pct is not None else ""
    return f"≠ {text}{tail}"


def _title(result: EvalResult) -> str:
    parts = [result.tree or result.root, f"period {result.period}"]
    if result.scenario:
        described = result.scenario_description
        parts.append(f"scenario {result.scenario}" + (f" ({described})" if described else ""))
    sets = [f"{c.id} {c.change}" for c in result.changes]
    if sets and not result.scenario:
        parts.append("set " + ", ".join(sets))
    if result.trend:
        shown = result.trend.periods
        parts.append(f"trend {shown[0]}…{shown[-1]}" if len(shown) > 1 else f"trend {shown[0]}")
    if result.compare:
        parts.append(f"compared with {result.compare}")
    if where := present(result.where):
        parts.append("where " + ", ".join(f"{k}={v}" for k, v in where.items()))
    return " · ".join(parts)


def render_text(result: EvalResult) -> Group:
    """The tree with value, benchmark, gap, target and owner in aligned columns, laid out
    to fit the terminal: names wrap first, then units and owners move beside the names."""
    from rich.console import Group
    from rich.text import Text

    narrowest = min_name_width(tree_guides(result.nodes, result.root))
    parts: list[Any] = [Text(_title(result), style="bold"),
                        Fitted(lambda width, compact: tree_table(result, width, compact),
                               narrowest)]
    if result.guardrails:
        parts.append(Text(""))
        guards, compare = result.guardrails, result.compare
        parts.append(Fitted(lambda width, compact: guardrail_table(guards, compare, width,
                                                                   compact)))
    return Group(*parts)


def _shown_unit(unit: str | None, compact: bool) -> str | None:
    """In the compact layout numbers go without their unit (it stands beside the name)."""
    return unit if not compact or unit == "%" else None


def _columns(table: Table, result: EvalResult, compact: bool) -> dict[str, bool]:
    nodes = result.nodes
    # trends and comparisons are about movement: the observed-vs-formula check makes room;
    # under a scenario or --set the observation belongs to the base, not to what-if values
    moving = bool(result.trend or result.compare)
    shown = {"observed": not moving and not result.changes
             and any(n.observed is not None for n in nodes),
             "target": any(n.target is not None for n in nodes),
             "change": bool(result.changes), "trend": bool(result.trend)}
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    if shown["change"]:
        table.add_column("vs base", justify="right", no_wrap=True)
    _add_history_columns(table, shown["trend"], result.compare)
    if shown["observed"]:
        table.add_column("observed", justify="right", no_wrap=True)
    table.add_column("bench" if compact else "benchmark", justify="right", no_wrap=True)
    table.add_column("gap", justify="right", no_wrap=True)
    if not compact:
        table.add_column("", no_wrap=True)
    if shown["target"]:
        table.add_column("target", justify="right", no_wrap=True)
        if not compact:
            table.add_column("to target", justify="right", no_wrap=True)
    if not compact:
        table.add_column("owner", no_wrap=True)
    return shown


def tree_table(result: EvalResult, width: int | None = None,
               compact: bool = False) -> Table:
    """The tree-table; names wrapped to `width` cells; `compact` puts each node's unit and
    owner beside its name and each mark beside its number, for a narrow terminal."""
    from rich.text import Text

    nodes = {node.id: node for node in result.nodes}
    table = plain_table()
    shown = _columns(table, result, compact)
    rows = tree_guides(result.nodes, result.root)
    for position, (prefix, node_id, is_ref) in enumerate(rows):
        node = nodes[node_id]
        unit = _shown_unit(node.unit, compact)
        kids = position + 1 < len(rows) and len(rows[position + 1][0]) > len(prefix)
        if is_ref:
            label = tree_label(prefix, f"↪ {node.name}", width, False, "italic",
                               [(" (shared, see above)", "dim")])
            table.add_row(label, Text(value_text(node.value, unit), style="dim"))
            continue
        label = tree_label(prefix, node.name, width, kids,
                           "bold" if node.depth == 0 else "", _label_extra(node, compact))
        table.add_row(label, *_node_cells(node, unit, shown, result, compact))
    return keep_numbers_whole(table)


def _label_extra(node: EvalNode, compact: bool) -> list[tuple[str, str]]:
    extra = []
    if node.breached:
        extra.append((" ⚠ " + node.breached.replace("_", " "), "bold red"))
    if marks := alert_marks(node):
        extra.append((" " + marks, "bold yellow"))
    if compact and node.unit and node.unit != "%":
        extra.append((f" [{node.unit}]", "dim"))
    if compact and node.owner:
        extra.append((f" · {node.owner}", "cyan"))
    return extra


def _node_cells(node: EvalNode, unit: str | None, shown: dict[str, bool],
                result: EvalResult, compact: bool) -> list[Any]:
    from rich.text import Text

    style = STYLES[node.status]
    value = Text(value_text(node.value, unit))
    if node.value is None:
        value.stylize("dim")
    cells: list[Any] = [value]
    if shown["change"]:
        cells.append(_change(node, unit))
    shown_node = node if unit == node.unit else replace(node, unit=unit)
    cells += _history_cells(shown_node, shown["trend"], result.compare)
    if shown["observed"]:
        observed = _observed(shown_node)
        cells.append(Text(observed, style="yellow" if observed.startswith("≠") else "dim"))
    benchmark = node.benchmark
    cells.append("" if benchmark is None else value_text(benchmark, unit))
    mark = MARKS[node.status]
    if compact:
        cells.append(Text(f"{gap_text(node)} {mark}".strip(), style=style))
    else:
        cells += [Text(gap_text(node), style=style), Text(mark, style=style)]
    if shown["target"]:
        target = "" if node.target is None else value_text(node.target, unit)
        reached, met = target_gap(shown_node)
        met_style = "" if met is None else ("green" if met else "red")
        if compact:
            cells.append(Text(f"{target} {reached}".strip(), style=met_style))
        else:
            cells += [target, Text(reached, style=met_style)]
    if not compact:
        cells.append(Text(node.owner or "", style="cyan"))
    return cells


def _change(node: EvalNode, unit: str | None) -> Text:
    from rich.text import Text

    delta, base = present(node.change), present(node.base)
    if delta is None or abs(delta) <= 1e-12:
        return Text("")
    text = change_text(delta, unit)
    if node.unit != "%" and base:
        text += f" {percent(delta / abs(base), signed=True, decimals=1)}"
    return Text(text, style="bold")


def _bounds(guard: GuardrailRow) -> str:
    parts = []
    if guard.min is not None:
        parts.append(f"≥ {value_text(guard.min, guard.unit)}")
    if guard.max is not None:
        parts.append(f"≤ {value_text(guard.max, guard.unit)}")
    return ", ".join(parts) or "no bound"


def _add_history_columns(table: Table, show_trend: bool, compare: str | None) -> None:
    """The trend (sparkline, change against the previous period) and compared-period columns."""
    if show_trend:
        table.add_column("trend", no_wrap=True)
        table.add_column("vs prev", justify="right", no_wrap=True)
    if compare:
        table.add_column(compare, justify="right", no_wrap=True)
        table.add_column(f"vs {compare}", justify="right", no_wrap=True)


def _history_cells(row: EvalNode | GuardrailRow, show_trend: bool,
                   compare: str | None) -> list[Any]:
    """The cells under `_add_history_columns` for one node or guardrail."""
    from rich.text import Text

    cells: list[Any] = []
    if show_trend:
        cells += [Text(row.trend.sparkline, style="cyan"), _move(row.trend, row.unit)]
    if compare:
        cells += [value_text(row.compare.value, row.unit),
                  _move(row.compare, row.unit)]
    return cells


def guardrail_table(guardrails: list[GuardrailRow], compare: str | None = None,
                    width: int | None = None, compact: bool = False) -> Table:
    """Guardrails with value, bound and status; names wrapped to `width` cells, and in the
    `compact` form each owner beside its name, so a narrow terminal cuts no number or mark."""
    from rich.text import Text

    show_trend = any(present(guard.trend) is not None for guard in guardrails)
    table = plain_table()
    table.add_column(Text("Guardrails", style="bold"))
    table.add_column("value", justify="right", no_wrap=True)
    _add_history_columns(table, show_trend, compare)
    table.add_column("bound", no_wrap=True)
    table.add_column("", no_wrap=True)
    if not compact:
        table.add_column("owner", no_wrap=True)
    for guard in guardrails:
        if guard.value is None:
            mark = Text("? no value", style="yellow")
        elif guard.breached:
            mark = Text("✗ breached", style="bold red")
        else:
            mark = Text("✓ ok", style="green")
        if marks := alert_marks(guard):
            mark.append(" " + marks, style="bold yellow")
        owner = [(f" · {guard.owner}", "cyan")] if compact and guard.owner else []
        cells: list[Any] = [tree_label("", guard.name, width, False, extra=owner),
                            value_text(guard.value, guard.unit)]
        cells += _history_cells(guard, show_trend, compare)
        cells += [_bounds(guard), mark]
        if not compact:
            cells.append(Text(guard.owner or "", style="cyan"))
        table.add_row(*cells)
    return keep_numbers_whole(table, ("Guardrails",))


def render_markdown(result: EvalResult) -> str:
    """A GitHub-flavoured Markdown table a pull-request comment can show."""
    lines = [f"### {md_cell(_title(result))}", ""]
    show_trend, compare = bool(result.trend), result.compare
    header = ["metric", "value"]
    align = [":--", "--:"]
    if show_trend:
        header += ["trend", "vs prev"]
        align += [":--", "--:"]
    if compare:
        header += [md_cell(compare), f"vs {md_cell(compare)}"]
        align += ["--:", "--:"]
    header += ["benchmark", "gap", "", "target", "to target", "owner"]
    align += ["--:", "--:", ":-:", "--:", "--:", ":--"]
    lines.append(md_row(header))
    lines.append("|" + "|".join(align) + "|")
    nodes = {node.id: node for node in result.nodes}
    for _prefix, node_id, is_ref in tree_guides(result.nodes, result.root):
        node = nodes[node_id]
        depth = _prefix.count("── ") + _prefix.count("    ") + _prefix.count("│   ")
        indent = "&nbsp;&nbsp;&nbsp;&nbsp;" * max(depth - 1, 0) + ("└ " if depth else "")
        name = f"**{md_cell(node.name)}**" if node.depth == 0 else md_cell(node.name)
        if is_ref:
            name = f"↪ {name} (shared)"
        if node.breached:
            name += f" ⚠ {node.breached.replace('_', ' ')}"
        if (marks := alert_marks(node)) and not is_ref:
            name += f" {md_cell(marks)}"
        bench = "" if node.benchmark is None else value_text(node.benchmark, node.unit)
        target = "" if node.target is None else value_text(node.target, node.unit)
        row = [indent + name, value_text(node.value, node.unit)]
        if show_trend:
            row += ["", ""] if is_ref else [f"`{node.trend.sparkline}`",
                                            move_text(node.trend, node.unit)]
        if compare:
            row += ["", ""] if is_ref else [value_text(node.compare.value, node.unit),
                                            move_text(node.compare, node.unit)]
        row += [bench, "" if is_ref else gap_text(node), "" if is_ref else MARKS[node.status],
                target, "" if is_ref else target_gap(node)[0], md_cell(node.owner or "")]
        lines.append(md_row(row))
    if result.guardrails:
        lines += ["", "| guardrail | value | bound | status |", "|:--|--:|:--|:--|"]
        for guard in result.guardrails:
            state = ("no value" if guard.value is None
                     else "✗ breached" if guard.breached else "✓ ok")
            if marks := alert_marks(guard):
                state += f" {md_cell(marks)}"
            lines.append(md_row([md_cell(guard.name), value_text(guard.value, guard.unit),
                                 _bounds(guard), state]))
    return "\n".join(lines) + "\n"


EVAL_FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": to_json,
    "markdown": render_markdown,
    "mermaid": render_mermaid,
    "dot": render_dot,
}

__all__ = ["EVAL_FORMATS", "MISSING", "is_missing"]

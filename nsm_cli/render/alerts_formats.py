"""`nsm alerts` renderers: a table of what fired for people, JSON for scripts."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from nsm_cli.analysis.results import AlertsResult, present
from nsm_cli.numbers import value_text
from nsm_cli.render import (
    FitTable,
    Renderer,
    keep_numbers_whole,
    md_cell,
    md_table,
    plain_table,
    to_json,
)

BELL = "🔔"


def _title(result: AlertsResult) -> str:
    parts = [result.tree or result.root, f"alerts for {result.period}"]
    if result.scenario:
        parts.append(f"scenario {result.scenario}")
    if where := present(result.where):
        parts.append("where " + ", ".join(f"{k}={v}" for k, v in where.items()))
    fired, checked = len(result.fired), result.checked
    parts.append(f"{fired} fired of {checked} rule{'s' if checked != 1 else ''} checked")
    return " · ".join(parts)


def render_text(result: AlertsResult) -> Group:
    """One row per firing alert: metric, rule, value, what happened, who owns it."""
    parts: list[Any] = [Text(_title(result), style="bold")]
    if not result.checked:
        parts.append(Text("no alert rules: add `alert:` (min, max, falls_for, change_below, "
                          "change_above, forecast_below_target) to a node, or min/max to a "
                          "guardrail", style="dim"))
    elif not result.fired:
        parts.append(Text("✓ no alert fired", style="green"))
    else:
        table = plain_table()
        table.add_column("", no_wrap=True)
        table.add_column("metric", overflow="fold")
        table.add_column("rule", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("owner", overflow="fold")
        table.add_column("what happened", overflow="fold")
        for alert in result.fired:
            rule = alert.rule_text + (" (bound)" if alert.source == "bound" else "")
            name = alert.name + (" (guardrail)" if alert.guardrail else "")
            table.add_row(Text(BELL), Text(name, style="bold"), Text(rule, style="yellow"),
                          value_text(alert.value, alert.unit),
                          Text(alert.owner or "", style="cyan"),
                          Text(alert.message, style="red"))
        parts.append(FitTable(keep_numbers_whole(table, ("metric", "what happened", "owner")),
                              names=("metric", "owner", "what happened"),
                              optional=("owner", "what happened"), heading=2))
    if result.skipped:
        parts.append(Text(""))
        for skip in result.skipped:
            parts.append(Text(f"? {skip.id} {skip.rule_text}: not judged, "
                              f"{skip.reason}", style="dim"))
    return Group(*parts)


def render_markdown(result: AlertsResult) -> str:
    """The firing alerts as a GitHub Markdown table, for an issue or a chat message."""
    lines = [f"### {md_cell(_title(result))}", ""]
    if not result.fired:
        lines.append("✓ no alert fired" if result.checked else "no alert rules")
    else:
        body = [[BELL, md_cell(a.name + (" (guardrail)" if a.guardrail else "")),
                 md_cell(a.rule_text + (" (bound)" if a.source == "bound" else "")),
                 value_text(a.value, a.unit), md_cell(a.owner or ""),
                 md_cell(a.message)] for a in result.fired]
        lines += md_table(["", "metric", "rule", "value", "owner", "what happened"],
                          [":-:", ":--", ":--", "--:", ":--", ":--"], body)
    if result.skipped:
        lines.append("")
        lines += [f"- ? {md_cell(s.id)} {md_cell(s.rule_text)}: not judged, "
                  f"{md_cell(s.reason)}" for s in result.skipped]
    return "\n".join(lines) + "\n"


ALERTS_FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": to_json,
    "markdown": render_markdown,
}

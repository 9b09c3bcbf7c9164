"""Alert rules (`alert:` on a node or guardrail): parse them with their spans, judge them.

A leading indicator that slides for two periods, or crosses a threshold,
should raise its hand before the North Star moves. Rules, all optional:

- `min: X` / `max: X`: the value is below X / above X (`4.5`, `92%`);
- `falls_for: N`: the last N period-on-period moves all went the *worse* way
  for the node's direction (down for `direction: up`, up for `direction: down`);
- `change_below: -5%` / `change_above: +5%`: the raw period-on-period change,
  relative to the previous value (or in points for a rate: `-2pp`), is below /
  above the threshold. These do not mirror for `direction: down`: a churn rate
  that jumps is caught by `change_above`.

- `forecast_below_target: 50%` or `{probability: 50%, horizon: 3}`: the chance that the
  node meets its target N periods after the judged one (N = 1 by default), from
  `nsm forecast`'s simulation of the history up to that period (2,000 paths, seed 0, so
  the verdict is repeatable), is below the probability.

A node's (or guardrail's) own `min`/`max` bounds count as rules too, so a
breached guardrail is a firing alert.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from nsm_cli.analysis.results import Alert, AlertsReport, AlertsResult, Skipped
from nsm_cli.numbers import change_text, json_number, percent, value_text
from nsm_cli.tree.alert_rules import FORECAST_RULE, node_rules
from nsm_cli.tree.model import Node, Rule

if TYPE_CHECKING:
    from nsm_cli.analysis.evaluate import Evaluation
    from nsm_cli.tree.compile import CompiledTree


# -- judging ------------------------------------------------------------------------------

def _below(value: float, limit: float) -> bool:
    """value < limit beyond float noise: 47.5 / 50 − 1 is −0.05000000000000004, not below −5%."""
    return value < limit - 1e-12 * max(1.0, abs(limit))


def _number(series: np.ndarray, index: int) -> float | None:
    value = float(series[index])
    return value if math.isfinite(value) else None


def judge(rule: Rule, node: Node, series: np.ndarray, periods: list[str],
          index: int) -> tuple[Alert | None, str | None]:
    """(the firing alert, None), (None, None) when quiet, or (None, why) when it cannot tell."""
    unit, name = node.unit, node.name
    current = _number(series, index)
    shown = value_text(current, unit)
    if rule.kind in ("min", "max"):
        if current is None:
            return None, f"no value for {periods[index]}"
        below = rule.kind == "min" and _below(current, rule.threshold)
        above = rule.kind == "max" and _below(rule.threshold, current)
        if not (below or above):
            return None, None
        limit = value_text(rule.threshold, unit)
        what = "minimum" if below else "maximum"
        message = f"{name} is {shown}, {'below' if below else 'above'} the {what} {limit}"
        return _fired(rule, node, message, current, periods[index:index + 1], [current]), None
    steps = int(rule.threshold) if rule.kind == "falls_for" else 1
    if index < steps:
        return None, f"needs {steps + 1} periods up to {periods[index]}, the data has {index + 1}"
    values = [_number(series, i) for i in range(index - steps, index + 1)]
    if any(v is None for v in values):
        return None, f"a value is missing in {periods[index - steps]}…{periods[index]}"
    labels = periods[index - steps:index + 1]
    if rule.kind == "falls_for":
        pairs = zip(values, values[1:], strict=False)
        up = node.direction == "up"
        if not all(_below(b, a) if up else _below(a, b) for a, b in pairs):
            return None, None
        moved = "fell" if node.direction == "up" else "rose"
        note = "" if node.direction == "up" else " (lower is better)"
        run = " → ".join(value_text(v, unit) for v in values)
        streak = f"for {steps} periods in a row" if steps > 1 else f"since {labels[0]}"
        message = f"{name} {moved} {streak}{note}: {run}"
        return _fired(rule, node, message, current, labels, values), None
    previous = values[0]
    delta = current - previous
    if rule.points:
        measured, moved = delta, change_text(delta, "%")
    else:
        if previous == 0:
            return None, f"{periods[index - 1]} is 0: a relative change cannot be told"
        measured = delta / abs(previous)
        moved = percent(measured, signed=True)
    below = rule.kind == "change_below" and _below(measured, rule.threshold)
    above = rule.kind == "change_above" and _below(rule.threshold, measured)
    if not (below or above):
        return None, None
    limit = change_text(rule.threshold, "%") if rule.points else percent(rule.threshold,
                                                                        signed=True)
    message = (f"{name} changed {moved} since {labels[0]} ({value_text(previous, unit)} → "
               f"{shown}), {'below' if below else 'above'} {limit}")
    return _fired(rule, node, message, current, labels, values), None


def _fired(rule: Rule, node: Node, message: str, value: float | None, periods: list[str],
           values: list[float | None]) -> Alert:
    delta = relative = None
    if len(values) >= 2 and values[-1] is not None and values[-2] is not None:
        delta = json_number(values[-1] - values[-2])
        relative = json_number(delta / abs(values[-2]), 6) if values[-2] else None
    return Alert(
        id=node.id, name=node.name, guardrail=node.is_guardrail, rule=rule.kind,
        threshold=json_number(rule.threshold), rule_text=rule.label, source=rule.source,
        message=message, value=json_number(value), unit=node.unit, direction=node.direction,
        owner=node.owner, periods=list(periods), values=[json_number(v) for v in values],
        change=delta, change_pct=relative, line=rule.span.line, column=rule.span.column,
    )


def forecast_chances(ev: Evaluation, index: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """For nodes with a forecast rule: the future labels and P(meets target) per period."""
    tree = ev.tree
    wanted = {node_id: max(r.horizon for r in node_rules(tree.nodes[node_id])
                           if r.kind == FORECAST_RULE)
              for node_id in ruled(tree)
              if any(r.kind == FORECAST_RULE for r in node_rules(tree.nodes[node_id]))}
    if not wanted:
        return {}
    from nsm_cli.analysis.forecast import next_periods, target_probabilities  # only when asked

    horizon = max(wanted.values())
    periods = ev.periods[:index + 1]
    history = {leaf: np.asarray(x, dtype=float)[:index + 1] for leaf, x in ev.inputs.items()}
    chances = target_probabilities(tree, history, periods, list(wanted), horizon)
    labels = next_periods(periods, horizon)
    return {node_id: (labels, chances[node_id]) for node_id in wanted}


def judge_forecast(rule: Rule, node: Node, labels: list[str], chances: np.ndarray
                   ) -> Alert | None:
    """The firing alert when P(meets target) at the rule's horizon is below its probability."""
    chance = float(chances[rule.horizon - 1])
    if not _below(chance, rule.threshold):
        return None
    period = labels[rule.horizon - 1]
    verb = "at most" if node.direction == "down" else "at least"
    target = value_text(node.target, node.unit)
    message = (f"{node.name} reaches {verb} its target {target} in {period} with "
               f"probability {percent(chance, decimals=0)}, below {rule.text}")
    return replace(_fired(rule, node, message, None, [period], []),
                   probability=json_number(chance, 6))


def ruled(tree: CompiledTree) -> list[str]:
    """The nodes then guardrails that have a rule (a bound or an `alert:` block), in order:
    most nodes of a big tree have none, and making their (empty) rule lists costs."""
    nodes = tree.nodes
    return [node_id for node_id in [*tree.order, *tree.guardrails]
            if (node := nodes[node_id]).alert_rules or node.minimum is not None
            or node.maximum is not None
            or node.alert_rules is None and node.alert is not None]


def check_alerts(ev: Evaluation, index: int) -> AlertsReport:
    """Judge every rule of every node and guardrail in the period at `index`.

    Nodes in tree order then guardrails, each node's bounds before its alert rules.
    """
    tree = ev.tree
    fired: list[Alert] = []
    skipped: list[Skipped] = []
    checked = 0
    forecasts = forecast_chances(ev, index)
    for node_id in ruled(tree):
        node = tree.nodes[node_id]
        rules = node_rules(node)
        if not rules:
            continue
        series = np.asarray(ev.values[node_id], dtype=float)
        if series.ndim == 0:
            series = np.full(len(ev.periods), float(series))
        for rule in rules:
            checked += 1
            if rule.kind == FORECAST_RULE:
                alert, reason = judge_forecast(rule, node, *forecasts[node_id]), None
            else:
                alert, reason = judge(rule, node, series, ev.periods, index)
            if alert is not None:
                fired.append(alert)
            elif reason is not None:
                skipped.append(Skipped(id=node_id, rule=rule.kind, rule_text=rule.label,
                                       reason=reason))
    return AlertsReport(fired=fired, checked=checked, skipped=skipped)


def alerts_result(ev: Evaluation, index: int) -> AlertsResult:
    """The whole `nsm alerts` result."""
    tree = ev.tree
    report = check_alerts(ev, index)
    return AlertsResult(
        tree=tree.file.name, file=tree.path, period=ev.periods[index], scenario=ev.scenario,
        root=tree.root, fired=report.fired, checked=report.checked, skipped=report.skipped,
        warnings=list(ev.warnings),
    )

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

A node's (or guardrail's) own `min`/`max` bounds count as rules too, so a
breached guardrail is a firing alert.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .diagnostics import Diagnostic, Span, error
from .model import Node, TreeFile
from .numbers import MINUS, change_text, json_number, percent, value_text
from .parser import parse_percent, suggest
from .yamlload import YMap, YScalar

if TYPE_CHECKING:
    from .evaluate import Evaluation

RULE_KEYS = ("min", "max", "falls_for", "change_below", "change_above")
INVALID_RULE = "E114"
_CHANGE = re.compile(r"^([+-]?)\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%|pp|pt|pts)$", re.I)


@dataclass(frozen=True)
class Rule:
    """One rule of a node: its kind, its threshold and how it was written."""

    kind: str               # one of RULE_KEYS
    threshold: float        # a value, a count (falls_for) or a change (fraction or points)
    text: str               # as written, for messages: `2`, `-5%`, `92%`
    span: Span
    points: bool = False    # change rules: threshold in percentage points, not relative
    source: str = "alert"   # `alert` (the alert: block) or `bound` (the node's min/max)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.text}"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "empty"
    if isinstance(value, (int, float)):
        return "a number"
    return "text"


def parse_rules(node: Node) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules of a node's `alert:` block, and a diagnostic for every bad one."""
    rules: list[Rule] = []
    problems: list[Diagnostic] = []
    if node.alert is None:
        return rules, problems
    where = f"alert of '{node.id}'"
    if not node.alert.items:
        problems.append(error(INVALID_RULE, f"{where} has no rules: give min, max, falls_for, "
                              "change_below or change_above", node.alert.span))
    for key, value in node.alert.items:
        name = str(key.value)
        if name not in RULE_KEYS:
            hint = suggest(name, RULE_KEYS) or f": rules are {', '.join(RULE_KEYS)}"
            problems.append(error("E104", f"unknown alert rule '{name}' in {where}{hint}",
                                  key.span))
            continue
        if not isinstance(value, YScalar):
            shape = "a mapping" if isinstance(value, YMap) else "a list"
            problems.append(error("E103", f"alert rule '{name}' must be a single value, not "
                                  f"{shape}", value.span))
            continue
        rule, problem = _parse_rule(node, name, value)
        if problem is not None:
            problems.append(problem)
        elif rule is not None:
            rules.append(rule)
    low = next((r for r in rules if r.kind == "min"), None)
    high = next((r for r in rules if r.kind == "max"), None)
    if low is not None and high is not None and low.threshold > high.threshold:
        problems.append(error(INVALID_RULE, f"{where}: min {low.text} is above max {high.text}, "
                              "so the alert would always fire", low.span))
    return rules, problems


def _parse_rule(node: Node, name: str, value: YScalar) -> tuple[Rule | None, Diagnostic | None]:
    raw, span = value.value, value.span
    text = value.raw or str(raw)
    if name in ("min", "max"):
        number = parse_percent(raw)
        if number is None:
            return None, error("E103", f"alert rule '{name}' must be a number (like 4.5 or 92%), "
                               f"not {_kind(raw)}", span)
        if not math.isfinite(number):
            return None, error(INVALID_RULE, f"alert rule '{name}' must be a finite number", span)
        return Rule(name, number, value_text(number, node.unit), span), None
    if name == "falls_for":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return None, error("E103", "alert rule 'falls_for' must be a whole number of periods "
                               f"(like 2), not {_kind(raw)}", span)
        if not math.isfinite(raw) or raw != int(raw):
            return None, error(INVALID_RULE, "alert rule 'falls_for' must be a whole number of "
                               f"periods, not {text}", span)
        if raw < 1:
            return None, error(INVALID_RULE, "alert rule 'falls_for' must be at least 1 period, "
                               f"not {text}", span)
        return Rule(name, float(int(raw)), str(int(raw)), span), None
    # change_below / change_above
    how = "a change like -5% (relative) or -2pp (points, for a % node)"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return None, error(INVALID_RULE, f"alert rule '{name}' must be {how}, not the bare "
                           f"number {text}: write the unit", span)
    if not isinstance(raw, str):
        return None, error("E103", f"alert rule '{name}' must be {how}, not {_kind(raw)}", span)
    match = _CHANGE.match(raw.strip().replace(MINUS, "-"))
    if match is None:
        return None, error(INVALID_RULE, f"alert rule '{name}' must be {how}, not '{raw}'", span)
    sign = -1.0 if match.group(1) == "-" else 1.0
    amount = sign * float(match.group(2)) / 100.0
    points = match.group(3).lower() != "%"
    if points and not node.is_rate:
        return None, error(INVALID_RULE, f"alert rule '{name}: {raw}' is in percentage points, "
                           f"but the unit of '{node.id}' is {node.unit or 'not %'}: use a "
                           "relative change like -5%", span)
    return Rule(name, amount, raw.strip(), span, points=points), None


def tree_problems(tree: TreeFile) -> list[Diagnostic]:
    """Every bad alert rule in a parsed tree file (for `inspect_tree`, `check` and `eval`)."""
    found: list[Diagnostic] = []
    for node in tree.nodes.values():
        found += parse_rules(node)[1]
    return found


def node_rules(node: Node) -> list[Rule]:
    """The node's own min/max bounds, then its alert rules (a rule repeating a bound is dropped)."""
    rules = []
    if node.minimum is not None:
        rules.append(Rule("min", node.minimum, value_text(node.minimum, node.unit),
                          node.span_of("min"), source="bound"))
    if node.maximum is not None:
        rules.append(Rule("max", node.maximum, value_text(node.maximum, node.unit),
                          node.span_of("max"), source="bound"))
    bounds = {(r.kind, r.threshold) for r in rules}
    rules += [r for r in parse_rules(node)[0] if (r.kind, r.threshold) not in bounds]
    return rules


# -- judging ------------------------------------------------------------------------------

def _below(value: float, limit: float) -> bool:
    """value < limit beyond float noise: 47.5 / 50 − 1 is −0.05000000000000004, not below −5%."""
    return value < limit - 1e-12 * max(1.0, abs(limit))


def _number(series: np.ndarray, index: int) -> float | None:
    value = float(series[index])
    return value if math.isfinite(value) else None


def judge(rule: Rule, node: Node, series: np.ndarray, periods: list[str],
          index: int) -> tuple[dict[str, object] | None, str | None]:
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
           values: list[float | None]) -> dict[str, object]:
    delta = relative = None
    if len(values) >= 2 and values[-1] is not None and values[-2] is not None:
        delta = json_number(values[-1] - values[-2])
        relative = json_number(delta / abs(values[-2]), 6) if values[-2] else None
    return {
        "id": node.id,
        "name": node.name,
        "guardrail": node.is_guardrail,
        "rule": rule.kind,
        "threshold": json_number(rule.threshold),
        "rule_text": rule.label,
        "source": rule.source,
        "message": message,
        "value": json_number(value),
        "unit": node.unit,
        "direction": node.direction,
        "owner": node.owner,
        "periods": list(periods),
        "values": [json_number(v) for v in values],
        "change": delta,
        "change_pct": relative,
        "line": rule.span.line,
        "column": rule.span.column,
    }


def check_alerts(ev: Evaluation, index: int) -> dict[str, object]:
    """Judge every rule of every node and guardrail in the period at `index`.

    Returns {"fired": [...], "checked": N, "skipped": [...]}, nodes in tree
    order then guardrails, each node's bounds before its alert rules.
    """
    tree = ev.tree
    fired: list[dict[str, object]] = []
    skipped: list[dict[str, object]] = []
    checked = 0
    for node_id in [*tree.order, *tree.guardrails]:
        node = tree.nodes[node_id]
        rules = node_rules(node)
        if not rules:
            continue
        series = np.asarray(ev.values[node_id], dtype=float)
        if series.ndim == 0:
            series = np.full(len(ev.periods), float(series))
        for rule in rules:
            checked += 1
            alert, reason = judge(rule, node, series, ev.periods, index)
            if alert is not None:
                fired.append(alert)
            elif reason is not None:
                skipped.append({"id": node_id, "rule": rule.kind, "rule_text": rule.label,
                                "reason": reason})
    return {"fired": fired, "checked": checked, "skipped": skipped}


def alerts_result(ev: Evaluation, index: int) -> dict[str, object]:
    """The whole `nsm alerts` result (the JSON output)."""
    tree = ev.tree
    report = check_alerts(ev, index)
    return {
        "tree": tree.file.name,
        "file": tree.path,
        "period": ev.periods[index],
        "scenario": ev.scenario,
        "root": tree.root,
        **report,
        "warnings": [d.to_dict() for d in ev.warnings],
    }

"""Alert rules (`alert:` on a node or guardrail), parsed with their spans.

Rules, all optional: `min: X` / `max: X` (a threshold), `falls_for: N` (the last N
period-on-period moves went the worse way), `change_below: -5%` / `change_above: +5%`
(relative change, or points for a rate: `-2pp`), `forecast_below_target: 50%` or
`{probability: 50%, horizon: 3}` (the forecast's chance that the node meets its target, N
periods ahead, is below the probability; default horizon 1). A node's own `min`/`max`
bounds count as rules too. Judging them against values is `nsm_cli.analysis.alerts`.
"""

from __future__ import annotations

import math

from nsm_cli.diagnostics import Diagnostic, error
from nsm_cli.numbers import NumberError, percent, read_number, read_value, value_text
from nsm_cli.tree.keys import key_names
from nsm_cli.tree.model import Node, Rule, TreeFile
from nsm_cli.tree.parser import suggest
from nsm_cli.tree.yamlload import YMap, YScalar, YSeq, YValue

FORECAST_RULE = "forecast_below_target"
RULE_KEYS = key_names("alert")
MAX_RULE_HORIZON = 120
INVALID_RULE = "E114"


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
                              f"change_below, change_above or {FORECAST_RULE}", node.alert.span))
    for key, value in node.alert.items:
        name = str(key.value)
        if name not in RULE_KEYS:
            hint = suggest(name, RULE_KEYS) or f": rules are {', '.join(RULE_KEYS)}"
            problems.append(error("E104", f"unknown alert rule '{name}' in {where}{hint}",
                                  key.span))
            continue
        if name == FORECAST_RULE:
            rule, problem = parse_forecast_rule(node, value)
            if problem is not None:
                problems.append(problem)
            elif rule is not None:
                rules.append(rule)
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
        try:
            number = read_value(raw)
        except NumberError as exc:
            if exc.shapeless:
                return None, error("E103", f"alert rule '{name}' must be a number (like 4.5 or "
                                   f"92%), not {_kind(raw)}", span)
            finite = isinstance(raw, float) or "finite" in str(exc)
            return None, error(INVALID_RULE, f"alert rule '{name}' must be a finite number"
                               if finite else f"alert rule '{name}': {exc}", span)
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
    try:
        written = read_number(raw)
    except NumberError as exc:
        if exc.shapeless:
            return None, error(INVALID_RULE, f"alert rule '{name}' must be {how}, not '{raw}'",
                               span)
        return None, error(INVALID_RULE, f"alert rule '{name}': {exc}", span)
    if written.unit not in ("%", "pp") or written.currency:
        return None, error(INVALID_RULE, f"alert rule '{name}' must be {how}, not '{raw}'", span)
    amount, points = written.value, written.unit == "pp"
    if points and not node.is_rate:
        return None, error(INVALID_RULE, f"alert rule '{name}: {raw}' is in percentage points, "
                           f"but the unit of '{node.id}' is {node.unit or 'not %'}: use a "
                           "relative change like -5%", span)
    return Rule(name, amount, raw.strip(), span, points=points), None


def _probability(value: YValue) -> tuple[float | None, Diagnostic | None]:
    how = "a probability like 50% or 0.5"
    if not isinstance(value, YScalar):
        return None, error("E103", f"'probability' of {FORECAST_RULE} must be {how}", value.span)
    try:
        number = read_value(value.value)
    except NumberError as exc:
        if exc.shapeless:
            return None, error("E103", f"'probability' of {FORECAST_RULE} must be {how}, not "
                               f"{_kind(value.value)}", value.span)
        return None, error(INVALID_RULE, f"'probability' of {FORECAST_RULE}: {exc}", value.span)
    if not 0 < number <= 1:
        return None, error(INVALID_RULE, f"'probability' of {FORECAST_RULE} must be above 0% "
                           f"and at most 100%, not {value.raw or value.value}", value.span)
    return number, None


def _horizon(value: YValue) -> tuple[int | None, Diagnostic | None]:
    raw = value.value if isinstance(value, YScalar) else None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) \
            or raw != int(raw) or not 1 <= raw <= MAX_RULE_HORIZON:
        return None, error(INVALID_RULE, f"'horizon' of {FORECAST_RULE} must be a whole number "
                           f"of periods from 1 to {MAX_RULE_HORIZON}", value.span)
    return int(raw), None


def parse_forecast_rule(node: Node, value: YValue) -> tuple[Rule | None, Diagnostic | None]:
    """`forecast_below_target: 50%` (the next period) or `{probability: 50%, horizon: 3}`."""
    if node.target is None:
        return None, error(INVALID_RULE, f"alert rule '{FORECAST_RULE}' on '{node.id}' needs "
                           "the node's `target`", value.span)
    horizon: int | None = 1
    if isinstance(value, YMap):
        for key, _ in value.items:
            if key.value not in ("probability", "horizon"):
                return None, error("E104", f"unknown key '{key.value}' in {FORECAST_RULE}: "
                                   "keys are probability and horizon", key.span)
        given, ahead = value.get("probability"), value.get("horizon")
        if given is None:
            return None, error(INVALID_RULE, f"{FORECAST_RULE} needs a 'probability' (like "
                               "50%)", value.span)
        if ahead is not None:
            horizon, problem = _horizon(ahead)
            if problem is not None:
                return None, problem
        value = given
    elif isinstance(value, YSeq):
        return None, error("E103", f"alert rule '{FORECAST_RULE}' must be a probability or a "
                           "mapping {probability, horizon}, not a list", value.span)
    probability, problem = _probability(value)
    if problem is not None or probability is None:
        return None, problem
    return Rule(FORECAST_RULE, probability, percent(probability), value.span,
                horizon=horizon or 1), None


def tree_problems(tree: TreeFile) -> list[Diagnostic]:
    """Parse every node's `alert:` rules once, onto the node; return the bad ones' diagnostics."""
    found: list[Diagnostic] = []
    for node in tree.nodes.values():
        rules, problems = parse_rules(node)
        node.alert_rules = tuple(rules)
        found += problems
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
    parsed = node.alert_rules if node.alert_rules is not None else parse_rules(node)[0]
    rules += [r for r in parsed if (r.kind, r.threshold) not in bounds]
    return rules

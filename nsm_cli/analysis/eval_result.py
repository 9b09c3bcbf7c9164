"""Evaluation → the result of `nsm eval` for one period, an :class:`EvalResult`.

Its `to_json()` is the JSON output (the contract's shape, extended), and every
other renderer (text, Markdown) is a pure function of it.
"""

from __future__ import annotations

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation
from nsm_cli.analysis.results import (
    EvalNode,
    EvalResult,
    FiringRule,
    GuardrailRow,
    TrendWindow,
    build,
)
from nsm_cli.diagnostics import RequestError
from nsm_cli.numbers import json_number

ON_PAR_TOLERANCE = 1e-9


def status(value: float | None, benchmark: float | None, direction: str) -> str | None:
    """`ahead`, `behind` or `on_par` against the benchmark, judged with the node's direction."""
    if value is None or benchmark is None:
        return None
    gap = value - benchmark
    if abs(gap) <= ON_PAR_TOLERANCE * max(1.0, abs(benchmark)):
        return "on_par"
    better = gap > 0 if direction == "up" else gap < 0
    return "ahead" if better else "behind"


def breach(value: float | None, minimum: float | None, maximum: float | None) -> str | None:
    """`below_min` or `above_max` when a bound is crossed, else None."""
    if value is None:
        return None
    if minimum is not None and value < minimum:
        return "below_min"
    if maximum is not None and value > maximum:
        return "above_max"
    return None


def _at(series: dict[str, np.ndarray], node_id: str, index: int) -> float | None:
    array = series.get(node_id)
    if array is None:
        return None
    return json_number(float(np.asarray(array)[..., index]))


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return json_number(numerator / abs(denominator), 6)


def node_result(ev: Evaluation, node_id: str, index: int) -> dict[str, object]:
    """One node's row: value, observed, benchmark, gap, target, status and who owns it."""
    tree = ev.tree
    node = tree.nodes[node_id]
    value = _at(ev.values, node_id, index)
    benchmark = _at(ev.benchmarks, node_id, index)
    observed = _at(ev.observed, node_id, index)
    gap = json_number(value - benchmark) if value is not None and benchmark is not None else None
    mismatch = (json_number(observed - value)
                if observed is not None and value is not None else None)
    base = _at(ev.base, node_id, index) if ev.changes else None
    result: dict[str, object] = {
        "id": node_id,
        "name": node.name,
        "parent": tree.parent.get(node_id),
        "depth": tree.depth.get(node_id, 0),
        "unit": node.unit,
        "value": value,
        "observed": observed,
        "observed_gap": mismatch,
        "observed_gap_pct": _ratio(mismatch, value),
        "benchmark": benchmark,
        "gap": gap,
        "gap_pct": _ratio(gap, benchmark),
        "target": json_number(node.target),
        "target_gap": json_number(value - node.target)
        if value is not None and node.target is not None else None,
        "status": status(value, benchmark, node.direction),
        "direction": node.direction,
        "owner": node.owner,
        "actions": list(node.actions),
        "children": list(tree.children[node_id]),
        "shared": [c.id for c in node.children if c.is_ref],
        "formula": node.formula,
        "min": json_number(node.minimum),
        "max": json_number(node.maximum),
        "breached": breach(value, node.minimum, node.maximum),
    }
    if ev.changes:
        result["base"] = base
        result["change"] = json_number(value - base) if value is not None and base is not None \
            else None
    return result


def _extras(ev: Evaluation, node_id: str, index: int, row: dict[str, object],
            alerts: dict[str, list[FiringRule]], trend: int | None,
            compare: int | None) -> dict[str, object]:
    """Add the firing alerts, and the trend and comparison when asked, to a node's row."""
    from nsm_cli.analysis.trend import node_compare, node_trend

    if ev.tree.nodes[node_id].alert is not None:   # nodes without `alert:` keep their shape
        row["alerts"] = alerts.get(node_id, [])
    if trend is not None:
        row["trend"] = node_trend(ev, node_id, index, trend)
    if compare is not None:
        row["compare"] = node_compare(ev, node_id, index, compare)
    return row


def eval_result(ev: Evaluation, index: int, *, trend: int | None = None,
                compare: int | None = None) -> dict[str, object]:
    """The whole `nsm eval` result for the period at `index`.

    `trend` adds each node's last `trend` periods and period-on-period change;
    `compare` (a period index) adds each node's value in that period beside.
    A node or guardrail with an `alert:` block lists its firing rules in `alerts`
    (empty when quiet); `alerts` at the top holds what `nsm alerts` reports.
    """
    from nsm_cli.analysis.alerts import check_alerts
    from nsm_cli.analysis.trend import window

    if trend is not None and trend < 1:
        raise RequestError("trend", trend, "give a number of periods of at least 1")
    tree = ev.tree
    report = check_alerts(ev, index)
    alerts: dict[str, list[FiringRule]] = {}
    for alert in report.fired:
        if alert.source == "alert":   # a breached bound is already in `breached`
            alerts.setdefault(alert.id, []).append(
                FiringRule(rule=alert.rule, rule_text=alert.rule_text, message=alert.message))
    guardrails = []
    for node_id in tree.guardrails:
        node = tree.nodes[node_id]
        value = _at(ev.values, node_id, index)
        guardrails.append(GuardrailRow(**_extras(ev, node_id, index, {
            "id": node_id,
            "name": node.name,
            "unit": node.unit,
            "value": value,
            "min": json_number(node.minimum),
            "max": json_number(node.maximum),
            "breached": breach(value, node.minimum, node.maximum) is not None,
            "direction": node.direction,
            "owner": node.owner,
        }, alerts, trend, compare)))
    return EvalResult(
        **tree.header(),
        period=ev.periods[index],
        periods=list(ev.periods),
        **ev.what_if(),
        nodes=[build(EvalNode, _extras(ev, node_id, index, node_result(ev, node_id, index),
                                       alerts, trend, compare)) for node_id in tree.order],
        guardrails=guardrails,
        trend=None if trend is None else TrendWindow(
            last=trend, periods=[ev.periods[i] for i in window(index, trend)]),
        compare=None if compare is None else ev.periods[compare],
        alerts=report,
        warnings=list(ev.warnings),
    )

"""Evaluation → the result of `nsm eval` for one period, an :class:`EvalResult`.

Its `to_json()` is the JSON output (the contract's shape, extended), and every
other renderer (text, Markdown) is a pure function of it.
"""

from __future__ import annotations

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation
from nsm_cli.analysis.results import (
    ABSENT,
    EvalNode,
    EvalResult,
    FiringRule,
    GuardrailRow,
    Rows,
    TrendWindow,
)
from nsm_cli.diagnostics import RequestError
from nsm_cli.numbers import json_number, json_numbers

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


def node_columns(ev: Evaluation, ids: list[str], index: int) -> dict[str, list]:
    """The eval rows of `ids` field by field: value, observed, benchmark, gap, target,
    status and who owns each node (a column per field: 100,000 nodes cost no Python call
    per node and field)."""
    tree = ev.tree
    nodes = [tree.nodes[node_id] for node_id in ids]
    value = _figures(ev.values, ids, index)
    observed = _figures(ev.observed, ids, index)
    benchmark = _figures(ev.benchmarks, ids, index)
    mismatch = _minus(observed, value)
    gap = _minus(value, benchmark)
    target = json_numbers([node.target for node in nodes])
    minimum = json_numbers([node.minimum for node in nodes])
    maximum = json_numbers([node.maximum for node in nodes])
    columns: dict[str, list] = {
        "id": list(ids),
        "name": [node.name for node in nodes],
        "parent": [tree.parent.get(node_id) for node_id in ids],
        "depth": [tree.depth.get(node_id, 0) for node_id in ids],
        "unit": [node.unit for node in nodes],
        "value": value,
        "observed": observed,
        "observed_gap": mismatch,
        "observed_gap_pct": _ratios(mismatch, value),
        "benchmark": benchmark,
        "gap": gap,
        "gap_pct": _ratios(gap, benchmark),
        "target": target,
        "target_gap": _minus(value, [node.target for node in nodes]),
        "status": _statuses(value, benchmark, nodes),
        "direction": [node.direction for node in nodes],
        "owner": [node.owner for node in nodes],
        "actions": [list(node.actions) for node in nodes],
        "children": [list(tree.children[node_id]) for node_id in ids],
        "shared": [[c.id for c in node.children if c.is_ref] if node.children else []
                   for node in nodes],
        "formula": [node.formula for node in nodes],
        "min": minimum,
        "max": maximum,
        "breached": _breaches(value, nodes),
    }
    if ev.changes:
        base = _figures(ev.base, ids, index)
        columns["base"] = base
        columns["change"] = _minus(value, base)
    return columns


def _figures(series: dict[str, np.ndarray], ids: list[str], index: int) -> list[float | None]:
    """Each node's value in the period at `index`, as JSON shows it; None for nodes without."""
    out: list[float | None] = [None] * len(ids)
    where = [k for k, node_id in enumerate(ids) if node_id in series]
    found = json_numbers([float(np.asarray(series[ids[k]])[..., index]) for k in where])
    for k, number in zip(where, found, strict=True):
        out[k] = number
    return out


def _minus(left: list[float | None], right: list[float | None]) -> list[float | None]:
    """left − right per node, as JSON shows it; None where either is missing."""
    return [None if a is None or b is None else json_number(a - b)
            for a, b in zip(left, right, strict=True)]


def _ratios(part: list[float | None], whole: list[float | None]) -> list[float | None]:
    return [None if a is None or not b else _ratio(a, b)
            for a, b in zip(part, whole, strict=True)]


def _statuses(value: list[float | None], benchmark: list[float | None],
              nodes: list) -> list[str | None]:
    return [None if b is None or v is None else status(v, b, node.direction)
            for v, b, node in zip(value, benchmark, nodes, strict=True)]


def _breaches(value: list[float | None], nodes: list) -> list[str | None]:
    return [None if node.minimum is None and node.maximum is None
            else breach(v, node.minimum, node.maximum)
            for v, node in zip(value, nodes, strict=True)]


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


def _node_rows(ev: Evaluation, index: int, alerts: dict[str, list[FiringRule]],
               trend: int | None, compare: int | None) -> Rows[EvalNode]:
    """Every node's row of `nsm eval`, in tree order, built field by field."""
    from nsm_cli.analysis.trend import node_compare, node_trend

    ids = list(ev.tree.order)
    columns = node_columns(ev, ids, index)
    nodes = ev.tree.nodes
    if any(nodes[node_id].alert is not None for node_id in ids):
        columns["alerts"] = [alerts.get(node_id, []) if nodes[node_id].alert is not None
                             else ABSENT for node_id in ids]
    if trend is not None:
        columns["trend"] = [node_trend(ev, node_id, index, trend) for node_id in ids]
    if compare is not None:
        columns["compare"] = [node_compare(ev, node_id, index, compare) for node_id in ids]
    return Rows(EvalNode, columns)


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
        nodes=_node_rows(ev, index, alerts, trend, compare),
        guardrails=guardrails,
        trend=None if trend is None else TrendWindow(
            last=trend, periods=[ev.periods[i] for i in window(index, trend)]),
        compare=None if compare is None else ev.periods[compare],
        alerts=report,
        warnings=list(ev.warnings),
    )

"""Values outside what a metric can be: a rate of 160% or −5%, a count of −3 customers.

Goal-seek searches rates within 0–100% and other metrics at or above 0 (a node's
`domain: [low, high]` overrides both). A value outside that is almost always a data
mistake (a percent written as 160 instead of 1.6, a sign flipped), so `nsm eval` warns
(W410) and `nsm check` reports it. Metrics that may go negative (profit, a change) are
only judged when they are rates, counts (by their unit) or set a `domain`.
"""

from __future__ import annotations

import math

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation
from nsm_cli.diagnostics import Diagnostic, Span, warning
from nsm_cli.numbers import percent, value_text
from nsm_cli.tree.model import Node

CODE = "W410"
# units of things counted: people, visits, orders; compared case-insensitively
COUNT_UNITS = frozenset({
    "人", "人次", "次", "个", "位", "家", "单", "件", "台", "辆", "户", "名", "笔", "张", "份",
    "customer", "customers", "user", "users", "visit", "visits", "order", "orders",
    "people", "person", "persons", "time", "times", "count", "account", "accounts",
    "team", "teams", "session", "sessions", "store", "stores",
})


def checked_domain(node: Node) -> tuple[float, float] | None:
    """The range a node's values are judged against, or None when it may take any value."""
    if node.domain is not None:
        return node.value_domain()
    if node.is_rate:
        return 0.0, 1.0
    if (node.unit or "").strip().casefold() in COUNT_UNITS:
        return 0.0, math.inf
    return None


def domain_warnings(ev: Evaluation) -> list[Diagnostic]:
    """W410 for every node (tree and guardrails) with a value outside its domain."""
    tree = ev.tree
    found: list[Diagnostic] = []
    shown = list(tree.order) + [g for g in tree.guardrails if g not in set(tree.order)]
    for node_id in shown:
        node = tree.nodes[node_id]
        bounds = checked_domain(node)
        if bounds is None:
            continue
        low, high = bounds
        values = np.atleast_1d(np.asarray(ev.values[node_id], dtype=np.float64))
        slack = 1e-9 * np.maximum(1.0, np.abs(values))
        with np.errstate(invalid="ignore"):
            outside = np.isfinite(values) & ((values < low - slack) | (values > high + slack))
        if outside.any():
            found.append(_warning(ev, node, values, outside, low, high))
    return found


def _warning(ev: Evaluation, node: Node, values: np.ndarray, outside: np.ndarray,
             low: float, high: float) -> Diagnostic:
    first = int(np.flatnonzero(outside)[0])
    count = int(outside.sum())
    value = float(values[first])
    label = ev.periods[first] if first < len(ev.periods) else "all"
    more = "" if count == 1 else f" (and {count - 1} more period{'s' if count > 2 else ''})"
    kind = ("its domain" if node.domain is not None
            else "a rate" if node.is_rate else "a count")
    message = (f"'{node.id}' is {value_text(value, node.unit)} in {label}{more}, outside "
               f"{_range(low, high, node.is_rate)} ({kind}): check the data"
               + (" (a percent written as a whole number?)" if node.is_rate and value > 1
                  else "")
               + ", or give the node a domain: [low, high] if such values are real")
    return warning(CODE, message, _span(node))


def _range(low: float, high: float, rate: bool) -> str:
    def show(x: float) -> str:
        return percent(x) if rate else f"{x:g}"

    if math.isinf(high):
        return f"≥ {show(low)}"
    if math.isinf(low):
        return f"≤ {show(high)}"
    return f"{show(low)}–{show(high)}"


def _span(node: Node) -> Span:
    if node.source is not None:
        return node.source.span
    return node.span_of("value")

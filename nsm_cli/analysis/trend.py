"""Trends: a node's last N periods, its change against the previous period, a sparkline.

A weekly review asks "is it drifting?" before "how far from the benchmark?".
Everything here is a pure function of an :class:`Evaluation` (or of plain
numbers), so the text, Markdown and JSON renderings read the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nsm_cli.analysis.evaluate import Evaluation
from nsm_cli.analysis.results import Compare, Trend
from nsm_cli.numbers import json_number

BARS = "▁▂▃▄▅▆▇█"
GAP = "·"            # a period without a value
FLAT = BARS[3]       # a series that does not move draws a flat line at mid height
DEFAULT_LAST = 6


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def sparkline(values: Sequence[float | None]) -> str:
    """One bar per value, scaled between the series' own min and max; `·` where missing.

    A flat series (or a single value) draws `▄` everywhere, so "did not move"
    reads as a straight line rather than as a floor or a ceiling.
    """
    present = [v for v in values if _finite(v)]
    if not present:
        return GAP * len(values)
    low, high = min(present), max(present)
    span = high - low
    flat = span <= 1e-12 * max(1.0, abs(high), abs(low))
    bars = []
    for value in values:
        if not _finite(value):
            bars.append(GAP)
        elif flat:
            bars.append(FLAT)
        else:
            level = round((value - low) / span * (len(BARS) - 1))
            bars.append(BARS[min(max(level, 0), len(BARS) - 1)])
    return "".join(bars)


def change(previous: float | None, current: float | None) -> tuple[float | None, float | None]:
    """(current − previous, that change relative to |previous|); None where it cannot be told."""
    if not _finite(previous) or not _finite(current):
        return None, None
    delta = current - previous
    if abs(delta) <= 1e-12 * max(1.0, abs(previous), abs(current)):
        delta = 0.0   # 0.1 + 0.2 − 0.3 is float noise, not a move
    relative = None if previous == 0 else json_number(delta / abs(previous), 6)
    return json_number(delta), relative


def verdict(delta: float | None, direction: str) -> str | None:
    """`better`, `worse` or `flat` for a change, judged with the node's direction."""
    if delta is None:
        return None
    if delta == 0:
        return "flat"
    return "better" if (delta > 0) == (direction == "up") else "worse"


def window(index: int, last: int) -> range:
    """Period indices of the last `last` periods ending at `index` (fewer at the start)."""
    return range(max(0, index - last + 1), index + 1)


def series_at(ev: Evaluation, node_id: str, indices: Sequence[int]) -> list[float | None]:
    """A node's values at some period indices, as JSON-ready numbers (None when missing)."""
    array = np.asarray(ev.values[node_id])
    return [json_number(float(array[..., i])) for i in indices]


def node_trend(ev: Evaluation, node_id: str, index: int, last: int) -> Trend:
    """The node over the last `last` periods up to `index`, and its latest period-on-period move."""
    indices = list(window(index, last))
    values = series_at(ev, node_id, indices)
    previous = values[-2] if len(values) >= 2 else None
    delta, relative = change(previous, values[-1])
    return Trend(
        periods=[ev.periods[i] for i in indices], values=values, sparkline=sparkline(values),
        previous_period=ev.periods[index - 1] if index >= 1 else None, previous=previous,
        change=delta, change_pct=relative,
        verdict=verdict(delta, ev.tree.nodes[node_id].direction),
    )


def node_compare(ev: Evaluation, node_id: str, index: int, other: int) -> Compare:
    """The node in another period beside the selected one: change = selected − other."""
    [value, reference] = series_at(ev, node_id, [index, other])
    delta, relative = change(reference, value)
    return Compare(period=ev.periods[other], value=reference, change=delta, change_pct=relative,
                   verdict=verdict(delta, ev.tree.nodes[node_id].direction))

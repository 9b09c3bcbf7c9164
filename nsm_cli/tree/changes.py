"""Changes to a node's value, as written in scenarios and `--set`: `0.8`, `+10%`, `+2pp`, `x1.1`.

A change is parsed once into a kind and an amount, so applying it over every
period (or a batch of periods) is one numpy operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nsm_cli.diagnostics import Span, UsageError

VALUE, RELATIVE, POINTS, FACTOR = "value", "relative", "points", "factor"

_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
_RELATIVE = re.compile(rf"^([+-])\s*({_NUMBER})\s*%$")
_POINTS = re.compile(rf"^([+-])\s*({_NUMBER})\s*(?:pp|pt|pts)$", re.IGNORECASE)
_FACTOR = re.compile(rf"^[x×*]\s*({_NUMBER})$", re.IGNORECASE)
_PERCENT = re.compile(rf"^([+-]?)\s*({_NUMBER})\s*%$")
_PLAIN = re.compile(rf"^[+-]?(?:{_NUMBER})$")

CHANGE_HELP = (
    "a new value (0.5, 50%), a relative change (+10%, -5%), "
    "percentage points for % nodes (+2pp), or a factor (x1.1)"
)


@dataclass(frozen=True)
class Change:
    """One node's change: a kind and an amount, with where it was written."""

    node_id: str
    kind: str
    amount: float
    text: str
    span: Span | None = None

    def apply(self, current: np.ndarray) -> np.ndarray:
        if self.kind == VALUE:
            return np.broadcast_to(np.float64(self.amount), np.shape(current)).copy()
        if self.kind == RELATIVE:
            return current * (1.0 + self.amount)
        if self.kind == POINTS:
            return current + self.amount
        return current * self.amount

    def describe(self) -> str:
        return self.text


def parse_change(value: object) -> tuple[str, float]:
    """Parse a change written as a YAML number or string; raise ValueError with a hint."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected {CHANGE_HELP}")
    if isinstance(value, (int, float)):
        amount = float(value)
        if not np.isfinite(amount):
            raise ValueError("a change must be a finite number")
        return VALUE, amount
    kind, amount = _parse_text(str(value))
    if not np.isfinite(amount):  # "1e999", "+1e999%", "x1e999"
        raise ValueError("a change must be a finite number")
    return kind, amount


def _parse_text(value: str) -> tuple[str, float]:
    text = value.strip().replace("−", "-")
    if m := _RELATIVE.match(text):
        sign = -1.0 if m.group(1) == "-" else 1.0
        return RELATIVE, sign * float(m.group(2)) / 100.0
    if m := _POINTS.match(text):
        sign = -1.0 if m.group(1) == "-" else 1.0
        return POINTS, sign * float(m.group(2)) / 100.0
    if m := _FACTOR.match(text):
        return FACTOR, float(m.group(1))
    if m := _PERCENT.match(text):
        sign = -1.0 if m.group(1) == "-" else 1.0
        return VALUE, sign * float(m.group(2)) / 100.0
    if _PLAIN.match(text.replace(",", "")):
        return VALUE, float(text.replace(",", ""))
    raise ValueError(f"cannot read change {str(value)[:40]!r}: expected {CHANGE_HELP}")


def parse_assignment(text: str) -> Change:
    """Parse `--set ID=CHANGE` from the command line."""
    node_id, sep, rest = text.partition("=")
    node_id = node_id.strip()
    if not sep or not node_id or not rest.strip():
        raise UsageError(f"--set {text!r}: expected ID=CHANGE, e.g. --set retention_rate=+2pp")
    try:
        kind, amount = parse_change(rest.strip())
    except ValueError as exc:
        raise UsageError(f"--set {text!r}: {exc}") from None
    return Change(node_id, kind, amount, rest.strip())

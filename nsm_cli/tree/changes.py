"""Changes to a node's value, as written in scenarios and `--set`: `0.8`, `+10%`, `+2pp`, `x1.1`.

A change is parsed once into a kind and an amount, so applying it over every
period (or a batch of periods) is one numpy operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nsm_cli.diagnostics import RequestError, Span
from nsm_cli.numbers import ADD, CHANGE_HELP, FACTOR, POINTS, RELATIVE, VALUE, read_change

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ADD", "CHANGE_HELP", "FACTOR", "POINTS", "RELATIVE", "VALUE", "Change",
           "parse_assignment", "parse_change"]


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
            import numpy as np  # here: reading a tree (and sending its queries) needs no numpy

            return np.broadcast_to(np.float64(self.amount), np.shape(current)).copy()
        if self.kind == RELATIVE:
            return current * (1.0 + self.amount)
        if self.kind in (POINTS, ADD):
            return current + self.amount
        return current * self.amount


def parse_change(value: object) -> tuple[str, float]:
    """A change as written in a scenario or `--set` → (kind, amount); ValueError with a hint.

    The grammar is :func:`nsm_cli.numbers.read_change`: a plain number sets the value,
    a signed one changes it (`+200` adds 200, `+10%` is relative, `+2pp` points).
    """
    if value is None:
        raise ValueError(f"expected {CHANGE_HELP}")
    return read_change(value)


def parse_assignment(text: str) -> Change:
    """Parse `--set ID=CHANGE` from the command line."""
    node_id, sep, rest = text.partition("=")
    node_id = node_id.strip()
    if not sep or not node_id or not rest.strip():
        raise RequestError("set", repr(text), "expected ID=CHANGE",
                           advice=", e.g. {set} retention_rate=+2pp")
    try:
        kind, amount = parse_change(rest.strip())
    except ValueError as exc:
        raise RequestError("set", repr(text), str(exc)) from None
    return Change(node_id, kind, amount, rest.strip())

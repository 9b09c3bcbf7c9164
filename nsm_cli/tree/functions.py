"""The functions a formula may call, by name: the parser refuses them as node ids, and reading
a tree (which `nsm eval` does before its database queries go out) needs no numpy for that."""

from __future__ import annotations

FUNCTIONS: frozenset[str] = frozenset(
    {"min", "max", "abs", "sqrt", "log", "exp", "round", "clip"}
)
